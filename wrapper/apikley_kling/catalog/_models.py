"""Every Kling model the bundled spec describes: its input fields, their types, limits and defaults.

Nothing here names a model or a field: all of it is read from the spec (the
createTask body is a oneOf of one request schema per model, discriminated by
`model`), so a new provider page becomes a new entry after `scripts/regen.py`.

    from apikley_kling import models
    m = models()["kling/v2-1-pro"]
    [f.name for f in m.fields]          # the input fields, in the page's order
    m.fields[0].limits()                # e.g. "at most 5000 characters"
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _spec

__all__ = ["Field", "FileRule", "Model", "Models", "models"]

CREATE_PATH = "/api/v1/jobs/createTask"
_MISSING: Any = object()


@dataclass(frozen=True)
class FileRule:
    """A field that carries file URLs: which types it takes and how large (None: no limit stated)."""

    accepted_types: tuple[str, ...]
    max_bytes: int | None

    @property
    def takes_images(self) -> bool:
        return all(t.startswith("image/") for t in self.accepted_types)

    def describe(self) -> str:
        kinds = "/".join(t.split("/")[-1] for t in self.accepted_types)
        size = f", at most {self.max_bytes / 1048576:g} MB" if self.max_bytes else ""
        return f"{kinds} file{size}"


@dataclass(frozen=True)
class Field:
    """One input field of a model, as its page states it."""

    name: str
    type: str
    required: bool
    description: str = ""
    default: Any = _MISSING
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    item_type: str | None = None
    file: FileRule | None = None
    unit: str | None = None  # the unit its page states for a number ("s": seconds), from the spec's x-unit
    schema: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING

    @property
    def sent_when_omitted(self) -> bool:
        """A required field with a default on its page: a create that leaves it out sends that default."""
        return self.required and self.has_default

    @property
    def option(self) -> str:
        """The command-line option for this field: underscores as dashes."""
        return "--" + self.name.replace("_", "-")

    @property
    def type_name(self) -> str:
        return f"array of {self.item_type}" if self.type == "array" and self.item_type else self.type

    def sample(self) -> Any:
        """A value this field accepts: the page's example when it is valid, else one made from the limits."""
        example = self.schema.get("example")
        candidates = [example] if example not in (None, "", []) else []
        candidates += [self.default] if self.has_default else []
        candidates += [self.choices[0]] if self.choices else []
        candidates.append(_made_up(self.schema))
        for value in candidates:
            if _valid(self.schema, value):
                return value
        return candidates[-1]

    def limits(self) -> str:
        """The field's limits in words, all read from the spec ("" when it states none)."""
        parts: list[str] = []
        if self.choices is not None:
            parts.append("one of " + ", ".join(str(c) for c in self.choices))
        if self.minimum is not None or self.maximum is not None:
            lo = "" if self.minimum is None else f"{self.minimum:g}"
            hi = "" if self.maximum is None else f"{self.maximum:g}"
            parts.append(f"{lo}..{hi}" + (f", step {self.step:g}" if self.step else ""))
        if self.max_length is not None:
            parts.append(f"at most {self.max_length} characters")
        if self.min_length is not None:
            parts.append(f"at least {self.min_length} characters")
        if self.max_items is not None:
            parts.append(f"at most {self.max_items} item{'s' if self.max_items != 1 else ''}")
        if self.min_items is not None:
            parts.append(f"at least {self.min_items} items")
        if self.file is not None:
            parts.append(self.file.describe() + " (a URL or a local path)")
        if self.has_default:
            parts.append(f"default {self.default}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Model:
    """One model: its id, its page's title and its input fields."""

    id: str
    title: str
    fields: tuple[Field, ...]
    required_any_of: tuple[tuple[str, ...], ...]
    request_schema: str
    input_schema: str

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.id} has no input field {name!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @property
    def sent_defaults(self) -> dict[str, Any]:
        """The required fields that have a default, with it: what a create that leaves them out sends."""
        return {f.name: f.default for f in self.fields if f.sent_when_omitted}

    @property
    def file_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.file is not None)

    @property
    def image_field(self) -> Field | None:
        """The field that `image=` fills: the first that takes image files (None for text-to-video models)."""
        return next((f for f in self.file_fields if f.file is not None and f.file.takes_images), None)

    def sample_input(self, *, everything: bool = False) -> dict[str, Any]:
        """A valid input built from the page: each required field (every field with `everything`) set to the
        page's example, else its default, else its first choice, else the smallest value its type and limits allow.

        Meant for tests and demos (the simulator accepts it); file fields hold the page's example URL.
        """
        chosen = [f for f in self.fields if everything or f.required]
        if self.required_any_of and not any(
            all(n in [f.name for f in chosen] for n in names) for names in self.required_any_of
        ):
            chosen += [f for f in self.fields if f.name in self.required_any_of[0]]
        return {f.name: f.sample() for f in chosen}

    def check(
        self,
        input: Mapping[str, Any] | None = None,
        *,
        image: Any = None,
        callback_url: str | None = None,
        **fields: Any,
    ) -> None:
        """Raise ValidationError (naming this model and the field) if a create with these values would be refused.

        The same check `tasks.create` makes before sending; local files are read and checked; nothing is sent.
        """
        from ._validate import plan_create

        plan_create(model=self.id, input=input, fields=fields, image=image, callback_url=callback_url)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.id,
            "title": self.title,
            "fields": [
                {
                    "name": f.name,
                    "type": f.type_name,
                    "required": f.required,
                    "default": f.default if f.has_default else None,
                    "sent_when_omitted": f.sent_when_omitted,
                    "choices": list(f.choices) if f.choices is not None else None,
                    "limits": f.limits(),
                    "description": f.description,
                }
                for f in self.fields
            ],
            "required_any_of": [list(x) for x in self.required_any_of],
            "sent_defaults": self.sent_defaults,
        }


