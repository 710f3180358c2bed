"""Every model works as its page says, first try: `kling generate --simulate --model M --prompt ...` with only the
fields the page requires and gives no default for, and the right MP4 comes out (its length and shape the ones the
page's defaults ask for); `kling models M` says which defaults are sent when left out.

Models, required fields and defaults are read from the bundled spec itself (not through the catalog, whose
reading is what is tested); the CLI runs in-process against the simulator on a virtual clock.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest
from apikley_kling import Model, load_models
from apikley_kling.catalog import load_spec
from apikley_kling.simulator._clip import DEFAULT_ASPECT, DEFAULT_SECONDS

from ..catalog_values import option_args, valid_value
from ..cli_env import CliEnv, OfflineCli

CATALOG = load_models()
MODELS = list(CATALOG.values())
IDS = [m.id for m in MODELS]
PROMPT = "a lighthouse at dusk, slow push"
_RATIO = re.compile(r"^(\d+):(\d+)$")


def page_input(model: Model) -> dict[str, Any]:
    schema: dict[str, Any] = load_spec()["components"]["schemas"][model.input_schema]
    return schema


def required_defaults(model: Model) -> dict[str, Any]:
    page = page_input(model)
    return {n: page["properties"][n]["default"] for n in page.get("required", ()) if "default" in page["properties"][n]}


def needed(model: Model) -> list[str]:
    """Required fields the page gives no default for, besides the prompt the command line gives."""
    page = page_input(model)
    return [n for n in page.get("required", ()) if "default" not in page["properties"][n] and n != "prompt"]


def _role(model: Model, admits: Any) -> dict[str, Any] | None:
    """The first input field whose page constraint `admits` says holds the role."""
    return next((p for p in page_input(model)["properties"].values() if admits(p)), None)


def _digit_enum(p: dict[str, Any]) -> bool:
    return bool(p.get("enum")) and all(isinstance(c, str) and c.isdigit() for c in p["enum"])


def expected_seconds(model: Model) -> int:
    field = _role(model, _digit_enum) or _role(model, lambda p: p.get("x-unit") == "s")
    return int(field["default"]) if field is not None and "default" in field else DEFAULT_SECONDS


def expected_ratio(model: Model) -> tuple[int, int]:
    field = _role(model, lambda p: bool(p.get("enum")) and all(_RATIO.match(str(c)) for c in p["enum"]))
    match = _RATIO.match(str(field["default"])) if field is not None and "default" in field else None
    return (int(match[1]), int(match[2])) if match else DEFAULT_ASPECT


def probe(path: Path) -> tuple[float, int, int]:
    """(seconds, width, height) of an MP4, read by PyAV."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.demux(stream) if _.size)
        rate = stream.average_rate or Fraction(24)
        return float(frames / rate), stream.codec_context.width, stream.codec_context.height


def test_the_spec_has_required_fields_with_defaults() -> None:
    assert any(required_defaults(m) for m in MODELS)  # else the first-try test below proves less than it says


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_generate_with_only_the_prompt_works_first_try(kling_cli: CliEnv, tmp_path: Path, model: Model) -> None:
    assert "prompt" in model.names
    extra: list[str] = []
    for name in needed(model):
        extra += option_args(model.field(name), valid_value(model.field(name), tmp_path))
    out = tmp_path / "out.mp4"
    r = kling_cli("generate", "--simulate", "--model", model.id, "--prompt", PROMPT, *extra, "-o", str(out), "--json")
    assert r.exit_code == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["state"] == "success"
    sent = json.loads(kling_cli.sim.record(doc["task_id"])["param"])["input"]
    for name, default in required_defaults(model).items():
        assert sent[name] == default and doc["input"][name] == default  # sent, and Task.params shows it
    seconds, width, height = probe(out)
    assert seconds == expected_seconds(model)
    w, h = expected_ratio(model)
    assert abs(width / height - w / h) < 0.01, (width, height, w, h)
    assert kling_cli.requests > 0


@pytest.mark.parametrize("model", [m for m in MODELS if required_defaults(m)], ids=lambda m: m.id)
def test_models_says_which_defaults_are_sent(offline_cli: OfflineCli, model: Model) -> None:
    defaults = required_defaults(model)
    doc = json.loads(offline_cli("models", model.id, "--json").stdout)
    assert doc["sent_defaults"] == defaults
    assert {f["name"] for f in doc["fields"] if f["sent_when_omitted"]} == set(defaults)
    text = offline_cli("models", model.id).stdout
    line = next(x for x in text.splitlines() if "sent with" in x)
    for name, value in defaults.items():
        assert f"{name}={json.dumps(value).strip(chr(34))}" in line
    assert offline_cli.requests == 0
