"""A create that asks for sound gets an MP4 with an AAC track as long as the video; one that does not, none.

Which field asks for sound is read from the spec: a boolean whose description speaks of sound or audio, which the
bundler marks with its role (scripts/spec_rules.audio_switch_from_prose, tested with the other rules). The models and
their fields come from the catalog, so a page that adds such a field is covered unchanged.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from apikley_kling.catalog import Field, Model
from apikley_kling.downloads import mp4_problem
from apikley_kling.simulator import Simulator
from apikley_kling.simulator._clip import sound_field
from conftest import CREATE, MODELS, record
from test_sim_models import expected_seconds, length_field, minimal_input, uploads

_SPEAKS_OF_SOUND = re.compile(r"\b(sound|audio)\b", re.IGNORECASE)


def switch(model: Model) -> Field | None:
    """The sound switch as this test reads the page, independently of the simulator."""
    return next((f for f in model.fields if f.type == "boolean" and _SPEAKS_OF_SOUND.search(f.description)), None)


WITH_SOUND = [m for m in MODELS.values() if switch(m) is not None]
WITHOUT_SOUND = [m for m in MODELS.values() if switch(m) is None]


def _video(sim: Simulator, client: httpx.Client, model: Model, **changes: Any) -> tuple[bytes, dict[str, Any]]:
    given = minimal_input(model, uploads(client))
    length = length_field(model)
    if length is not None:  # the shortest clip: the encode is what these tests pay for
        given[length.name] = min(length.choices or (), key=int)
    given.update(changes)
    answer = client.post(CREATE, json={"model": model.id, "input": given}).json()
    assert answer["code"] == 200, answer
    sim.advance(3600)
    data = record(client, answer["data"]["taskId"])
    video = client.get(json.loads(data["resultJson"])["resultUrls"][0])
    assert video.status_code == 200
    return video.content, given


def _audio_seconds(mp4: bytes) -> list[float]:
    """The length of each audio stream, from its decoded samples."""
    out = []
    with av.open(io.BytesIO(mp4)) as container:
        for stream in container.streams.audio:
            assert stream.codec_context.name == "aac"
            samples = sum(frame.samples for frame in container.decode(stream))
            out.append(samples / stream.codec_context.sample_rate)
    return out


def test_the_catalog_has_models_with_and_without_a_sound_switch() -> None:
    assert WITH_SOUND and WITHOUT_SOUND
    for model in MODELS.values():
        assert sound_field(model) == switch(model), model.id


def test_the_switch_is_found_by_its_role_not_by_its_name() -> None:
    role = next(f.schema["x-role"] for m in WITH_SOUND for f in m.fields if "x-role" in f.schema)
    named = Field(name="sound", type="boolean", required=False, description="Whether to generate sound.")
    marked = Field(name="sfx", type="boolean", required=False, schema={"x-role": role})
    assert sound_field(Model("m", "M", (named, marked), (), "R", "I")) == marked
    assert sound_field(Model("m", "M", (named,), (), "R", "I")) is None


@pytest.mark.parametrize("on", [True, False])
@pytest.mark.parametrize("model", WITH_SOUND, ids=[m.id for m in WITH_SOUND])
def test_sound_on_is_an_audio_track_as_long_as_the_video(
    sim: Simulator, client: httpx.Client, tmp_path: Path, model: Model, on: bool
) -> None:
    field = switch(model)
    assert field is not None
    mp4, given = _video(sim, client, model, **{field.name: on})
    seconds = expected_seconds(model, given)
    audio = _audio_seconds(mp4)
    if on:
        assert len(audio) == 1 and audio[0] == pytest.approx(seconds, abs=0.1)
    else:
        assert audio == []
    with av.open(io.BytesIO(mp4)) as container:
        assert len(container.streams.video) == 1
        assert container.duration is not None and container.duration / 1_000_000 == pytest.approx(seconds, abs=0.1)
    path = tmp_path / "result.mp4"
    path.write_bytes(mp4)
    assert mp4_problem(path) is None  # what a download checks still takes it


def test_a_model_without_a_sound_switch_makes_a_silent_video(sim: Simulator, client: httpx.Client) -> None:
    mp4, _ = _video(sim, client, WITHOUT_SOUND[0])
    assert _audio_seconds(mp4) == []
