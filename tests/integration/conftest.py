"""The SDK against the in-process simulator, both on ONE VirtualClock.

The client's sleeps (polling, backoff, Retry-After) are what age the
simulator's tasks, so a 5-minute generation is waited for in milliseconds and
nothing here ever sleeps real seconds.
"""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from apikley_kling import AsyncKling, Kling, VirtualClock
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator, VideoCache
from PIL import Image, ImageDraw

KEY = DEFAULT_API_KEY  # "sk-sim-local"


def png(width: int = 640, height: int = 480) -> bytes:
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for y in range(height):
        draw.line([(0, y), (width, y)], fill=(y * 255 // height, 120, 255 - y * 255 // height))
    draw.ellipse((width // 4, height // 4, width // 2, height // 2), fill=(250, 200, 0))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


class RecordingClock(VirtualClock):
    """A VirtualClock that remembers every sleep the client asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        super().sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await super().asleep(seconds)


class Edge(random.Random):
    """An rng whose uniform() always picks one end: poll_interval(elapsed, Edge("low")) is the
    shortest interval the schedule allows at `elapsed`, Edge("high") the longest."""

    def __init__(self, end: str) -> None:
        super().__init__(0)
        self.end = end

    def uniform(self, a: float, b: float) -> float:
        return a if self.end == "low" else b


@pytest.fixture(scope="session")
def video_cache() -> VideoCache:
    return VideoCache()


@pytest.fixture(scope="session")
def image_bytes() -> bytes:
    return png()


@pytest.fixture
def image_file(tmp_path: Path, image_bytes: bytes) -> Path:
    path = tmp_path / "in.png"
    path.write_bytes(image_bytes)
    return path


@pytest.fixture
def clock() -> RecordingClock:
    return RecordingClock()


@pytest.fixture
def make_sim(clock: VirtualClock, video_cache: VideoCache) -> Iterator[Callable[..., Simulator]]:
    made: list[Simulator] = []

    def make(**options: Any) -> Simulator:
        options.setdefault("clock", clock)
        options.setdefault("video_cache", video_cache)
        options.setdefault("sender", lambda delivery: 200)
        sim = Simulator(**options)
        made.append(sim)
        return sim

    yield make
    for sim in made:
        sim.close()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim()


def sync_client(sim: Simulator, **options: Any) -> Kling:
    options.setdefault("rng", random.Random(11))
    options.setdefault("transport", sim.sync_transport())
    return Kling(api_key=KEY, base_url=sim.base_url, clock=sim.clock, **options)


def async_client(sim: Simulator, **options: Any) -> AsyncKling:
    options.setdefault("rng", random.Random(11))
    options.setdefault("transport", sim.async_transport())
    return AsyncKling(api_key=KEY, base_url=sim.base_url, clock=sim.clock, **options)


@pytest.fixture
def kling(sim: Simulator) -> Iterator[Kling]:
    with sync_client(sim) as k:
        yield k


@pytest.fixture
async def akling(sim: Simulator) -> AsyncIterator[AsyncKling]:
    async with async_client(sim) as k:
        yield k


def record_requests(sim: Simulator) -> int:
    return sim.counters.requests["recordInfo"]
