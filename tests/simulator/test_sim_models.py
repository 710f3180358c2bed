"""Every model of the catalog: a minimal create runs to an MP4 of the asked length and shape; each limit is a 422.

Models, fields, limits and defaults all come from the bundled spec through the
catalog, so a model page added by scripts/regen.py is covered here unchanged.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import av
import httpx
import numpy as np
import pytest
from apikley_kling.catalog import Field, FileRule, Model
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator
from conftest import AUTH, CREATE, MODELS, picture, record, sound, upload
from test_sim_video import letterboxed, psnr

PICTURE = picture(800, 600)  # the picture test_sim_video encodes too: the session's video cache is shared
SHORT_SIDE = 720  # every result's short side: 16:9 is 1280x720
# The documented rule for a model whose page states no length (the avatar page): 5 s.
SECONDS_WITHOUT_A_LENGTH_FIELD = 5
WRONG_TYPE = {"string": 12, "number": "x", "integer": "x", "boolean": "x", "array": "x", "object": "x"}
ABSENT = object()


def _digit_choices(f: Field) -> bool:
    return bool(f.choices) and all(isinstance(c, str) and c.isdigit() for c in f.choices or ())


def _ratio_choices(f: Field) -> bool:
    return bool(f.choices) and all(isinstance(c, str) and c.count(":") == 1 for c in f.choices or ())


def length_field(model: Model) -> Field | None:
    return next((f for f in model.fields if _digit_choices(f)), None)


def shape_field(model: Model) -> Field | None:
    return next((f for f in model.fields if _ratio_choices(f)), None)


def chosen(f: Field | None, given: dict[str, Any]) -> Any:
    if f is None:
        return None
    return given.get(f.name, f.default if f.has_default else None)


def expected_seconds(model: Model, given: dict[str, Any]) -> int:
    value = chosen(length_field(model), given)
    return int(value) if value is not None else SECONDS_WITHOUT_A_LENGTH_FIELD


def expected_size(model: Model, given: dict[str, Any]) -> tuple[int, int]:
    value = chosen(shape_field(model), given) or "16:9"
    w, h = (int(x) for x in value.split(":"))
    long_side = 2 * round(SHORT_SIDE * max(w, h) / min(w, h) / 2)
    return (long_side, SHORT_SIDE) if w >= h else (SHORT_SIDE, long_side)


def file_of(rule: FileRule) -> tuple[bytes, str]:
    """A file the rule accepts, with a name."""
    return (PICTURE, "pic.png") if rule.takes_images else (sound(), "tone.wav")


def wrong_file_for(rule: FileRule) -> tuple[bytes, str]:
    """A file of a type the rule does not accept."""
    return (sound(), "tone.wav") if rule.takes_images else (PICTURE, "pic.png")


def as_value(f: Field, url: str) -> Any:
    return [url] if f.type == "array" else url


def minimal_input(model: Model, url_for: Callable[[Field], str]) -> dict[str, Any]:
    """The catalog's minimal valid input (required fields, one of each required alternative), file URLs from url_for."""
    given = model.sample_input()
    for f in model.file_fields:
        if f.name in given:
            given[f.name] = as_value(f, url_for(f))
    return given


def uploads(client: httpx.Client) -> Callable[[Field], str]:
    def url_for(f: Field) -> str:
        assert f.file is not None
        data, name = file_of(f.file)
        return upload(client, data, name=name)

    return url_for


def foreign(f: Field) -> str:
    return "https://images.example/input.bin"


def far_input(model: Model, client: httpx.Client) -> dict[str, Any]:
    """The minimal input with the longest length, the last shape and the image field filled."""
    given = minimal_input(model, uploads(client))
    length, shape, image = length_field(model), shape_field(model), model.image_field
    if length is not None:
        given[length.name] = max(length.choices or (), key=int)
    if shape is not None and shape.choices:
        given[shape.name] = shape.choices[-1]
    if image is not None:
        given[image.name] = as_value(image, uploads(client)(image))
    return given


