"""Every model's input is checked against its own schema before anything is sent; what is sent is what was given,
and the page's default of each required field left out.

Every value here is computed from the bundled spec through the catalog: which
models exist, their fields, their limits. A provider edit that changes a
limit changes the values tested, not this file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import apikley_kling as ak
import pytest
import respx
from apikley_kling import AsyncKling, Field, Kling, Model, load_models

from .conftest import CREATE, PNG, UPLOAD, ok

MODELS = load_models()
DEFAULT = MODELS[MODELS.default]
URL = "https://x.example/c.png"


def valid_input(model: Model) -> dict[str, Any]:
    """A minimal valid input whose file fields hold plain URLs."""
    values = model.sample_input()
    for f in model.file_fields:
        if f.name in values:
            values[f.name] = [URL] * len(values[f.name]) if f.type == "array" else URL
    return values


def wrong_type(f: Field) -> Any:
    return {"string": 42, "number": "0.5", "integer": "1", "boolean": "yes", "array": 7, "object": 7}.get(f.type, 7)


def violations(model: Model, tmp_path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(field, input) pairs that each break exactly one rule the spec states for that field."""
    base = valid_input(model)
    out: list[tuple[str, dict[str, Any]]] = []

    def bad(f: Field, value: Any) -> None:
        out.append((f.name, {**base, f.name: value}))

    not_image = tmp_path / "not-an-image.png"
    not_image.write_bytes(b"not an image at all")
    for f in model.fields:
        bad(f, wrong_type(f))
        if f.max_length is not None:
            bad(f, "x" * (f.max_length + 1))
        if f.maximum is not None:
            bad(f, f.maximum + (f.step or 1))
        if f.minimum is not None:
            bad(f, f.minimum - (f.step or 1))
        if f.type == "number":
            bad(f, float("nan"))
            bad(f, True)
        if f.choices is not None:
            bad(f, "not-one-of-the-choices")
            bad(f, True)
        if f.max_items is not None:
            bad(f, [URL if f.file else f.sample()[0]] * (f.max_items + 1))
        if f.file is not None:
            one = (lambda v: [v]) if f.type == "array" else (lambda v: v)
            bad(f, one("ftp://x.example/c.png"))
            bad(f, one(str(tmp_path / "no-such-file.png")))
            bad(f, one(not_image))
        if f.required:
            if f.type == "string" and f.file is None:
                bad(f, "")
                bad(f, "   ")
            if not f.has_default:  # left out, a field with a page default is sent with it
                out.append((f.name, {k: v for k, v in base.items() if k != f.name}))
    out.append(("not_a_field_of_any_model", {**base, "not_a_field_of_any_model": 1}))
    return out


@pytest.mark.parametrize("model_id", list(MODELS))
def test_every_limit_of_every_model_is_refused_before_sending(
    model_id: str, kling: Kling, mock: respx.MockRouter, tmp_path: Path
) -> None:
    model = MODELS[model_id]
    cases = violations(model, tmp_path)
    assert len(cases) > len(model.fields)  # every field is exercised
    for field, inp in cases:
        with pytest.raises(ak.ValidationError) as info:
            kling.tasks.create(model=model_id, input=inp)
        assert info.value.field is not None and info.value.field.split(".")[0] == field, (field, inp)
        assert info.value.model == model_id
        assert model_id in str(info.value) and field in str(info.value)
        assert info.value.status is None  # refused client-side
    assert mock.calls.call_count == 0


@pytest.mark.parametrize("model_id", list(MODELS))
def test_values_exactly_at_the_limits_are_accepted(model_id: str, kling: Kling, mock: respx.MockRouter) -> None:
    model = MODELS[model_id]
    route = mock.post(CREATE).mock(return_value=ok({"taskId": "t"}))
    edges: list[dict[str, Any]] = []
    for f in model.fields:
        for value in (
            "x" * f.max_length if f.max_length is not None and f.file is None else None,
            f.maximum,
            f.minimum,
            *(f.choices or ()),
        ):
            if value is not None:
                edges.append({**valid_input(model), f.name: value})
    for inp in edges:
        kling.tasks.create(model=model_id, input=inp)
    assert route.call_count == len(edges)


@pytest.mark.parametrize("model_id", list(MODELS))
def test_a_create_sends_exactly_what_was_given(model_id: str, kling: Kling, mock: respx.MockRouter) -> None:
    """No spec default is sent unasked: the body's input is the caller's, field for field."""
    model = MODELS[model_id]
    route = mock.post(CREATE).mock(return_value=ok({"taskId": "t"}))
    inp = valid_input(model)
    task = kling.tasks.create(model=model_id, **inp)
    body = json.loads(route.calls[0].request.content)
    assert body == {"model": model_id, "input": inp}
    assert task.params == body and task.input == inp