class Models(Mapping[str, Model]):
    """Every model of the bundled spec by id; `default` is the model a create without `model` uses."""

    def __init__(self, entries: dict[str, Model], default: str) -> None:
        self._entries = entries
        self.default = default

    def __getitem__(self, key: str) -> Model:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Models({', '.join(self._entries)})"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _file_rule(schema: Mapping[str, Any]) -> FileRule | None:
    types = schema.get("x-accepted-types")
    if not isinstance(types, list) or not types:
        return None
    return FileRule(tuple(str(t) for t in types), _int(schema.get("x-max-bytes")))


def _field(name: str, schema: Mapping[str, Any], required: bool) -> Field:
    found = schema.get("items")
    items: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    choices = schema.get("enum")
    return Field(
        name=name,
        type=str(schema.get("type", "any")),
        required=required,
        description=" ".join(str(schema.get("description", "")).split()),
        default=schema.get("default", _MISSING),
        choices=tuple(choices) if isinstance(choices, list) else None,
        minimum=_number(schema.get("minimum")),
        maximum=_number(schema.get("maximum")),
        step=_number(schema.get("x-step")),
        min_length=_int(schema.get("minLength")),
        max_length=_int(schema.get("maxLength")),
        min_items=_int(schema.get("minItems")),
        max_items=_int(schema.get("maxItems")),
        item_type=str(items.get("type")) if items.get("type") else None,
        file=_file_rule(schema),
        unit=str(schema["x-unit"]) if isinstance(schema.get("x-unit"), str) else None,
        schema=schema,
    )


def _made_up(schema: Mapping[str, Any]) -> Any:
    """The simplest value a JSON schema accepts (objects: their required properties)."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        if schema.get("x-accepted-types") or schema.get("format") == "uri":
            return "https://example.com/sample"
        return "a" * max(1, int(schema.get("minLength", 1)))
    if kind in ("number", "integer"):
        low = schema.get("minimum", 0)
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return False
    if kind == "array":
        return [_made_up(schema.get("items", {})) for _ in range(max(1, int(schema.get("minItems", 1))))]
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _made_up(props.get(k, {})) for k in schema.get("required", ())}
    return None


def _valid(schema: Mapping[str, Any], value: Any) -> bool:
    from ._schema import resolve, validator_class

    return bool(validator_class()(resolve(dict(schema), {})).is_valid(value))


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


@functools.cache
def models() -> Models:
    """The models of the bundled spec (read once)."""
    doc = _spec.load_spec()
    schemas = doc["components"]["schemas"]
    body = doc["paths"][CREATE_PATH]["post"]["requestBody"]["content"]["application/json"]["schema"]
    entries: dict[str, Model] = {}
    for model_id, ref in body["discriminator"]["mapping"].items():
        request_name = _ref_name(ref)
        request = schemas[request_name]
        input_name = _ref_name(request["properties"]["input"]["$ref"])
        inp = schemas[input_name]
        required = set(inp.get("required", ()))
        fields = tuple(_field(n, s, n in required) for n, s in inp.get("properties", {}).items())
        any_of = tuple(tuple(names) for names in inp.get("x-required-any-of", ()))
        title = str(request.get("x-title") or model_id)
        entries[model_id] = Model(model_id, title, fields, any_of, request_name, input_name)
    return Models(entries, default=str(body["x-default-model"]))
