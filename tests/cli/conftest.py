"""Fixtures for the CLI tests: the CLI pointed at an in-process simulator on a virtual clock."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from apikley_kling import cli
from apikley_kling.clock import VirtualClock
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator, VideoCache
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
LIGHTHOUSE = ROOT / "examples" / "assets" / "lighthouse.png"
KLING = str(Path(sys.executable).with_name("kling"))

# Encoding a 720p MP4 costs about a second; the result depends only on (image, seconds),
# so the in-process simulators of these tests share one cache.
VIDEOS = VideoCache()


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
        base: dict[str, str | None] = {"APIKLEY_API_KEY": DEFAULT_API_KEY, "APIKLEY_BASE_URL": None}
        base.update(env or {})
        result = self.runner.invoke(cli.app, list(args), env=base, catch_exceptions=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    @property
    def requests(self) -> int:
        return sum(self.sim.counters.requests.values())


@pytest.fixture
def kling_cli(monkeypatch: pytest.MonkeyPatch) -> Iterator[CliEnv]:
    clock = VirtualClock()
    sim = Simulator(clock=clock, generation_time=60.0, video_cache=VIDEOS)
    monkeypatch.setattr(
        cli,
        "_overrides",
        {
            "transport": sim.sync_transport(),
            "base_url": sim.base_url,
            "clock": clock,
            "allow_insecure_http": True,
        },
    )
    monkeypatch.setattr(cli, "_debug", False)
    monkeypatch.setattr(cli, "_secrets", set())
    try:
        yield CliEnv(sim, clock, CliRunner())
    finally:
        sim.close()


@pytest.fixture
def subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIKLEY_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["COLUMNS"] = "120"
    return env
