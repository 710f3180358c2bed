"""The one create validator: a model's input checked against its schema before anything is sent.

Every rule is read from the bundled spec through `catalog` and `_schema`
(types, enums, lengths, ranges, item counts, required fields, alternatives);
unknown fields are refused so that a misspelled keyword is an error, not a
silently ignored field. A required field the caller left out is sent with its
page's default when the page states one (the service fills it so too); an
optional field is sent only when given. Every required field still missing is
named in one error. Three rules are the SDK's own, for every field alike:
a required string must not be blank, numbers must be finite, and an integer
whose digits are one of a string field's choices is taken as that string
(durations are "5" on the pages and 5 in people's code).

Values of file fields (the spec's `x-accepted-types`) that are not http(s)
URLs are local files: they are read and checked here (type sniffed from the
bytes, size) and replaced by a placeholder URL for the schema check; the
engine uploads them and puts the real URLs in their place.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import ValidationError
from ..uploads import LocalFile, load_file
from . import _schema
from ._models import Field, Model, models

LocalSource = str | os.PathLike[str] | bytes
_PLACEHOLDER = "https://upload.invalid/pending"


@dataclass(frozen=True)
class Upload:
    """A local file to upload before the create: where its URL goes in the input."""

    field: str
    index: int | None  # position in an array field, None for a string field
    file: LocalFile


@dataclass(frozen=True)
class CreatePlan:
    """A checked create: the input to send (URLs of local files still to fill in) and the files to upload."""

    model: Model
    input: dict[str, Any]
    uploads: tuple[Upload, ...]
    callback_url: str | None

    def with_urls(self, urls: list[str]) -> dict[str, Any]:
        """The input with each upload's URL in its place (urls in the order of `uploads`)."""
        out = {k: list(v) if isinstance(v, list) else v for k, v in self.input.items()}
        for up, url in zip(self.uploads, urls, strict=True):
            if up.index is None:
                out[up.field] = url
            else:
                out[up.field][up.index] = url
        return out


def _fail(model: Model | None, field: str, message: str) -> ValidationError:
    where = f"{model.id}: " if model is not None else ""
    return ValidationError(f"{where}{field}: {message}", field=field, model=model.id if model else None)


def _missing(model: Model, names: list[str]) -> ValidationError:
    """One refusal naming every required field left out (field: the first of them)."""
    said = ", ".join(names)
    message = f"{model.id}: {said}: {'is' if len(names) == 1 else 'are'} required"
    return ValidationError(message, field=names[0], fields=tuple(names), model=model.id)


def sent_defaults(model: Model, given: Mapping[str, Any]) -> dict[str, Any]:
    """The required fields left out of `given` that have a default on the page, with that default: what the
    service would fill in, sent so (an optional field's default is never sent unasked)."""
    return {f.name: copy.deepcopy(f.default) for f in model.fields if f.sent_when_omitted and f.name not in given}


