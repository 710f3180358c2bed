"""Secrets: a canary key never shows in logs (root at DEBUG, httpx/httpcore included), reprs,
exception strings, tracebacks with locals, or CLI output (--debug included).

The flow runs against a simulator served on 127.0.0.1 (so httpcore logs too),
on a VirtualClock shared by client and simulator (no real sleeping).
"""

from __future__ import annotations

import io
import random
import traceback
from pathlib import Path
from typing import Any

import apikley_kling as ak
import pytest
from apikley_kling import Kling, VirtualClock
from apikley_kling.simulator import Simulator, Timings

from .conftest import png

CANARY = "sk-canary-7c1e2b9d4f6a8e03"
WRONG = "sk-canary-wrong-55aa11"  # a second key that must not leak either


def _texts(exc: BaseException) -> list[str]:
    te = traceback.TracebackException.from_exception(exc, capture_locals=True)
    return [str(exc), repr(exc), "".join(te.format()), repr(vars(exc))]


def test_canary_never_leaks(tmp_path: Path, debug_log: io.StringIO, videos: Any) -> None:
    clock = VirtualClock()
    sim = Simulator(clock=clock, api_keys=(CANARY,), video_cache=videos, timings=Timings(generation=30.0))
    seen: list[str] = []
    image = tmp_path / "in.png"
    image.write_bytes(png())
    with sim.serve(port=0) as url, Kling(api_key=CANARY, base_url=url, clock=clock, rng=random.Random(1)) as k:
        seen += [repr(k), str(k), repr(k.tasks), repr(k.files), repr(k.callbacks), repr(vars(k))]
        task = k.tasks.create("a lighthouse at night", image=image)
        seen += [repr(task), str(task)]
        seen.append(repr(k.tasks.get(task.id)))
        done = k.tasks.wait(task.id, on_update=lambda u: seen.append(repr(u)))
        seen.append(repr(done))
        k.download(done, tmp_path / "out.mp4", on_progress=lambda p: seen.append(repr(p)))
        seen.append(repr(k.credits()))
        # Error flows: a server error, a bad request, an unknown task, an ambiguous create.
        errors: list[BaseException] = []
        sim.faults.add("recordInfo", "status_500", times=10)
        for fault, call in (
            (None, lambda: k.tasks.get(task.id)),
            (None, lambda: k.tasks.get("task_does_not_exist")),
            (None, lambda: k.tasks.create("x", image_url=f"{url}/sim/files/nope/x.png")),
            ("drop_after_record", lambda: k.tasks.create("y", image=image)),
        ):
            if fault:
                sim.faults.add("createTask", fault)
            with pytest.raises(ak.KlingError) as info:
                call()
            errors.append(info.value)
        assert {type(e) for e in errors} >= {ak.ServerError, ak.AmbiguousSubmit}
        for e in errors:
            seen += _texts(e)
    # A wrong key: an AuthenticationError whose texts hold neither key.
    with sim.serve(port=0) as url, Kling(api_key=WRONG, base_url=url, clock=clock) as bad:
        with pytest.raises(ak.AuthenticationError) as info:
            bad.credits()
        seen += _texts(info.value)
    sim.close()
    log = debug_log.getvalue()
    assert "HTTP Request" in log and "httpcore" in log  # the third-party loggers really did log
    for text in [log, *seen]:
        assert CANARY not in text
        assert WRONG not in text
    # The redaction is what keeps it out: the logs do talk about authorization.
    assert "Bearer" not in log or "Bearer ***" in log


def test_cli_never_prints_the_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, debug_log: io.StringIO, videos: Any
) -> None:
    cli = pytest.importorskip("apikley_kling.cli")
    from typer.testing import CliRunner

    clock = VirtualClock()
    sim = Simulator(clock=clock, api_keys=(CANARY,), video_cache=videos, timings=Timings(generation=30.0))
    monkeypatch.setattr(
        pytest.importorskip("apikley_kling.cli._client"),
        "_overrides",
        {"transport": sim.sync_transport(), "base_url": sim.base_url, "clock": clock, "allow_insecure_http": True},
    )
    image = tmp_path / "in.png"
    image.write_bytes(png())
    runner = CliRunner()
    env = {"APIKLEY_API_KEY": CANARY, "APIKLEY_BASE_URL": None, "COLUMNS": "200"}
    outputs: list[str] = []

    def run(*args: str, key: str = CANARY) -> Any:
        result = runner.invoke(cli.app, ["--debug", *args], env={**env, "APIKLEY_API_KEY": key})
        outputs.extend([result.stdout, result.stderr, repr(result.exception)])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            outputs.extend(_texts(result.exception))
        return result

    gen = run("generate", "--image", str(image), "--prompt", "a boat", "--output", str(tmp_path / "o.mp4"), "--json")
    assert gen.exit_code == 0, gen.stdout + gen.stderr
    run("credits", "--json")
    run("status", "task_does_not_exist", "--json")
    sim.faults.add("recordInfo", "status_500", times=20)
    failed = run("status", "task_does_not_exist")
    assert failed.exit_code != 0
    run("credits", key=WRONG)
    sim.close()
    for text in [*outputs, debug_log.getvalue()]:
        assert CANARY not in text
        assert WRONG not in text
