"""Uploads (type/size first, multipart to /file-upload) and downloads (temp file, rename, length, resume, refresh)."""

from __future__ import annotations

import json
from pathlib import Path

import apikley_kling as ak
import httpx
import pytest
import respx
from apikley_kling import AsyncKling, DownloadProgress, Kling, Task, UploadProgress, load_models

from .conftest import (
    CANARY,
    CREATE,
    DOWNLOAD_URL,
    JPEG,
    PNG,
    QUERY,
    RESULT,
    UPLOAD,
    WEBP,
    RecordingClock,
    mp4,
    ok,
    record,
)

VIDEO = mp4(102400, bytes(range(256)))  # 100 KiB


def upload_ok(url: str = "https://tmp.example/u/abc.png") -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "success": True,
            "code": 200,
            "msg": "File uploaded successfully",
            "data": {
                "fileName": "abc.png",
                "filePath": "apikley-kling/images/abc.png",
                "downloadUrl": url,
                "fileSize": 72,
                "mimeType": "image/png",
                "uploadedAt": "2025-01-01T12:00:00.000Z",
            },
        },
    )


def success_task() -> Task:
    return Task.from_api(record("task_42", "success"))


def parts(files: list[Path]) -> list[str]:
    return sorted(p.name for p in files)


# -- uploads -----------------------------------------------------------------


@pytest.mark.parametrize("content", [PNG, JPEG, WEBP])
def test_upload_multipart_to_file_upload_server(
    kling: Kling, mock: respx.MockRouter, tmp_path: Path, content: bytes
) -> None:
    img = tmp_path / "cat.bin"  # the extension says nothing: the bytes decide
    img.write_bytes(content)
    route = mock.post(UPLOAD).mock(return_value=upload_ok())
    events: list[UploadProgress] = []
    url = kling.files.upload(img, on_progress=events.append)
    assert url == "https://tmp.example/u/abc.png"
    req = route.calls[0].request
    assert req.headers["content-type"].startswith("multipart/form-data")
    body = req.content
    assert content in body and b'name="uploadPath"' in body and b"apikley-kling/images" in body
    assert b"cat.bin" not in body  # a random name: the same name would overwrite someone else's file
    assert events and events[-1].sent == len(content) == events[-1].total