def check_url(value: object, field: str, model: Model | None = None) -> str:
    """An absolute http(s) URL, or ValidationError naming the field."""
    if not isinstance(value, str):
        raise _fail(model, field, f"expected a URL string, got {type(value).__name__}")
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        raise _fail(model, field, "not a valid URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise _fail(model, field, "must be an absolute http(s) URL")
    return value


def pick_model(model: object) -> Model:
    catalog = models()
    chosen = catalog.default if model is None else model
    if not isinstance(chosen, str) or chosen not in catalog:
        raise _fail(None, "model", f"{chosen!r} is not one of {', '.join(catalog)}")
    return catalog[chosen]


def _is_local(value: object) -> bool:
    if isinstance(value, (bytes, os.PathLike)):
        return True
    return isinstance(value, str) and "://" not in value


def _file_value(model: Model, f: Field, value: object, index: int | None, uploads: list[Upload]) -> object:
    name = f.name if index is None else f"{f.name}.{index}"
    if _is_local(value):
        assert f.file is not None
        try:
            local = load_file(value, f.file.accepted_types, f.file.max_bytes)  # type: ignore[arg-type]
        except ValueError as exc:
            raise _fail(model, name, str(exc)) from None
        uploads.append(Upload(f.name, index, local))
        return _PLACEHOLDER
    return check_url(value, name, model)


def _coerce(model: Model, f: Field, value: object, uploads: list[Upload]) -> object:
    if f.file is not None and f.type == "array" and isinstance(value, (list, tuple)):
        return [_file_value(model, f, v, i, uploads) for i, v in enumerate(value)]
    if f.file is not None and f.type == "string":
        return _file_value(model, f, value, None, uploads)
    if f.type == "string" and f.choices and isinstance(value, int) and not isinstance(value, bool):
        return str(value) if str(value) in f.choices else value
    if isinstance(value, tuple):
        return list(value)
    return value


def _finite(model: Model, path: str, value: object) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(model, path, "must be a finite number")
    if isinstance(value, Mapping):
        for k, v in value.items():
            _finite(model, f"{path}.{k}", v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _finite(model, f"{path}.{i}", v)


def plan_create(
    *,
    model: object,
    input: Mapping[str, Any] | None,
    fields: Mapping[str, Any],
    image: object = None,
    callback_url: object = None,
) -> CreatePlan:
    """Check a create (model, its input as a dict and/or keywords, the `image=` shortcut) before anything is sent."""
    m = pick_model(model)
    if input is not None and not isinstance(input, Mapping):
        raise _fail(m, "input", f"expected a dict of fields, got {type(input).__name__}")
    given: dict[str, Any] = {**(input or {})}
    for name, value in fields.items():
        if name in given:
            raise _fail(m, name, "given both in input= and as a keyword")
        given[name] = value
    given = {k: v for k, v in given.items() if v is not None}
    if image is not None:
        target = m.image_field
        if target is None:
            raise _fail(m, "image", "this model takes no image (it has no image field)")
        if target.name in given:
            raise _fail(m, "image", f"image= fills {target.name}, which is given too")
        given[target.name] = list(image) if isinstance(image, (list, tuple)) else image
        if target.type == "array" and not isinstance(given[target.name], list):
            given[target.name] = [given[target.name]]
    given.update(sent_defaults(m, given))
    uploads: list[Upload] = []
    known = {f.name: f for f in m.fields}
    prepared: dict[str, Any] = {}
    for name, value in given.items():
        f = known.get(name)
        prepared[name] = _coerce(m, f, value, uploads) if f is not None else value
        if f is not None and f.required and f.type == "string" and isinstance(value, str) and not value.strip():
            raise _fail(m, name, "is required and must not be blank")
        _finite(m, name, prepared[name])
    errors = list(_schema.validator(m.input_schema, closed=True).iter_errors(prepared))
    missing = [f.name for f in m.fields if f.required and f.name not in prepared]
    if missing:
        raise _missing(m, missing)
    if errors:
        where, message = _schema.describe(_schema.first_error(errors))
        raise _fail(m, where if where != "body" else "input", message)
    cb = check_url(callback_url, "callback_url", m) if callback_url is not None else None
    return CreatePlan(model=m, input=prepared, uploads=tuple(uploads), callback_url=cb)


def build_request(plan: CreatePlan, input: Mapping[str, Any]) -> Any:
    """The generated request class of the plan's model, holding exactly the fields given (no generator defaults)."""
    import apikley_kling_api.models as generated  # type: ignore[import-untyped, unused-ignore]
    from apikley_kling_api.types import UNSET  # type: ignore[import-untyped, unused-ignore]

    request_cls = getattr(generated, plan.model.request_schema)
    input_cls = getattr(generated, plan.model.input_schema)
    model_enum = getattr(generated, plan.model.request_schema + "Model")
    return request_cls(
        model=model_enum(plan.model.id),
        input_=input_cls.from_dict(dict(input)),
        call_back_url=plan.callback_url if plan.callback_url is not None else UNSET,
    )