@pytest.fixture
def lenient(make_sim: Callable[..., Simulator]) -> Iterator[httpx.Client]:
    """A simulator that takes any file URL: the schema's answers come before any fetch."""
    sim = make_sim(external_images="placeholder")
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        yield c


# ------------------------------------------------------------------ every model runs to its MP4


@pytest.mark.parametrize("variant", ["minimal", "far"])
@pytest.mark.parametrize("model_id", list(MODELS))
def test_every_model_runs_to_an_mp4_of_the_asked_length_and_shape(
    sim: Simulator, client: httpx.Client, model_id: str, variant: str
) -> None:
    model = MODELS[model_id]
    given = minimal_input(model, uploads(client)) if variant == "minimal" else far_input(model, client)
    body = {"model": model.id, "input": given}
    answer = client.post(CREATE, json=body).json()
    assert answer["code"] == 200, answer
    task_id = answer["data"]["taskId"]
    seconds, (width, height) = expected_seconds(model, given), expected_size(model, given)
    assert sim.counters.credits_spent[DEFAULT_API_KEY] == sim.money.cost(model, given, seconds)
    assert record(client, task_id)["state"] == "waiting"
    sim.advance(3600)
    data = record(client, task_id)
    assert (data["state"], data["model"]) == ("success", model.id)
    assert json.loads(data["param"]) == body
    video = client.get(json.loads(data["resultJson"])["resultUrls"][0])
    assert (video.status_code, video.headers["content-type"]) == (200, "video/mp4")
    with av.open(io.BytesIO(video.content)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.width, stream.codec_context.height) == (
            "h264",
            width,
            height,
        )
        assert container.duration is not None
        assert container.duration / 1_000_000 == pytest.approx(seconds, abs=0.1)
        first = next(container.decode(stream)).to_ndarray(format="rgb24").astype(np.float64)
    image = model.image_field
    if image is not None and image.name in given:
        assert psnr(first, letterboxed(PICTURE, width, height)) > 30.0
    else:
        assert first.mean() > 30  # a drawn frame, not black


def test_a_model_without_an_image_field_draws_the_prompt_on_its_first_frame(sim: Simulator) -> None:
    drawn = [m for m in MODELS.values() if m.image_field is None]
    assert drawn, "the catalog has no text-to-video model"
    model = drawn[0]
    given = minimal_input(model, foreign)
    given["prompt"] = "lighthouse at dawn"
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        plain, captioned = (
            c.post(CREATE, json={"model": model.id, "input": {**given, "prompt": p}}).json()["data"]["taskId"]
            for p in (" ", given["prompt"])
        )
    assert sim.task(captioned).caption == "lighthouse at dawn"
    assert sim.task(plain).caption is None


# ------------------------------------------------------------------ every limit of every model


def violations(model: Model) -> Iterator[tuple[str, str, Any, str]]:
    """(case, field, value just past the limit or ABSENT, the start of the 422 message), from the page."""
    for f in model.fields:
        at = f"input.{f.name}"
        if f.max_length is not None:
            yield "maxLength", f.name, "x" * (f.max_length + 1), f"{at}: must be at most {f.max_length} characters"
        if f.min_length:
            yield "minLength", f.name, "x" * (f.min_length - 1), f"{at}: must be at least {f.min_length} characters"
        if f.maximum is not None:
            yield "maximum", f.name, f.maximum + (f.step or 1), f"{at}: must be at most {f.schema['maximum']}"
        if f.minimum is not None:
            yield "minimum", f.name, f.minimum - (f.step or 1), f"{at}: must be at least {f.schema['minimum']}"
        if f.choices and all(isinstance(c, str) for c in f.choices):
            yield "enum", f.name, "".join(f.choices) + "?", f"{at}: must be one of"
        sample = f.sample()
        item = sample[0] if isinstance(sample, list) and sample else "https://images.example/a.png"
        if f.max_items is not None:
            yield "maxItems", f.name, [item] * (f.max_items + 1), f"{at}: must hold at most {f.max_items} items"
        if f.min_items:
            yield "minItems", f.name, [item] * (f.min_items - 1), f"{at}: must hold at least {f.min_items} items"
        if f.type in WRONG_TYPE:
            yield "type", f.name, WRONG_TYPE[f.type], f"{at}: must be of type {f.type}"
        if f.required:
            yield "required", f.name, ABSENT, f"{at}: is required"


