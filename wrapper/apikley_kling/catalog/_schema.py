"""The bundled spec's schemas as plain JSON Schema, for `jsonschema` to check values against.

OpenAPI 3.0 is not quite JSON Schema: `$ref`s point into the document,
`nullable: true` stands for "or null", and our overlay states alternatives
that the generator cannot type as `x-required-any-of`. All three are rewritten
here, once, for every reader that validates (the SDK before sending, the
simulator on receipt). Each error becomes one message that names the field.

A `pattern` comes from a provider page, and the value it is matched against from
a user: both are untrusted, so patterns are matched by RE2, whose time is linear
in the input (Python's `re` backtracks: `^(a+)+$` on 41 characters never ends).
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

from ._spec import load_spec


def resolve(node: Any, root: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """`node` with every $ref inlined and the OpenAPI-only keywords turned into JSON Schema."""
    if isinstance(node, list):
        return [resolve(item, root, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"recursive $ref {ref} is not supported")
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return resolve(target, root, (*seen, ref))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "x-required-any-of":
            out.setdefault("allOf", []).append({"anyOf": [{"required": list(names)} for names in value]})
        # Examples, discriminators and vendor extensions say nothing a validator checks.
        elif key not in ("example", "examples", "discriminator") and not key.startswith("x-"):
            out[key] = resolve(value, root, seen)
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def with_alternatives(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of an OpenAPI document in which `x-required-any-of` is also stated as `anyOf`, for OpenAPI tools
    (request validators, fuzzers) that read the document as it is rather than through `resolve`."""
    import copy

    out = copy.deepcopy(doc)
    for schema in out.get("components", {}).get("schemas", {}).values():
        if isinstance(schema, dict) and "x-required-any-of" in schema:
            schema["anyOf"] = [{"required": list(names)} for names in schema["x-required-any-of"]]
    return out


def to_json_schema(name: str) -> dict[str, Any]:
    """A component schema of the bundled spec as self-contained JSON Schema."""
    doc = load_spec()
    resolved: dict[str, Any] = resolve(doc["components"]["schemas"][name], doc)
    return resolved


def is_uri(value: object) -> bool:
    """RFC 3986: printable ASCII only (urlsplit alone accepts control and non-ASCII characters), with a scheme."""
    if not isinstance(value, str):
        return True
    if any(not ("\x21" <= ch <= "\x7e") for ch in value):
        return False
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path)


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Any:
    """A pattern compiled by RE2 (raises `re2.error` for what RE2 cannot match in linear time: lookaround,
    backreferences); compiled once per pattern."""
    import re2

    options = re2.Options()
    options.log_errors = False  # the error is raised; RE2 would also write it to stderr
    return re2.compile(pattern, options)


_QUOTED = 80


def _pattern_keyword(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    from jsonschema import ValidationError  # type: ignore[import-untyped, unused-ignore]

    if not isinstance(instance, str):
        return
    try:
        matcher = compile_pattern(pattern)
    except Exception:  # a pattern RE2 refuses fails closed: never a fallback to `re`
        yield ValidationError(f"cannot be checked: the pattern {pattern!r} is not supported")
        return
    if matcher.search(instance) is None:
        # jsonschema's own wording, with a long value quoted by its first characters only
        shown = instance if len(instance) <= _QUOTED else instance[:_QUOTED] + "..."
        yield ValidationError(f"{shown!r} does not match {pattern!r}")


def _pattern_properties_keyword(validator: Any, patterns: dict[str, Any], instance: Any, schema: Any) -> Any:
    if not isinstance(instance, dict):
        return
    for pattern, subschema in patterns.items():
        matcher = compile_pattern(pattern)
        for key, value in instance.items():
            if matcher.search(key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


@functools.cache
def validator_class() -> Any:
    """Draft 2020-12 with `pattern` and `patternProperties` matched by RE2 instead of `re`."""
    from jsonschema import Draft202012Validator, validators  # type: ignore[import-untyped, unused-ignore]

    keywords = {"pattern": _pattern_keyword, "patternProperties": _pattern_properties_keyword}
    return validators.extend(Draft202012Validator, keywords)


@functools.cache
def validator(name: str, *, closed: bool = False) -> Any:
    """A compiled validator for a component schema; `closed` also refuses properties the schema does not name."""
    from jsonschema import FormatChecker  # type: ignore[import-untyped, unused-ignore]

    formats = FormatChecker(formats=())
    formats.checks("uri")(is_uri)
    schema = to_json_schema(name)
    if closed:
        schema = close(schema)
    return validator_class()(schema, format_checker=formats)


def close(schema: Any) -> Any:
    """Every object schema with properties refuses unknown ones (a misspelled field is an error, not ignored)."""
    if isinstance(schema, list):
        return [close(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: close(v) for k, v in schema.items()}
    if isinstance(out.get("properties"), dict) and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def field_path(path: Any, leaf: str | None = None) -> str:
    parts = [str(p) for p in path]
    if leaf is not None:
        parts.append(leaf)
    return ".".join(parts) or "body"


def describe(error: Any, prefix: tuple[str, ...] = ()) -> tuple[str, str]:
    """(field, message) for one jsonschema error: "input.prompt", "must be at most 5000 characters"."""
    path = [*prefix, *error.absolute_path]
    kind = error.validator
    limit = error.validator_value
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return field_path(path, missing), "is required"
    if kind == "additionalProperties":
        extra = error.message.split("'")[1] if "'" in error.message else "?"
        return field_path(path, extra), "is not a field of this model"
    if kind == "anyOf" and all(set(s) == {"required"} for s in limit if isinstance(s, dict)):
        names = " or ".join(", ".join(s["required"]) for s in limit)
        return field_path(path), f"needs {names}"
    templates = {
        "maxLength": "must be at most {} characters",
        "minLength": "must be at least {} characters",
        "maximum": "must be at most {}",
        "minimum": "must be at least {}",
        "maxItems": "must hold at most {} items",
        "minItems": "must hold at least {} items",
        "format": "must be a valid {}",
    }
    if kind in templates:
        return field_path(path), templates[kind].format(limit)
    if kind == "enum" and isinstance(limit, list):
        return field_path(path), "must be one of " + ", ".join(repr(v) for v in limit)
    if kind == "type":
        return field_path(path), f"must be of type {limit if isinstance(limit, str) else ' or '.join(limit)}"
    return field_path(path), str(error.message)


def first_error(errors: list[Any]) -> Any:
    """A deterministic pick: the shallowest path first, then by name; a wrong type explains more than a bound."""
    errors.sort(
        key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path], e.validator != "type", str(e.validator))
    )
    return errors[0]
