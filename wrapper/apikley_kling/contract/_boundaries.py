"""Values just inside and just outside every limit of every model's create body, read from the spec.

A fuzzer probes a bound with round numbers (maximum + 1); a provider that
widens `maximum: 1, step 0.1` to accept 1.5 passes that probe. Here each
limit gets the value at the limit and the next value past it at the field's
own step (`x-step`, which the bundler reads from the page's prose), so a
limit moved by one step is seen. Each required field (and each
`x-required-any-of` group) is also left out once.

Every probe is checked against the spec before it is sent: a body meant to
be accepted is valid, one meant to be refused is not. A probe that fails this
is dropped with its reason rather than sent, so a probe can never accuse the
service of what the spec allows.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..catalog import Model, models
from . import _openapi

LEFT_OUT: Any = object()  # the value of a probe that leaves its field out
_Path = tuple[str, ...]


@dataclass(frozen=True)
class Probe:
    """One create body: `changes` applied to a model's valid sample; `inside` says the spec accepts it."""

    model: str
    path: _Path
    rule: str
    value: Any
    inside: bool
    body: dict[str, Any]

    @property
    def field(self) -> str:
        return ".".join(self.path)

    def shown_value(self) -> str:
        if self.value is LEFT_OUT:
            return "left out"
        text = json.dumps(self.value)
        return text if len(text) <= 40 else f"{text[:18]}...{text[-8:]} ({_size(self.value)})"


def _size(value: Any) -> str:
    return f"{len(value)} {'characters' if isinstance(value, str) else 'items'}"


@dataclass(frozen=True)
class _Edit:
    path: _Path
    value: Any
    inside: bool
    rule: str
    also_drop: tuple[_Path, ...] = ()


def probes(model_ids: tuple[str, ...] = ()) -> tuple[list[Probe], list[str]]:
    """The probes of the chosen models (all by default), and why any were dropped (empty for a sound spec)."""
    catalog = models()
    found: list[Probe] = []
    dropped: list[str] = []
    for model_id in model_ids or tuple(catalog):
        model = catalog[model_id]
        schema = _openapi.follow(_openapi.resolve_pointer(f"#/components/schemas/{model.request_schema}"))
        base = {"model": model.id, "input": model.sample_input()}
        if not _valid(model, base):
            dropped.append(f"{model.id}: the sample input is not valid by the spec; no limit probed")
            continue
        seen: set[str] = set()
        for edit in _edits(schema, ()):
            probe, reason = _probe(model, base, schema, edit)
            if reason:
                dropped.append(reason)
            elif probe is not None and (key := json.dumps(probe.body, sort_keys=True)) not in seen:
                seen.add(key)
                found.append(probe)
    return found, dropped


def _probe(model: Model, base: dict[str, Any], schema: Any, edit: _Edit) -> tuple[Probe | None, str]:
    body = copy.deepcopy(base)
    for path in (edit.path, *edit.also_drop):
        _ensure(body, schema, path[:-1])
    if not _valid(model, body):
        return None, f"{model.id} {'.'.join(edit.path)}: no valid body holds it; not probed"
    for path in (edit.path, *edit.also_drop):
        _put(body, path, LEFT_OUT if path != edit.path else edit.value)
    if _valid(model, body) != edit.inside:
        says = "refuses" if edit.inside else "accepts"
        return None, f"{model.id} {'.'.join(edit.path)}: the spec {says} {edit.value!r} ({edit.rule}); not probed"
    return Probe(model.id, edit.path, edit.rule, edit.value, edit.inside, body), ""


def _valid(model: Model, body: Any) -> bool:
    from ..catalog import validator

    return not any(True for _ in validator(model.request_schema).iter_errors(body))


def _edits(node: Any, path: _Path) -> Iterator[_Edit]:
    node = _openapi.follow(node)
    if not isinstance(node, dict):
        return
    properties = node.get("properties", {})
    for name in node.get("required", ()):
        yield _Edit((*path, name), LEFT_OUT, False, "required")
    groups = [tuple(g) for g in node.get("x-required-any-of", ())]
    if groups:
        names = [n for g in groups for n in g]
        rule = "needs " + " or ".join(", ".join(g) for g in groups)
        yield _Edit((*path, names[0]), LEFT_OUT, False, rule, tuple((*path, n) for n in names[1:]))
    for name, prop in properties.items():
        yield from _edits(prop, (*path, name))
    if node.get("type") == "array":
        yield from _array_edits(node, path)
        yield from _edits(node.get("items", {}), (*path, "0"))
    yield from _number_edits(node, path)
    yield from _length_edits(node, path)
    yield from _enum_edits(node, path)
    if node.get("type") == "string" and node.get("format") == "uri":
        yield _Edit(path, "not a url", False, "format uri")


def _step(node: dict[str, Any]) -> tuple[float, bool]:
    """The field's step and whether the spec states it (else 1 for integers, a tenth of a decade otherwise)."""
    stated = node.get("x-step")
    if isinstance(stated, int | float) and stated > 0:
        return float(stated), True
    if node.get("type") == "integer":
        return 1.0, False
    low, high = node.get("minimum"), node.get("maximum")
    if isinstance(low, int | float) and isinstance(high, int | float) and high > low:
        return 10.0 ** (math.floor(math.log10(high - low)) - 1), False
    return 1.0, False


def _number(node: dict[str, Any], value: float, step: float) -> Any:
    digits = max(0, -int(Decimal(repr(step)).as_tuple().exponent))
    value = round(value, digits)
    if node.get("type") == "integer" or (digits == 0 and value.is_integer()):
        return int(value)
    return value


