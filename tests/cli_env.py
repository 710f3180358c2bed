"""Fixtures for the CLI, batch and ledger tests (registered in tests/conftest.py): the CLI pointed at an in-process
simulator on a virtual clock, or at nothing.

The simulator is imported by the fixtures that need it, so that the tests that
must send nothing (help, `kling models`, refused input) run without it.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from apikley_kling import cli
from apikley_kling.cli import _client as cli_client
from apikley_kling.clock import VirtualClock
from typer.testing import CliRunner

if TYPE_CHECKING:
    from apikley_kling.simulator import Simulator, VideoCache

ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE = ROOT / "examples" / "assets" / "lighthouse.png"
KLING = str(Path(sys.executable).with_name("kling"))
SIM_KEY = "sk-sim-local"  # the simulator's DEFAULT_API_KEY, without importing it


@functools.cache
def videos() -> VideoCache:
    """Encoding a 720p MP4 costs about a second; the result depends only on what the task asks,
    so the in-process simulators of these tests share one cache."""
    from apikley_kling.simulator import VideoCache

    return VideoCache()


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class CliEnv:
    sim: Simulator
    clock: VirtualClock
    runner: CliRunner

    def __call__(self, *args: str, env: dict[str, str | None] | None = None) -> Run:
        return invoke(self.runner, args, env)

    @property
    def requests(self) -> int:
        return sum(self.sim.counters.requests.values())


def invoke(runner: CliRunner, args: tuple[str, ...], env: dict[str, str | None] | None) -> Run:
    base: dict[str, str | None] = {"APIKLEY_API_KEY": SIM_KEY, "APIKLEY_BASE_URL": None, "COLUMNS": "200"}
    base.update(env or {})
    result = runner.invoke(cli.app, list(args), env=base, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def _point_cli_at(monkeypatch: pytest.MonkeyPatch, overrides: dict[str, Any]) -> None:
    monkeypatch.setattr(cli_client, "_overrides", overrides)


@pytest.fixture
def kling_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[CliEnv]:
    from apikley_kling.simulator import Simulator, Timings

    clock = VirtualClock()
    sim = Simulator(clock=clock, video_cache=videos(), timings=Timings(generation=60.0))
    overrides = {
        "transport": sim.sync_transport(),
        "base_url": sim.base_url,
        "clock": clock,
        "allow_insecure_http": True,
    }
    _point_cli_at(monkeypatch, overrides)
    try:
        yield CliEnv(sim, clock, CliRunner())
    finally:
        sim.close()


@dataclass
class OfflineCli:
    """The CLI with a transport that answers every request with a 500 and counts it: for what must send nothing."""

    runner: CliRunner
    sent: list[httpx.Request] = field(default_factory=list)

    def __call__(self, *args: str, env: dict[str, str | None] | None = None) -> Run:
        return invoke(self.runner, args, env)

    @property
    def requests(self) -> int:
        return len(self.sent)


@pytest.fixture
def offline_cli(monkeypatch: pytest.MonkeyPatch) -> OfflineCli:
    env = OfflineCli(CliRunner())

    def answer(request: httpx.Request) -> httpx.Response:
        env.sent.append(request)
        return httpx.Response(500, json={"code": 500, "msg": "offline test: nothing should be sent"})

    overrides = {
        "transport": httpx.MockTransport(answer),
        "base_url": "http://127.0.0.1:9",
        "clock": VirtualClock(),
        "allow_insecure_http": True,
        "max_retries": 0,
    }
    _point_cli_at(monkeypatch, overrides)
    return env


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIKLEY_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["COLUMNS"] = "120"
    return env