def _page_input(model: Model) -> dict[str, Any]:
    """The model's input schema as the bundled spec states it (read apart from the catalog)."""
    from apikley_kling.catalog import load_spec

    schema: dict[str, Any] = load_spec()["components"]["schemas"][model.input_schema]
    return schema


def _required_with_default(model: Model) -> dict[str, Any]:
    page = _page_input(model)
    props = page.get("properties", {})
    return {n: props[n]["default"] for n in page.get("required", ()) if "default" in props[n]}


WITH_DEFAULTS = [m for m in MODELS if _required_with_default(MODELS[m])]


@pytest.mark.parametrize("model_id", WITH_DEFAULTS)
def test_a_required_field_left_out_is_sent_with_its_page_default(
    model_id: str, kling: Kling, mock: respx.MockRouter
) -> None:
    """The service fills a required field's default itself; the SDK sends it so instead of refusing the create.
    Optional fields keep their rule: a default of theirs is never sent unasked."""
    model = MODELS[model_id]
    defaults = _required_with_default(model)
    route = mock.post(CREATE).mock(return_value=ok({"taskId": "t"}))
    inp = {k: v for k, v in valid_input(model).items() if k not in defaults}
    task = kling.tasks.create(model=model_id, **inp)
    body = json.loads(route.calls[0].request.content)
    assert body["input"] == {**inp, **defaults}
    assert task.params == body
    optional = {n for n, p in _page_input(model)["properties"].items() if "default" in p} - set(defaults)
    assert not optional & set(body["input"]) - set(inp)
    # What was given wins over the page's default.
    f = next(model.field(n) for n in defaults if model.field(n).choices and len(model.field(n).choices or ()) > 1)
    other = next(c for c in f.choices or () if c != defaults[f.name])
    kling.tasks.create(model=model_id, **{**inp, f.name: other})
    assert json.loads(route.calls[1].request.content)["input"][f.name] == other


def test_at_least_one_model_has_required_fields_with_defaults() -> None:
    assert WITH_DEFAULTS  # else the test above checks nothing


def _required_without_default(model: Model) -> list[str]:
    page = _page_input(model)
    return [n for n in page.get("required", ()) if "default" not in page["properties"][n]]


NEEDING = [m for m in MODELS if _required_without_default(MODELS[m])]


@pytest.mark.parametrize("model_id", NEEDING)
def test_every_missing_required_field_is_named_in_one_error(
    model_id: str, kling: Kling, mock: respx.MockRouter
) -> None:
    model = MODELS[model_id]
    missing = _required_without_default(model)
    with pytest.raises(ak.ValidationError) as info:
        kling.tasks.create(model=model_id)
    assert info.value.fields == tuple(missing)
    assert info.value.field == missing[0] and info.value.model == model_id
    assert all(name in str(info.value) for name in missing)
    assert mock.calls.call_count == 0


def test_some_model_needs_several_fields() -> None:
    assert any(len(_required_without_default(MODELS[m])) > 1 for m in NEEDING)  # else one error per field passes


def test_the_default_model_is_the_spec_s(kling: Kling, mock: respx.MockRouter) -> None:
    route = mock.post(CREATE).mock(return_value=ok({"taskId": "t"}))
    kling.tasks.create(**valid_input(DEFAULT))
    assert json.loads(route.calls[0].request.content)["model"] == MODELS.default


def test_limit_is_named_in_the_error(kling: Kling, mock: respx.MockRouter) -> None:
    f = next(f for f in DEFAULT.fields if f.max_length is not None)
    with pytest.raises(ak.ValidationError, match=str(f.max_length)):
        kling.tasks.create(**{**valid_input(DEFAULT), f.name: "x" * (f.max_length + 1)})
    assert not mock.calls


def digit_choice_fields() -> list[tuple[str, Field]]:
    return [
        (m.id, f)
        for m in MODELS.values()
        for f in m.fields
        if f.type == "string" and f.choices and all(str(c).isdigit() for c in f.choices)
    ]


@pytest.mark.parametrize(("model_id", "field"), digit_choice_fields(), ids=lambda x: getattr(x, "name", x))
def test_an_int_for_a_digit_choice_is_sent_as_the_string(
    model_id: str, field: Field, kling: Kling, mock: respx.MockRouter
) -> None:
    route = mock.post(CREATE).mock(return_value=ok({"taskId": "t"}))
    assert field.choices is not None
    choice = str(field.choices[-1])
    kling.tasks.create(model=model_id, input={**valid_input(MODELS[model_id]), field.name: int(choice)})
    assert json.loads(route.calls[0].request.content)["input"][field.name] == choice
    with pytest.raises(ak.ValidationError):
        kling.tasks.create(model=model_id, input={**valid_input(MODELS[model_id]), field.name: float(choice)})


