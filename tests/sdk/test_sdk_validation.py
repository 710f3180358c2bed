"""Inputs are checked against the spec's limits before anything is sent; defaults come from the spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import apikley_kling as ak
import pytest
import respx
from apikley_kling import AsyncKling, Kling
from apikley_kling._spec import create_limits

from .conftest import CREATE, PNG, ok

URL = "https://x.example/c.png"


def bad_inputs(tmp_path: Path) -> list[tuple[dict[str, Any], str]]:
    lim = create_limits()
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    return [
        ({"prompt": "x" * (lim.prompt_max + 1), "image_url": URL}, "prompt"),
        ({"prompt": "", "image_url": URL}, "prompt"),
        ({"prompt": "   ", "image_url": URL}, "prompt"),
        ({"prompt": 42, "image_url": URL}, "prompt"),
        ({"prompt": "p"}, "image"),
        ({"prompt": "p", "image": PNG, "image_url": URL}, "image"),
        ({"prompt": "p", "image_url": "ftp://x.example/c.png"}, "image_url"),
        ({"prompt": "p", "image_url": "not a url"}, "image_url"),
        ({"prompt": "p", "image": bad}, "image"),
        ({"prompt": "p", "image_url": URL, "duration": 7}, "duration"),
        ({"prompt": "p", "image_url": URL, "duration": "5s"}, "duration"),
        ({"prompt": "p", "image_url": URL, "duration": True}, "duration"),
        ({"prompt": "p", "image_url": URL, "duration": 5.0}, "duration"),
        ({"prompt": "p", "image_url": URL, "negative_prompt": "n" * (lim.negative_prompt_max + 1)}, "negative_prompt"),
        ({"prompt": "p", "image_url": URL, "cfg_scale": lim.cfg_max + 0.1}, "cfg_scale"),
        ({"prompt": "p", "image_url": URL, "cfg_scale": lim.cfg_min - 0.1}, "cfg_scale"),
        ({"prompt": "p", "image_url": URL, "cfg_scale": float("nan")}, "cfg_scale"),
        ({"prompt": "p", "image_url": URL, "cfg_scale": True}, "cfg_scale"),
        ({"prompt": "p", "image_url": URL, "cfg_scale": "0.5"}, "cfg_scale"),
        ({"prompt": "p", "image_url": URL, "callback_url": "javascript:alert(1)"}, "callback_url"),
        ({"prompt": "p", "image_url": URL, "model": "kling/v9"}, "model"),
    ]


def test_invalid_inputs_send_nothing(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    for kwargs, field in bad_inputs(tmp_path):
        with pytest.raises(ak.ValidationError) as info:
            kling.tasks.create(**kwargs)
        assert info.value.field == field, kwargs
        assert field in str(info.value)
        assert info.value.status is None  # refused client-side
    assert mock.calls.call_count == 0


def test_limit_is_named_in_the_error(kling: Kling, mock: respx.MockRouter) -> None:
    lim = create_limits()
    with pytest.raises(ak.ValidationError, match=str(lim.prompt_max)):
        kling.tasks.create("x" * (lim.prompt_max + 1), image_url=URL)
    assert not mock.calls


def test_limits_exactly_at_the_edge_are_accepted(kling: Kling, mock: respx.MockRouter) -> None:
    lim = create_limits()
    route = mock.post(CREATE).mock(return_value=ok({"taskId": "t"}))
    kling.tasks.create(
        "x" * lim.prompt_max, image_url=URL, negative_prompt="n" * lim.negative_prompt_max, cfg_scale=lim.cfg_max
    )
    kling.tasks.create("p", image_url=URL, cfg_scale=lim.cfg_min)
    assert route.call_count == 2


def test_defaults_come_from_the_spec(kling: Kling, mock: respx.MockRouter) -> None:
    lim = create_limits()
    route = mock.post(CREATE).mock(return_value=ok({"taskId": "t"}))
    kling.tasks.create("a cat", image_url=URL)
    body = json.loads(route.calls[0].request.content)
    assert body["model"] == lim.default_model
    assert body["input"]["duration"] == lim.default_duration
    assert body["input"]["cfg_scale"] == lim.cfg_default
    assert "callBackUrl" not in body and "negative_prompt" not in body["input"]


@pytest.mark.parametrize("duration", [5, 10, "5", "10"])
def test_duration_int_or_str(kling: Kling, mock: respx.MockRouter, duration: int | str) -> None:
    route = mock.post(CREATE).mock(return_value=ok({"taskId": "t"}))
    kling.tasks.create("a cat", image_url=URL, duration=duration)
    assert json.loads(route.calls[0].request.content)["input"]["duration"] == str(duration)


def test_full_body(kling: Kling, mock: respx.MockRouter) -> None:
    route = mock.post(CREATE).mock(return_value=ok({"taskId": "t"}))
    kling.tasks.create(
        "a cat", image=URL, duration=10, negative_prompt="blur", cfg_scale=0.7, callback_url="https://me.example/cb"
    )
    body = json.loads(route.calls[0].request.content)
    assert body == {
        "model": "kling/v2-1-standard",
        "callBackUrl": "https://me.example/cb",
        "input": {"prompt": "a cat", "image_url": URL, "duration": "10", "negative_prompt": "blur", "cfg_scale": 0.7},
    }


async def test_async_validation_sends_nothing(akling: AsyncKling, mock: respx.MockRouter) -> None:
    with pytest.raises(ak.ValidationError):
        await akling.tasks.create("p", image_url=URL, duration=3)
    with pytest.raises(ak.ValidationError):
        await akling.tasks.get("")
    assert not mock.calls