def _number_edits(node: dict[str, Any], path: _Path) -> Iterator[_Edit]:
    if node.get("type") not in ("number", "integer"):
        return
    step, stated = _step(node)
    suffix = f", step {step:g}" if stated else ""
    for key, sign in (("minimum", -1), ("maximum", 1)):
        limit = node.get(key)
        if not isinstance(limit, int | float) or isinstance(limit, bool):
            continue
        exclusive = node.get(f"exclusive{key.capitalize()}") is True
        inside = limit - sign * step if exclusive else limit
        outside = limit if exclusive else limit + sign * step
        rule = f"{'exclusive ' if exclusive else ''}{key} {limit:g}{suffix}"
        yield _Edit(path, _number(node, inside, step), True, rule)
        yield _Edit(path, _number(node, outside, step), False, rule)


def _length_edits(node: dict[str, Any], path: _Path) -> Iterator[_Edit]:
    if node.get("type") != "string" or any(k in node for k in ("enum", "format", "pattern", "x-accepted-types")):
        return
    for key, sign in (("minLength", -1), ("maxLength", 1)):
        limit = node.get(key)
        if isinstance(limit, int) and not isinstance(limit, bool):
            rule = f"{key} {limit}"
            if limit > 0:
                yield _Edit(path, "a" * limit, True, rule)
            if limit + sign >= 0:
                yield _Edit(path, "a" * (limit + sign), False, rule)


def _array_edits(node: dict[str, Any], path: _Path) -> Iterator[_Edit]:
    # The page's own items where it gives some (file URLs the service can fetch), repeated.
    example = _sample(node)
    items = example if isinstance(example, list) and example else [_sample(node.get("items", {}))]
    for key, sign in (("minItems", -1), ("maxItems", 1)):
        limit = node.get(key)
        if not isinstance(limit, int) or isinstance(limit, bool):
            continue
        rule = f"{key} {limit}"
        if limit > 0:
            yield _Edit(path, _repeat(items, limit), True, rule)
        if limit + sign >= 0 and not node.get("uniqueItems"):
            yield _Edit(path, _repeat(items, limit + sign), False, rule)


def _repeat(items: list[Any], count: int) -> list[Any]:
    return [copy.deepcopy(items[i % len(items)]) for i in range(count)]


def _enum_edits(node: dict[str, Any], path: _Path) -> Iterator[_Edit]:
    choices = node.get("enum")
    if not isinstance(choices, list) or not choices:
        return
    rule = "one of " + ", ".join(str(c) for c in choices)
    as_ints = [_as_int(c) for c in choices]
    if all(v is not None for v in as_ints):
        numbers = sorted(v for v in as_ints if v is not None)
        spell = str if isinstance(choices[0], str) else int
        ends = [choices[as_ints.index(numbers[0])], choices[as_ints.index(numbers[-1])]]
        gap = next((n for n in range(numbers[0], numbers[-1]) if n not in numbers), None)
        outside = [numbers[0] - 1, numbers[-1] + 1, *([gap] if gap is not None else [])]
        values_out = [spell(n) for n in outside]
    else:
        ends = [choices[0], choices[-1]]
        first = str(choices[0])
        mangled = first.swapcase() if first.swapcase() not in choices else f"{first}x"
        values_out = [mangled] if isinstance(choices[0], str) else []
    if len(choices) > 1:
        for value in dict.fromkeys(ends):
            yield _Edit(path, value, True, rule)
    for value in values_out:
        yield _Edit(path, value, False, rule)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _sample(node: Any) -> Any:
    """A value the schema accepts: its example, default or first choice, else the simplest its type allows."""
    from ..catalog import resolve

    node = _openapi.follow(node)
    if not isinstance(node, dict):
        return None
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    check = Draft202012Validator(resolve(node, _openapi.spec()))
    for key in ("example", "default"):
        if key in node and check.is_valid(node[key]):
            return copy.deepcopy(node[key])
    if node.get("enum"):
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object":
        props = node.get("properties", {})
        return {k: _sample(props.get(k, {})) for k in node.get("required", ())}
    if kind == "array":
        return [_sample(node.get("items", {})) for _ in range(max(1, int(node.get("minItems", 1))))]
    if kind in ("number", "integer"):
        low = node.get("minimum", 0)
        return int(low) if kind == "integer" else low
    if kind == "boolean":
        return False
    if node.get("format") == "uri" or node.get("x-accepted-types"):
        return "https://example.com/sample"
    return "a" * max(1, int(node.get("minLength", 1)))


def _container(body: Any, part: str) -> Any:
    return body[int(part)] if isinstance(body, list) else body.get(part, LEFT_OUT)


def _ensure(body: dict[str, Any], schema: Any, path: _Path) -> None:
    """Fill in the parents of a nested field (an optional field, an array's first item) from the spec."""
    node: Any = body
    here = _openapi.follow(schema)
    for part in path:
        here = _openapi.follow(here.get("items", {}) if part.isdigit() else here.get("properties", {}).get(part, {}))
        if isinstance(node, list):
            while len(node) <= int(part):
                node.append(_sample(here))
            node = node[int(part)]
        else:
            if part not in node:
                node[part] = _sample(here)
            node = node[part]


def _put(body: dict[str, Any], path: _Path, value: Any) -> None:
    node: Any = body
    for part in path[:-1]:
        node = _container(node, part)
    last = path[-1]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is LEFT_OUT:
        node.pop(last, None)
    else:
        node[last] = copy.deepcopy(value)