def test_upload_rejects_disguised_file_without_sending(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    fake = tmp_path / "cat.png"
    fake.write_bytes(b"GIF89a" + b"\x00" * 20)
    with pytest.raises(ak.ValidationError) as info:
        kling.files.upload(fake)
    assert info.value.field == "file" and "image/png" in str(info.value)
    assert not mock.calls


def test_upload_rejects_oversized_file_without_sending(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    # the largest file any model's file field takes, from the spec
    limit = max(f.file.max_bytes or 0 for m in load_models().values() for f in m.file_fields if f.file)
    big = tmp_path / "big.png"
    with big.open("wb") as f:
        f.write(PNG)
        f.truncate(limit + 1)
    with pytest.raises(ak.ValidationError, match=str(limit)):
        kling.files.upload(big)
    assert not mock.calls


def test_upload_missing_file(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    with pytest.raises(ak.ValidationError):
        kling.files.upload(tmp_path / "nope.png")
    assert not mock.calls


def test_upload_error_code_and_retry(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    route = mock.post(UPLOAD).mock(
        side_effect=[
            httpx.Response(200, json={"success": False, "code": 500, "msg": "storage down"}),
            upload_ok(),
        ]
    )
    assert kling.files.upload(PNG).startswith("https://")
    assert route.call_count == 2 and len(clock.sleeps) == 1
    # the retried request carried the whole file again
    assert PNG in route.calls[1].request.content


def test_upload_definite_error(kling: Kling, mock: respx.MockRouter) -> None:
    mock.post(UPLOAD).respond(401, json={"code": 401, "msg": "bad key"})
    with pytest.raises(ak.AuthenticationError):
        kling.files.upload(PNG)


def test_create_with_local_image_uploads_first(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    img = tmp_path / "cat.png"
    img.write_bytes(PNG)
    up = mock.post(UPLOAD).mock(return_value=upload_ok("https://tmp.example/u/xyz.png"))
    create = mock.post(CREATE).mock(return_value=ok({"taskId": "t1"}))
    task = kling.tasks.create("a cat", image=img)
    assert up.call_count == 1 and task.id == "t1"
    models = load_models()
    target = models[models.default].image_field
    assert target is not None
    assert json.loads(create.calls[0].request.content)["input"][target.name] == "https://tmp.example/u/xyz.png"


# -- downloads ---------------------------------------------------------------


def test_download_temp_then_rename(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    route = mock.get(RESULT).respond(200, content=VIDEO, headers={"Content-Length": str(len(VIDEO))})
    events: list[DownloadProgress] = []
    out = kling.download(success_task(), tmp_path / "out.mp4", on_progress=events.append)
    assert out == tmp_path / "out.mp4" and out.read_bytes() == VIDEO
    assert parts(list(tmp_path.iterdir())) == ["out.mp4"]  # no temp file left
    assert events[0] == DownloadProgress(received=0, total=None)  # shown before the first byte arrives
    assert events[-1] == DownloadProgress(received=len(VIDEO), total=len(VIDEO))
    assert "authorization" not in route.calls[0].request.headers  # the key never goes to the file host
    assert route.calls[0].request.headers["accept-encoding"] == "identity"  # lengths are the file's own


def test_download_into_directory_uses_task_id_not_url_name(
    kling: Kling, mock: respx.MockRouter, tmp_path: Path
) -> None:
    mock.get(RESULT).respond(200, content=VIDEO)
    out = kling.download(success_task(), tmp_path)
    assert out.name == "task_42.mp4"


def test_download_url_name_never_used(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    evil = "https://files.example.net/r/..%2F..%2Fetc%2Fpasswd"
    mock.get(evil).respond(200, content=VIDEO)
    out = kling.download(evil, tmp_path)
    assert out.parent == tmp_path and out.name == "kling-video.mp4"


def test_download_short_body_resumes_with_range(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    half = len(VIDEO) // 2
    route = mock.get(RESULT).mock(
        side_effect=[
            httpx.Response(200, content=VIDEO[:half], headers={"Content-Length": str(len(VIDEO))}),
            httpx.Response(
                206, content=VIDEO[half:], headers={"Content-Range": f"bytes {half}-{len(VIDEO) - 1}/{len(VIDEO)}"}
            ),
        ]
    )
    out = kling.download(success_task(), tmp_path / "v.mp4")
    assert out.read_bytes() == VIDEO
    assert route.calls[1].request.headers["range"] == f"bytes={half}-"


def test_download_server_ignoring_range_restarts(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    route = mock.get(RESULT).mock(
        side_effect=[
            httpx.Response(200, content=VIDEO[:1000], headers={"Content-Length": str(len(VIDEO))}),
            httpx.Response(200, content=VIDEO, headers={"Content-Length": str(len(VIDEO))}),
        ]
    )
    assert kling.download(success_task(), tmp_path / "v.mp4").read_bytes() == VIDEO
    assert route.call_count == 2


def test_download_transport_error_mid_way_is_retried(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    mock.get(RESULT).mock(side_effect=[httpx.ReadError("reset"), httpx.Response(200, content=VIDEO)])
    assert kling.download(success_task(), tmp_path / "v.mp4").read_bytes() == VIDEO


def test_download_length_mismatch_gives_up_cleanly(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    mock.get(RESULT).respond(200, content=VIDEO[:10], headers={"Content-Length": str(len(VIDEO))})
    with pytest.raises(ak.TransportError, match="of"):
        kling.download(success_task(), tmp_path / "v.mp4")
    assert list(tmp_path.iterdir()) == []  # neither a partial target nor a temp file


def test_download_expired_url_is_refreshed(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    fresh = "https://files.example.net/r/abc/video.mp4?token=new"
    mock.get(fresh).respond(200, content=VIDEO)
    mock.get(RESULT).respond(403, text="<Error>AccessDenied</Error>")
    refresh = mock.post(DOWNLOAD_URL).mock(return_value=ok(fresh))
    out = kling.download(success_task(), tmp_path / "v.mp4")
    assert out.read_bytes() == VIDEO
    assert json.loads(refresh.calls[0].request.content) == {"url": RESULT}
    assert refresh.calls[0].request.headers["authorization"] == f"Bearer {CANARY}"


def test_download_refresh_refused(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    mock.get(RESULT).respond(404)
    mock.post(DOWNLOAD_URL).respond(200, json={"code": 422, "msg": "not our file"})
    with pytest.raises(ak.ValidationError):
        kling.download(success_task(), tmp_path / "v.mp4")
    assert list(tmp_path.iterdir()) == []


def test_download_task_without_result(kling: Kling, tmp_path: Path) -> None:
    with pytest.raises(ak.KlingError) as info:
        kling.download(Task.from_api(record("t3", "generating")), tmp_path / "v.mp4")
    assert info.value.task_id == "t3"


def test_generate_end_to_end(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    img = tmp_path / "cat.webp"
    img.write_bytes(WEBP)
    mock.post(UPLOAD).mock(return_value=upload_ok())
    mock.post(CREATE).mock(return_value=ok({"taskId": "task_42"}))
    mock.get(QUERY).mock(side_effect=[ok(record("task_42", "generating")), ok(record("task_42", "success"))])
    mock.get(RESULT).respond(200, content=VIDEO)
    events: list[object] = []
    task = kling.generate("a cat", image=img, output=tmp_path / "cat.mp4", on_progress=events.append)
    assert task.state is ak.TaskState.SUCCESS and (tmp_path / "cat.mp4").read_bytes() == VIDEO
    kinds = {type(e).__name__ for e in events}
    assert kinds == {"UploadProgress", "TaskUpdate", "DownloadProgress"}


async def test_async_download_resume_and_refresh(akling: AsyncKling, mock: respx.MockRouter, tmp_path: Path) -> None:
    fresh = "https://files.example.net/fresh.mp4"
    mock.get(RESULT).respond(410)
    mock.post(DOWNLOAD_URL).mock(return_value=ok(fresh))
    half = 5000
    mock.get(fresh).mock(
        side_effect=[
            httpx.Response(200, content=VIDEO[:half], headers={"Content-Length": str(len(VIDEO))}),
            httpx.Response(
                206, content=VIDEO[half:], headers={"Content-Range": f"bytes {half}-{len(VIDEO) - 1}/{len(VIDEO)}"}
            ),
        ]
    )
    out = await akling.download(success_task(), tmp_path / "v.mp4")
    assert out.read_bytes() == VIDEO and parts(list(tmp_path.iterdir())) == ["v.mp4"]
    file_calls = [c for c in mock.calls if c.request.url.host == "files.example.net"]
    assert len(file_calls) == 3  # the expired URL, then the fresh one twice (resumed)
    for call in file_calls:
        assert "authorization" not in call.request.headers
        assert call.request.headers["accept-encoding"] == "identity"


async def test_async_upload_and_generate(akling: AsyncKling, mock: respx.MockRouter, tmp_path: Path) -> None:
    mock.post(UPLOAD).mock(return_value=upload_ok())
    mock.post(CREATE).mock(return_value=ok({"taskId": "task_42"}))
    mock.get(QUERY).mock(return_value=ok(record("task_42", "success")))
    mock.get(RESULT).respond(200, content=VIDEO)
    assert (await akling.files.upload(PNG)).startswith("https://")
    task = await akling.generate("a cat", image=PNG, output=tmp_path / "o.mp4")
    assert task.id == "task_42" and (tmp_path / "o.mp4").exists()


def test_a_download_cut_short_without_content_length_is_fetched_again(
    kling: Kling, mock: respx.MockRouter, tmp_path: Path, clock: RecordingClock
) -> None:
    """A server that sends no Content-Length and closes early: 5,000 of the bytes once looked like a whole file."""
    route = mock.get(RESULT).mock(
        side_effect=[httpx.Response(200, content=VIDEO[:5000]), httpx.Response(200, content=VIDEO)]
    )
    out = kling.download(success_task(), tmp_path / "out.mp4")
    assert out.read_bytes() == VIDEO and route.call_count == 2 and len(clock.sleeps) == 1


def test_a_download_that_is_never_a_whole_mp4_never_gets_the_final_name(
    kling: Kling, mock: respx.MockRouter, tmp_path: Path
) -> None:
    mock.get(RESULT).respond(200, content=VIDEO[:5000])
    with pytest.raises(ak.TransportError, match="not a whole MP4") as info:
        kling.download(success_task(), tmp_path / "out.mp4")
    assert "mdat" in str(info.value)  # says which box is cut short
    assert list(tmp_path.iterdir()) == []  # no final file, no temp file left behind
    mock.get(RESULT).respond(200, content=b"<html>an error page with HTTP 200</html>")
    with pytest.raises(ak.TransportError, match="not an MP4"):
        kling.download(success_task(), tmp_path / "out.mp4")
