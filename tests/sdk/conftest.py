"""Fixtures for the SDK tests: a canary key, a recording virtual clock, respx-mocked service."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from apikley_kling import AsyncKling, Kling, VirtualClock

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
