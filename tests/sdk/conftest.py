"""Fixtures for the SDK tests: a canary key, a recording virtual clock, respx-mocked service."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from apikley_kling import AsyncKling, CallbackInbox, Kling, VirtualClock

CANARY = "sk-canary-5f1b9c0e7d2a4c3b"
BASE = "https://api.test.example"
UPLOAD = f"{BASE}/file-upload/api/file-stream-upload"
CREATE = f"{BASE}/api/v1/jobs/createTask"
QUERY = f"{BASE}/api/v1/jobs/recordInfo"
CREDITS = f"{BASE}/api/v1/chat/credit"
DOWNLOAD_URL = f"{BASE}/api/v1/common/download-url"
RESULT = "https://files.example.net/r/abc/video.mp4"

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64


def mp4(size: int = 256, fill: bytes = b"\x00") -> bytes:
    """Bytes shaped like a whole MP4 (ftyp, moov, then mdat up to `size`): downloads are checked for that."""
    ftyp = (24).to_bytes(4, "big") + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2"
    moov = (16).to_bytes(4, "big") + b"moov" + b"\x00" * 8
    rest = size - len(ftyp) - len(moov)
    assert rest >= 8
    body = (fill * (rest // len(fill) + 1))[: rest - 8]
    return ftyp + moov + rest.to_bytes(4, "big") + b"mdat" + body


class RecordingClock(VirtualClock):
    """A VirtualClock that remembers every sleep (so tests can check backoff and schedules)."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        super().sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await super().asleep(seconds)


class CallbackClock(RecordingClock):
    """Virtual time in which a receiver notifies `inbox` of each task at its done time.

    A sleep (sync or async) that spans the next delivery ends there, with the callback
    delivered: what a receiver thread does to a real wait.
    """

    def __init__(self, done_at: dict[str, float]) -> None:
        super().__init__()
        self.done_at = done_at
        self.inbox = CallbackInbox()
        self._due = sorted(done_at.items(), key=lambda kv: kv[1])

    def _until_delivery(self, seconds: float) -> float:
        """How long this sleep really lasts; records it."""
        if self._due and self._due[0][1] <= self.monotonic() + seconds:
            seconds = max(0.0, self._due[0][1] - self.monotonic())
        self.sleeps.append(seconds)
        return seconds

    def _deliver_due(self) -> None:
        while self._due and self._due[0][1] <= self.monotonic():
            self.inbox.notify(self._due.pop(0)[0])

    def sleep(self, seconds: float) -> None:
        VirtualClock.sleep(self, self._until_delivery(seconds))
        self._deliver_due()

    async def asleep(self, seconds: float) -> None:
        await VirtualClock.asleep(self, self._until_delivery(seconds))
        self._deliver_due()


def envelope(data: Any = None, code: int = 200, msg: str = "success") -> dict[str, Any]:
    return {"code": code, "msg": msg, "data": data}


def record(task_id: str = "t1", state: str = "waiting", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "taskId": task_id,
        "model": "kling/v2-1-standard",
        "state": state,
        "param": json.dumps({"model": "kling/v2-1-standard", "input": {"prompt": "p", "image_url": "https://x/i.png"}}),
        "resultJson": "",
        "failCode": None,
        "failMsg": None,
        "costTime": None,
        "completeTime": None,
        "createTime": 1765187766581,
        "updateTime": 1765187766581,
    }
    if state == "success":
        data.update(resultJson=json.dumps({"resultUrls": [RESULT]}), costTime=84000, completeTime=1765187850581)
    if state == "fail":
        data.update(failCode="500", failMsg="Internal server error", completeTime=1765187790581)
    data.update(extra)
    return data


def ok(data: Any = None, status: int = 200, **kw: Any) -> httpx.Response:
    return httpx.Response(status, json=envelope(data), **kw)


@pytest.fixture
def clock() -> RecordingClock:
    return RecordingClock()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def kling(clock: RecordingClock, mock: respx.MockRouter) -> Iterator[Kling]:
    with Kling(api_key=CANARY, base_url=BASE, clock=clock, rng=random.Random(7)) as k:
        yield k


@pytest.fixture
async def akling(clock: RecordingClock, mock: respx.MockRouter) -> Any:
    async with AsyncKling(api_key=CANARY, base_url=BASE, clock=clock, rng=random.Random(7)) as k:
        yield k


# -- against the in-process simulator (money, learned prices, conventions) ---------------------------------------


def simulated(**money: Any) -> Any:
    """An in-process simulator on a VirtualClock with instant timings and the suite's shared video cache;
    `money` are Money's settings (default: a balance of a million credits)."""
    from apikley_kling.simulator import Money, Simulator, Timings

    from ..cli_env import videos

    return Simulator(
        clock=VirtualClock(),
        timings=Timings.instant(),
        video_cache=videos(),
        external_images="placeholder",
        money=Money(**{"credits": 1e6, **money}),
    )


def sim_client(sim: Any, transport: Any = None, cls: type[Any] = Kling, **options: Any) -> Any:
    """A client (`cls`: Kling or AsyncKling) of `sim`, through its in-process transport unless one is given."""
    from apikley_kling.simulator import DEFAULT_API_KEY

    if transport is None:
        transport = sim.sync_transport() if cls is Kling else sim.async_transport()
    return cls(
        api_key=DEFAULT_API_KEY,
        base_url=sim.base_url,
        clock=sim.clock,
        transport=transport,
        rng=random.Random(3),
        **options,
    )
