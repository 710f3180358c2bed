"""Drive one model of a regenerated copy of the project through the SDK (sync and async) and the simulator.

Run by test_provider_edits.py in a subprocess whose PYTHONPATH puts the copy's
wrapper/ and generated/ first, so that what is imported is what regen.py made
from the edited pages, with no edit outside spec/ and generated/.

    python _edit_probe.py '{"model": ..., "send": {...}, "refuse": {...}}' WORKDIR

Prints one JSON line: the model's catalog entry, what each create sent, what
each refusal named, and the final task's record.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from apikley_kling import AsyncKling, Kling, ValidationError, VirtualClock, load_models
from apikley_kling.simulator import Simulator, VideoCache

# One encode per distinct video for both clients: the sync and async runs ask for the same one.
VIDEOS = VideoCache()

# The probe runs from the root of the copy, beside its examples/.
PNG_SOURCE = Path(__file__).resolve().parent / "examples" / "assets" / "lighthouse.png"


def _inputs(model_id: str, workdir: Path, extra: dict[str, Any]) -> dict[str, Any]:
    """The page's sample input with every file field pointing at a local PNG (uploaded to the simulator)."""
    model = load_models()[model_id]
    values = {**model.sample_input(), **extra}
    image = workdir / "in.png"
    image.write_bytes(PNG_SOURCE.read_bytes())
    for f in model.file_fields:
        if f.name in values and f.file is not None and f.file.takes_images:
            values[f.name] = [image] if f.type == "array" else image
    return values


def _sync(model_id: str, workdir: Path, send: dict[str, Any]) -> dict[str, Any]:
    clock = VirtualClock()
    sim = Simulator(clock=clock, video_cache=VIDEOS)
    with Kling(api_key="sk-sim-local", base_url=sim.base_url, transport=sim.sync_transport(), clock=clock) as k:
        task = k.generate(model=model_id, output=workdir / "sync.mp4", **_inputs(model_id, workdir, send))
        again = k.tasks.get(task.id)
    sim.close()
    return {
        "state": task.state.value,
        "input": dict(again.input or {}),
        "raw": dict(again.raw),
        "bytes": (workdir / "sync.mp4").stat().st_size,
    }


async def _async(model_id: str, workdir: Path, send: dict[str, Any]) -> dict[str, Any]:
    clock = VirtualClock()
    sim = Simulator(clock=clock, video_cache=VIDEOS)
    async with AsyncKling(
        api_key="sk-sim-local", base_url=sim.base_url, transport=sim.async_transport(), clock=clock
    ) as k:
        task = await k.generate(model=model_id, output=workdir / "async.mp4", **_inputs(model_id, workdir, send))
    sim.close()
    return {"state": task.state.value, "input": dict(task.input or {})}


def _refusals(model_id: str, workdir: Path, refuse: dict[str, Any]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    with Kling(api_key="sk-x", base_url="https://api.invalid") as k:  # nothing may be sent: no server at all
        for field, value in refuse.items():
            try:
                k.tasks.create(model=model_id, input={**_inputs(model_id, workdir, {}), field: value})
            except ValidationError as exc:
                out[field] = exc.field
            else:
                out[field] = None
    return out


def _cli(model_id: str, workdir: Path, options: list[str]) -> dict[str, Any]:
    """`kling models M`, `kling generate --model M --help` and `kling generate --model M ...` on a virtual clock."""
    from apikley_kling import cli
    from apikley_kling.cli import _client as cli_client
    from typer.testing import CliRunner

    clock = VirtualClock()
    sim = Simulator(clock=clock, video_cache=VIDEOS)
    cli_client._overrides.update(
        transport=sim.sync_transport(), base_url=sim.base_url, clock=clock, allow_insecure_http=True
    )
    runner = CliRunner()
    env = {"APIKLEY_API_KEY": "sk-sim-local", "COLUMNS": "200"}
    shown = runner.invoke(cli.app, ["models", model_id, "--json"], env=env)
    helped = runner.invoke(cli.app, ["generate", "--model", model_id, "--help"], env=env)
    image = workdir / "in.png"
    out = workdir / "cli.mp4"
    made = runner.invoke(
        cli.app, ["generate", "--model", model_id, "--image", str(image), *options, "-o", str(out), "--json"], env=env
    )
    sim.close()
    return {
        "models_exit": shown.exit_code,
        "model": json.loads(shown.stdout) if shown.exit_code == 0 else shown.output,
        "help": helped.stdout,
        "generate_exit": made.exit_code,
        "generate": made.stdout + made.stderr,
        "bytes": out.stat().st_size if out.exists() else 0,
    }


def main() -> None:
    job = json.loads(sys.argv[1])
    workdir = Path(sys.argv[2])
    model_id = job["model"]
    model = load_models()[model_id]
    result = {
        "models": list(load_models()),
        "catalog": model.to_dict(),
        "sync": _sync(model_id, workdir, job.get("send", {})),
        # The async run sends only the page's sample: what the sync run added is not sent unasked.
        "async": asyncio.run(_async(model_id, workdir, {})),
        "refused": _refusals(model_id, workdir, job.get("refuse", {})),
    }
    if "cli" in job:
        result["cli"] = _cli(model_id, workdir, job["cli"])
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
