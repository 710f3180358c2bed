"""scripts/contract_check.py, the command teams run against their own base URL."""

from __future__ import annotations

import pytest
from apikley_kling.clock import VirtualClock
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator, validation

from ._paths import load_script
from .test_schemathesis_simulator import _lenient_cfg_scale

cc = load_script("contract_check")


def _served(**options: object) -> Simulator:
    return Simulator(clock=VirtualClock(), credits=1e9, external_images="placeholder", **options)  # type: ignore[arg-type]


def test_passes_against_a_server_that_keeps_the_contract(capsys: pytest.CaptureFixture[str]) -> None:
    sim = _served(generation_time=0.0, waiting_time=0.0, queuing_time=0.0)
    with sim.serve(port=0) as url:
        code = cc.main(
            [
                "--base-url",
                url,
                "--api-key",
                DEFAULT_API_KEY,
                "--max-examples",
                "2",
                "--stateful-steps",
                "3",
                "--operations",
                "create-task,get-task-details,get-remaining-credits",
                "--phases",
                "coverage,examples,fuzzing,stateful",
            ]
        )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 failure(s)" in out and "stateful" in out


def test_fails_against_a_server_that_accepts_cfg_scale_above_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(validation, "check", _lenient_cfg_scale(validation.check))
    with _served().serve(port=0) as url:
        code = cc.main(
            [
                "--base-url",
                url,
                "--api-key",
                DEFAULT_API_KEY,
                "--operations",
                "create-task",
                "--phases",
                "coverage",
                "--max-examples",
                "2",
            ]
        )
    out = capsys.readouterr().out
    assert code == 1, out
    assert "negative_data_rejection" in out


def test_no_key_and_unreachable_server_are_not_verdicts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("APIKLEY_API_KEY", raising=False)
    assert cc.main(["--base-url", "http://127.0.0.1:9"]) == 2
    assert "APIKLEY_API_KEY" in capsys.readouterr().err
    unreachable = ["--base-url", "http://127.0.0.1:9", "--api-key", "k", "--operations", "get-remaining-credits"]
    assert cc.main([*unreachable, "--phases", "examples"]) == 2


def test_no_create_never_calls_create_task() -> None:
    sim = _served()
    with sim.serve(port=0) as url:
        code = cc.main(["--base-url", url, "--api-key", DEFAULT_API_KEY, "--no-create", "--max-examples", "1"])
    # The stateful phase starts at createTask, so --no-create also drops it (no error, no call).
    assert code == 0
    assert sim.counters.requests["createTask"] == 0
    assert sim.counters.requests["recordInfo"] > 0