CASES = [
    pytest.param(m.id, name, value, message, id=f"{m.id}-{name}-{case}")
    for m in MODELS.values()
    for case, name, value, message in violations(m)
]


@pytest.mark.parametrize(("model_id", "name", "value", "message"), CASES)
def test_each_field_just_past_its_limit_is_422_naming_it(
    lenient: httpx.Client, model_id: str, name: str, value: Any, message: str
) -> None:
    model = MODELS[model_id]
    given = minimal_input(model, foreign)
    assert lenient.post(CREATE, json={"model": model.id, "input": given}).json()["code"] == 200
    if value is ABSENT:
        given.pop(name)
    else:
        given[name] = value
    answer = lenient.post(CREATE, json={"model": model.id, "input": given})
    assert answer.status_code == 200  # the code travels in the body, as the service does
    assert answer.json()["code"] == 422
    assert answer.json()["msg"].startswith(message), answer.json()["msg"]


ALTERNATIVES = [pytest.param(m.id, id=m.id) for m in MODELS.values() if m.required_any_of]


@pytest.mark.parametrize("model_id", ALTERNATIVES)
def test_a_model_needs_one_of_its_alternatives(lenient: httpx.Client, model_id: str) -> None:
    model = MODELS[model_id]
    given = minimal_input(model, foreign)
    for names in model.required_any_of:
        for name in names:
            given.pop(name, None)
    answer = lenient.post(CREATE, json={"model": model.id, "input": given}).json()
    assert answer["code"] == 422
    assert answer["msg"].startswith("input: needs "), answer["msg"]
    assert all(name in answer["msg"] for names in model.required_any_of for name in names)


def test_every_models_page_example_is_accepted(lenient: httpx.Client) -> None:
    for model in MODELS.values():
        answer = lenient.post(CREATE, json={"model": model.id, "input": model.sample_input(everything=True)}).json()
        assert answer["code"] == 200, (model.id, answer)


# ------------------------------------------------------------------ every file field of every model

FILE_FIELDS = [pytest.param(m.id, f.name, id=f"{m.id}-{f.name}") for m in MODELS.values() for f in m.file_fields]


@pytest.mark.parametrize(("model_id", "name"), FILE_FIELDS)
def test_each_file_field_is_fetched_and_checked_by_its_own_rule(client: httpx.Client, model_id: str, name: str) -> None:
    model = MODELS[model_id]
    f = model.field(name)
    assert f.file is not None
    at = f"input.{name}" if f.type == "string" else f"input.{name}.0"
    given = minimal_input(model, uploads(client))

    def create_with(url: str) -> dict[str, Any]:
        answer: dict[str, Any] = client.post(
            CREATE, json={"model": model.id, "input": {**given, name: as_value(f, url)}}
        ).json()
        return answer

    assert create_with(uploads(client)(f))["code"] == 200
    refused = create_with("https://images.example/input.png")
    assert (refused["code"], refused["msg"].split(": ")[0]) == (422, at)
    assert refused["msg"].startswith(f"{at}: cannot fetch")
    data, file_name = wrong_file_for(f.file)
    wrong = create_with(upload(client, data, name=file_name))
    assert wrong["code"] == 422
    assert wrong["msg"].startswith(f"{at}: unsupported type"), wrong["msg"]
    if f.file.max_bytes is not None:
        data, file_name = file_of(f.file)
        big = create_with(upload(client, data + b"\0" * (f.file.max_bytes + 1 - len(data)), name="big-" + file_name))
        assert (big["code"], big["msg"]) == (422, f"{at}: larger than {f.file.max_bytes} bytes")
