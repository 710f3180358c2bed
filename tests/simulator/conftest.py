"""Helpers for the simulator's own tests: an in-process client, small test images and sounds, the catalog."""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from apikley_kling.catalog import Field, Model, models
from apikley_kling.clock import VirtualClock
from apikley_kling.simulator import DEFAULT_API_KEY, Delivery, Simulator, VideoCache
from PIL import Image, ImageDraw

AUTH = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
CREATE = "/api/v1/jobs/createTask"
RECORD = "/api/v1/jobs/recordInfo"
STREAM = "/file-upload/api/file-stream-upload"
BASE64 = "/file-upload/api/file-base64-upload"
URL_UPLOAD = "/file-upload/api/file-url-upload"

MODELS = models()
DEFAULT: Model = MODELS[MODELS.default]


def image_field(model: Model = DEFAULT) -> Field:
    found = model.image_field
    assert found is not None, f"{model.id} has no image field"
    return found


def picture(width: int = 800, height: int = 600, fmt: str = "PNG") -> bytes:
    """Gradients and shapes, so that a PSNR against it means something."""
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for y in range(height):
        draw.line([(0, y), (width, y)], fill=(y * 255 // height, 90, 255 - y * 255 // height))
    draw.ellipse((width // 8, height // 6, width // 2, height // 2 + height // 6), fill=(250, 200, 0))
    draw.rectangle((width // 2, height // 2, width - width // 8, height - height // 10), fill=(20, 170, 70))
    draw.line([(0, height - 1), (width - 1, 0)], fill=(255, 255, 255), width=5)
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def sound(seconds: float = 0.2, rate: int = 8000) -> bytes:
    """A short WAV tone: a file that audio fields accept and image fields refuse."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        samples = (round(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(seconds * rate)))
        w.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return out.getvalue()


class Captured:
    """A sender that records deliveries instead of posting them."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    def __call__(self, delivery: Delivery) -> int:
        self.deliveries.append(delivery)
        return 200


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def captured() -> Captured:
    return Captured()


@pytest.fixture(scope="session")
def video_cache() -> VideoCache:
    """One cache for the session: each (image, duration) is encoded once across all tests."""
    return VideoCache()


@pytest.fixture
def make_sim(clock: VirtualClock, captured: Captured, video_cache: VideoCache) -> Iterator[Callable[..., Simulator]]:
    made: list[Simulator] = []

    def make(**options: Any) -> Simulator:
        options.setdefault("clock", clock)
        options.setdefault("sender", captured)
        options.setdefault("video_cache", video_cache)
        sim = Simulator(**options)
        made.append(sim)
        return sim

    yield make
    for sim in made:
        sim.close()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim()


@pytest.fixture
def client(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        yield c


def upload(client: httpx.Client, data: bytes | None = None, name: str = "pic.png", path: str = "images/test") -> str:
    response = client.post(
        STREAM, files={"file": (name, data if data is not None else picture(), "image/png")}, data={"uploadPath": path}
    )
    body = response.json()
    assert body["code"] == 200, body
    url: str = body["data"]["downloadUrl"]
    return url


def create_body(image_url: str, **input_fields: Any) -> dict[str, Any]:
    """A create of the default model: a prompt, the image in its image field, and any other input fields."""
    return {
        "model": DEFAULT.id,
        "input": {"prompt": "The light turns slowly", image_field().name: image_url, **input_fields},
    }


def create(client: httpx.Client, image_url: str, callback: str | None = None, **input_fields: Any) -> str:
    body = create_body(image_url, **input_fields)
    if callback is not None:
        body["callBackUrl"] = callback
    answer = client.post(CREATE, json=body).json()
    assert answer["code"] == 200, answer
    task_id: str = answer["data"]["taskId"]
    return task_id


def record(client: httpx.Client, task_id: str) -> dict[str, Any]:
    answer = client.get(RECORD, params={"taskId": task_id}).json()
    assert answer["code"] == 200, answer
    data: dict[str, Any] = answer["data"]
    return data


_OPENAPI: Any = None


def assert_matches_spec(response: httpx.Response) -> None:
    """openapi-core checks the answer against the bundled spec (independently of the simulator's own loader)."""
    global _OPENAPI
    from apikley_kling.catalog import load_spec
    from openapi_core import OpenAPI
    from openapi_core.testing import MockRequest, MockResponse

    if _OPENAPI is None:
        _OPENAPI = OpenAPI.from_dict(load_spec())
    # The upload routes live under a path-level server (<base>/file-upload): the full path matches it.
    path = response.request.url.path
    host = "https://api.apikley.ru"
    request = MockRequest(host, response.request.method.lower(), path, args=dict(response.request.url.params))
    mock = MockResponse(response.content, status_code=response.status_code, content_type="application/json")
    _OPENAPI.validate_response(request, mock)