def test_full_body_with_every_field_and_a_callback(kling: Kling, mock: respx.MockRouter) -> None:
    route = mock.post(CREATE).mock(return_value=ok({"taskId": "t"}))
    inp = DEFAULT.sample_input(everything=True)
    for f in DEFAULT.file_fields:
        inp[f.name] = URL
    kling.tasks.create(input=inp, callback_url="https://me.example/cb")
    body = json.loads(route.calls[0].request.content)
    assert body == {"model": MODELS.default, "callBackUrl": "https://me.example/cb", "input": inp}


def test_bad_request_level_values(kling: Kling, mock: respx.MockRouter) -> None:
    for kwargs, field in [
        ({"callback_url": "javascript:alert(1)"}, "callback_url"),
        ({"model": "kling/v9"}, "model"),
        ({"model": 7}, "model"),
    ]:
        with pytest.raises(ak.ValidationError) as info:
            kling.tasks.create(**valid_input(DEFAULT), **kwargs)
        assert info.value.field == field
    with pytest.raises(ak.ValidationError) as info:
        kling.tasks.create(input={"x": 1}, **{"x": 2})
    assert info.value.field == "x"
    assert not mock.calls


@pytest.mark.parametrize("model_id", [m.id for m in MODELS.values() if m.image_field is not None])
def test_image_shortcut_fills_the_model_s_first_image_field(
    model_id: str, kling: Kling, mock: respx.MockRouter, tmp_path: Path
) -> None:
    model = MODELS[model_id]
    target = model.image_field
    assert target is not None
    uploaded = "https://tmp.example/u/xyz.png"
    mock.post(UPLOAD).mock(return_value=ok({"downloadUrl": uploaded, "fileName": "x.png"}))
    route = mock.post(CREATE).mock(return_value=ok({"taskId": "t"}))
    img = tmp_path / "cat.png"
    img.write_bytes(PNG)
    inp = {k: v for k, v in valid_input(model).items() if k != target.name}
    kling.tasks.create(model=model_id, image=img, **inp)
    sent = json.loads(route.calls[0].request.content)["input"][target.name]
    assert sent == ([uploaded] if target.type == "array" else uploaded)
    with pytest.raises(ak.ValidationError) as info:
        kling.tasks.create(model=model_id, image=img, **{**inp, target.name: target.sample()})
    assert info.value.field == "image"


@pytest.mark.parametrize("model_id", [m.id for m in MODELS.values() if m.image_field is None])
def test_image_shortcut_on_a_model_without_images_is_refused(
    model_id: str, kling: Kling, mock: respx.MockRouter
) -> None:
    with pytest.raises(ak.ValidationError) as info:
        kling.tasks.create(model=model_id, image=URL, **valid_input(MODELS[model_id]))
    assert info.value.field == "image" and not mock.calls


def test_every_file_field_takes_a_local_path(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    """Each file field of each model uploads a local file of a type it accepts (the bytes' type, not the name)."""
    samples = {"image/png": PNG, "audio/mpeg": b"ID3\x04" + b"\x00" * 64, "audio/wav": b"RIFF\0\0\0\0WAVEfmt "}
    mock.post(UPLOAD).mock(return_value=ok({"downloadUrl": "https://tmp.example/u/f", "fileName": "f"}))
    route = mock.post(CREATE).mock(return_value=ok({"taskId": "t"}))
    seen = 0
    for model in MODELS.values():
        for f in model.file_fields:
            assert f.file is not None
            kind = next(t for t in f.file.accepted_types if t in samples)
            path = tmp_path / f"{f.name}.bin"
            path.write_bytes(samples[kind])
            value: Any = [path] if f.type == "array" else path
            kling.tasks.create(model=model.id, input={**valid_input(model), f.name: value})
            sent = json.loads(route.calls[-1].request.content)["input"][f.name]
            assert sent == (["https://tmp.example/u/f"] if f.type == "array" else "https://tmp.example/u/f")
            seen += 1
    assert seen == sum(len(m.file_fields) for m in MODELS.values()) > 0


async def test_async_validation_sends_nothing(akling: AsyncKling, mock: respx.MockRouter, tmp_path: Path) -> None:
    for model in MODELS.values():
        for field, inp in violations(model, tmp_path):
            with pytest.raises(ak.ValidationError) as info:
                await akling.tasks.create(model=model.id, input=inp)
            assert info.value.field is not None and info.value.field.split(".")[0] == field
    with pytest.raises(ak.ValidationError):
        await akling.tasks.get("")
    assert not mock.calls


def test_model_check_is_the_same_validator(tmp_path: Path) -> None:
    for model in MODELS.values():
        model.check(valid_input(model))
        for field, inp in violations(model, tmp_path):
            with pytest.raises(ak.ValidationError) as info:
                model.check(inp)
            assert info.value.field is not None and info.value.field.split(".")[0] == field
