"""Every request the SDK sends is what spec/openapi.yaml allows.

The SDK (apikley_kling.Kling / AsyncKling) runs against a respx-mocked API
whose every intercepted request is validated (`spec_respx`); a violation fails
the test at teardown even when the SDK swallowed the answer.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

try:
    import apikley_kling.client  # noqa: F401
except ModuleNotFoundError as exc:  # only the SDK module itself being absent is a reason to skip
    if exc.name != "apikley_kling.client":
        raise
    pytest.skip(
        "apikley_kling.client (the SDK) does not exist yet; these tests are written against docs/INTERFACES.md",
        allow_module_level=True,
    )

from apikley_kling import AsyncKling, Kling, VirtualClock

from .spec_validation import DEFAULT_BASE, SpecRecordingRouter

KEY = "sk-contract"
FILES = "https://tempfile.example"
# A real PNG header: the SDK sniffs image types from the bytes.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# The smallest whole MP4 by its boxes (downloads are checked for that): ftyp, moov, mdat.
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 12 + b"\x00\x00\x00\x08moov" + b"\x00\x00\x00\xc8mdat" + b"\x00" * 192


class FakeApi:
    """Just enough of the service, mounted on a recording router."""

    def __init__(self, router: SpecRecordingRouter) -> None:
        self.router = router
        self.created: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        router.post(router.api("/api/v1/jobs/createTask")).mock(side_effect=self._create)
        router.get(router.api("/api/v1/jobs/recordInfo")).mock(side_effect=self._query)
        router.get(router.api("/api/v1/chat/credit")).respond(200, json={"code": 200, "msg": "success", "data": 99.5})
        router.post(router.api("/api/v1/common/download-url")).mock(side_effect=self._download_url)
        for kind in ("stream", "base64", "url"):
            router.post(router.api(f"/file-upload/api/file-{kind}-upload")).mock(side_effect=self._upload)
        router.get(url__startswith=FILES).mock(side_effect=self._file)

    def _create(self, request: httpx.Request) -> httpx.Response:
        task_id = f"task_contract_{next(self._ids)}"
        self.created[task_id] = json.loads(request.content)
        return httpx.Response(200, json={"code": 200, "msg": "success", "data": {"taskId": task_id}})

    def _query(self, request: httpx.Request) -> httpx.Response:
        task_id = request.url.params["taskId"]
        if task_id not in self.created:
            return httpx.Response(200, json={"code": 404, "msg": "Task not found"})
        data = {
            "taskId": task_id,
            "model": "kling/v2-1-standard",
            "state": "success",
            "param": json.dumps(self.created[task_id]),
            "resultJson": json.dumps({"resultUrls": [f"{FILES}/r/{task_id}.mp4"]}),
            "failCode": None,
            "failMsg": None,
            "costTime": 84000,
            "completeTime": 1765187850581,
            "createTime": 1765187766581,
            "updateTime": 1765187850581,
        }
        return httpx.Response(200, json={"code": 200, "msg": "success", "data": data})

    def _download_url(self, request: httpx.Request) -> httpx.Response:
        url = json.loads(request.content)["url"]
        return httpx.Response(200, json={"code": 200, "msg": "success", "data": f"{url}?token=contract"})

    def _upload(self, request: httpx.Request) -> httpx.Response:
        data = {
            "fileName": "a.png",
            "filePath": "apikley-kling/images/a.png",
            "downloadUrl": f"{FILES}/u/a.png",
            "fileSize": len(PNG),
            "mimeType": "image/png",
            "uploadedAt": "2025-01-01T12:00:00.000Z",
        }
        return httpx.Response(200, json={"success": True, "code": 200, "msg": "ok", "data": data})

    def _file(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=MP4, headers={"content-type": "video/mp4"})

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.router.checked if r.url.path == path]


@pytest.fixture
def api(spec_respx: SpecRecordingRouter) -> FakeApi:
    return FakeApi(spec_respx)


@pytest.fixture
def kling() -> Iterator[Kling]:
    client = Kling(api_key=KEY, base_url=DEFAULT_BASE, clock=VirtualClock(), max_retries=0)
    yield client
    close = getattr(client, "close", None)
    if close is not None:
        close()


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "frame.png"
    path.write_bytes(PNG)
    return path


CREATE_OPTIONS: dict[str, dict[str, Any]] = {
    "minimal": {},
    "duration-5": {"duration": 5},
    "duration-10": {"duration": 10},
    "negative-prompt": {"negative_prompt": "blur, distort"},
    "cfg-0": {"cfg_scale": 0.0},
    "cfg-1": {"cfg_scale": 1.0},
    "cfg-0.7": {"cfg_scale": 0.7},
    "callback": {"callback_url": "https://example.com/hooks/kling"},
    "long-prompt": {"prompt": "p" * 5000, "negative_prompt": "n" * 500},
    "everything": {
        "duration": 10,
        "negative_prompt": "blur",
        "cfg_scale": 0.2,
        "callback_url": "https://example.com/cb?x=1",
    },
}


@pytest.mark.parametrize("name", sorted(CREATE_OPTIONS))
def test_create_with_each_option(api: FakeApi, kling: Kling, name: str) -> None:
    options = {"prompt": "A cat walks", "image_url": "https://example.com/cat.png", **CREATE_OPTIONS[name]}
    task = kling.tasks.create(**options)
    [sent] = api.created.values()
    assert task.id in api.created
    assert sent["model"] == "kling/v2-1-standard"
    assert sent["input"]["prompt"] == options["prompt"]
    assert sent["input"]["image_url"] == options["image_url"]
    if "duration" in options:
        assert sent["input"]["duration"] == str(options["duration"])
    if "callback_url" in options:
        assert sent["callBackUrl"] == options["callback_url"]
    assert len(api.router.checked) >= 1


def test_create_from_a_local_image_uploads_first(api: FakeApi, kling: Kling, image: Path) -> None:
    kling.tasks.create(prompt="A cat walks", image=image)
    uploads = [r for r in api.router.checked if r.url.path.startswith("/file-upload/")]
    assert uploads, "a local image must be uploaded before createTask"
    [sent] = api.created.values()
    assert sent["input"]["image_url"] == f"{FILES}/u/a.png"


def test_query_wait_credits(api: FakeApi, kling: Kling) -> None:
    created = kling.tasks.create(prompt="A cat walks", image_url="https://example.com/cat.png")
    got = kling.tasks.get(created.id)
    assert got.id == created.id
    done = kling.tasks.wait(created.id, timeout=60)
    assert done.video_url == f"{FILES}/r/{created.id}.mp4"
    assert kling.credits() == 99.5
    queries = api.calls("/api/v1/jobs/recordInfo")
    assert len(queries) >= 2
    assert all(q.url.params["taskId"] == created.id for q in queries)
    assert len(api.calls("/api/v1/chat/credit")) == 1


def test_uploads(api: FakeApi, kling: Kling, image: Path) -> None:
    assert kling.files.upload(image) == f"{FILES}/u/a.png"
    assert kling.files.upload(PNG, file_name="b.png") == f"{FILES}/u/a.png"
    assert len([r for r in api.router.checked if r.url.path.startswith("/file-upload/")]) == 2


def test_download_and_generate(api: FakeApi, kling: Kling, image: Path, tmp_path: Path) -> None:
    task = kling.generate(prompt="A cat walks", image=image, output=tmp_path / "out.mp4", duration=10)
    assert (tmp_path / "out.mp4").read_bytes() == MP4
    again = kling.download(task, tmp_path / "again.mp4")
    assert Path(again).read_bytes() == MP4
    # What left for the result host is not an API call, and is not validated.
    assert api.router.unchecked
    assert all(str(r.url).startswith(FILES) for r in api.router.unchecked)


def test_download_url(api: FakeApi, kling: Kling) -> None:
    url = f"{FILES}/r/task_contract_1.mp4"
    assert kling.files.download_url(url) == f"{url}?token=contract"
    [sent] = api.calls("/api/v1/common/download-url")
    assert json.loads(sent.content) == {"url": url}


async def test_async_client_sends_valid_requests(api: FakeApi, image: Path, tmp_path: Path) -> None:
    kling = AsyncKling(api_key=KEY, base_url=DEFAULT_BASE, clock=VirtualClock(), max_retries=0)
    try:
        task = await kling.tasks.create(
            prompt="A cat walks", image=image, duration=10, negative_prompt="blur", cfg_scale=0.9
        )
        await kling.tasks.get(task.id)
        done = await kling.tasks.wait(task.id, timeout=60)
        assert done.video_url
        assert await kling.credits() == 99.5
        await kling.download(done, tmp_path / "v.mp4")
        assert await kling.files.download_url(done.video_url) == f"{done.video_url}?token=contract"
        assert await kling.files.upload(PNG) == f"{FILES}/u/a.png"
    finally:
        aclose = getattr(kling, "aclose", None)
        if aclose is not None:
            await aclose()
    assert api.created[task.id]["input"]["duration"] == "10"
    assert {r.url.path for r in api.router.checked} >= {
        "/api/v1/jobs/createTask",
        "/api/v1/jobs/recordInfo",
        "/api/v1/chat/credit",
        "/api/v1/common/download-url",
        "/file-upload/api/file-stream-upload",
    }


def test_planted_fault_an_sdk_request_with_duration_7_is_caught(monkeypatch: pytest.MonkeyPatch, kling: Kling) -> None:
    # The SDK's own request, spoiled on its way out as a serializer bug would
    # spoil it; the recorder (not the SDK, not the mock) must notice.
    real_send = httpx.Client.send

    def spoiling_send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        if request.url.path.endswith("/createTask"):
            body = json.loads(request.content)
            body["input"]["duration"] = "7"
            request = httpx.Request(request.method, request.url, headers=request.headers, json=body)
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", spoiling_send)
    with SpecRecordingRouter(DEFAULT_BASE) as router:
        FakeApi(router)
        kling.tasks.create(prompt="A cat walks", image_url="https://example.com/cat.png")
    assert len(router.violations) == 1
    assert "duration" in router.violations[0] and "'7'" in router.violations[0]
