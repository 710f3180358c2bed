"""Uploads of each kind, file serving with Range, expiry, and download-url."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest
from apikley_kling.clock import VirtualClock
from apikley_kling.simulator import Limits, Simulator
from conftest import (
    AUTH,
    BASE64,
    STREAM,
    URL_UPLOAD,
    assert_matches_spec,
    create,
    create_body,
    image_field,
    picture,
    record,
    upload,
)

DOWNLOAD_URL = "/api/v1/common/download-url"


def test_stream_upload_answer_and_download(client: httpx.Client) -> None:
    data = picture(64, 48)
    response = client.post(STREAM, files={"file": ("cat.png", data, "image/png")}, data={"uploadPath": "images/u"})
    assert_matches_spec(response)
    body = response.json()
    assert body["success"] is True and body["code"] == 200
    info = body["data"]
    assert info["fileName"] == "cat.png"
    assert info["filePath"] == "images/u/cat.png"
    assert info["fileSize"] == len(data)
    assert info["mimeType"] == "image/png"
    assert info["uploadedAt"].endswith("Z")
    got = client.get(info["downloadUrl"])
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/png"
    assert got.headers["accept-ranges"] == "bytes"


def test_stream_upload_same_name_overwrites_and_file_name_field_wins(client: httpx.Client) -> None:
    first = upload(client, picture(10, 10), name="same.png")
    second = upload(client, picture(20, 20), name="same.png")
    assert first == second
    assert client.get(first).content == picture(20, 20)
    response = client.post(
        STREAM,
        files={"file": ("ignored.png", picture(8, 8), "image/png")},
        data={"uploadPath": "a", "fileName": "chosen.png"},
    )
    assert response.json()["data"]["fileName"] == "chosen.png"


def test_stream_upload_validation(client: httpx.Client) -> None:
    no_path = client.post(STREAM, files={"file": ("a.png", picture(8, 8), "image/png")}).json()
    assert (no_path["success"], no_path["code"], no_path["msg"]) == (False, 422, "uploadPath: is required")
    no_file = client.post(STREAM, data={"uploadPath": "x"}, files={"other": ("a", b"1")}).json()
    assert no_file["msg"] == "file: is required"
    slash = client.post(STREAM, files={"file": ("a.png", b"x")}, data={"uploadPath": "/lead"}).json()
    # The rule is the spec's uploadPath pattern, so the message quotes it.
    assert slash["msg"].startswith("uploadPath: '/") and "does not match" in slash["msg"]


@pytest.mark.parametrize("as_data_url", [False, True])
def test_base64_upload(client: httpx.Client, as_data_url: bool) -> None:
    data = picture(32, 32, "JPEG")
    encoded = base64.b64encode(data).decode()
    if as_data_url:
        encoded = "data:image/jpeg;base64," + encoded
    response = client.post(BASE64, json={"base64Data": encoded, "uploadPath": "images/b64", "fileName": "x.jpg"})
    assert_matches_spec(response)
    info = response.json()["data"]
    assert (info["mimeType"], info["fileSize"]) == ("image/jpeg", len(data))
    assert client.get(info["downloadUrl"]).content == data


def test_base64_upload_rejects_garbage(client: httpx.Client) -> None:
    answer = client.post(BASE64, json={"base64Data": "!!!not base64", "uploadPath": "p"}).json()
    assert (answer["code"], answer["msg"]) == (422, "base64Data: not valid base64")
    assert client.post(BASE64, json={"uploadPath": "p"}).json()["msg"] == "base64Data: is required"


def test_url_upload_fetches_only_own_urls(client: httpx.Client, sim: Simulator) -> None:
    source = upload(client, picture(16, 16))
    response = client.post(URL_UPLOAD, json={"fileUrl": source, "uploadPath": "copies", "fileName": "copy.png"})
    assert_matches_spec(response)
    copy = response.json()["data"]
    assert copy["downloadUrl"] != source
    assert client.get(copy["downloadUrl"]).content == picture(16, 16)
    foreign = client.post(URL_UPLOAD, json={"fileUrl": "https://example.com/a.png", "uploadPath": "p"}).json()
    assert (foreign["success"], foreign["code"]) == (False, 422)
    assert foreign["msg"].startswith("fileUrl: cannot fetch")


def test_files_expire_on_the_clock(make_sim: Callable[..., Simulator], clock: VirtualClock) -> None:
    sim = make_sim(limits=Limits(file_ttl=60.0))
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        url = upload(c)
        clock.advance(59)
        assert c.get(url).status_code == 200
        clock.advance(1)
        assert c.get(url).status_code == 404
        answer = c.post("/api/v1/jobs/createTask", json=create_body(url))
        assert answer.json()["msg"].startswith(f"input.{image_field().name}: cannot fetch")


def test_range_requests(client: httpx.Client) -> None:
    data = picture(100, 100)
    url = upload(client, data)
    size = len(data)
    part = client.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == data[10:20]
    assert part.headers["content-length"] == "10"
    assert part.headers["content-range"] == f"bytes 10-19/{size}"
    tail = client.get(url, headers={"Range": "bytes=-5"})
    assert (tail.status_code, tail.content) == (206, data[-5:])
    rest = client.get(url, headers={"Range": f"bytes={size - 3}-"})
    assert (rest.status_code, rest.content) == (206, data[-3:])
    beyond = client.get(url, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"
    head = client.head(url)
    assert (head.status_code, head.headers["content-length"], head.content) == (200, str(size), b"")
    assert client.get(url + "x").status_code == 404


def test_download_url_for_results_only_and_expires(sim: Simulator, client: httpx.Client, clock: VirtualClock) -> None:
    task_id = create(client, upload(client))
    sim.advance(3600)
    import json

    result_url = json.loads(record(client, task_id)["resultJson"])["resultUrls"][0]
    response = client.post(DOWNLOAD_URL, json={"url": result_url})
    assert_matches_spec(response)
    temporary = response.json()["data"]
    assert temporary.startswith(result_url + "?token=")
    assert client.head(temporary).status_code == 200
    foreign = client.post(DOWNLOAD_URL, json={"url": "https://example.com/x.mp4"}).json()
    assert foreign["code"] == 422
    assert client.post(DOWNLOAD_URL, json={}).json()["msg"] == "url: is required"
    clock.advance(sim.limits.download_url_ttl)
    assert client.head(temporary).status_code == 404
    assert client.head(result_url).status_code == 200


def test_results_are_unavailable_before_success_and_after_their_ttl(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(limits=Limits(result_ttl=100.0))
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        task_id = create(c, upload(c))
        url = sim.result_url(sim.task(task_id))
        assert url is not None
        assert c.head(url).status_code == 404  # not generated yet
        sim.advance(24 + 99)
        assert c.head(url).status_code == 200
        sim.advance(1)
        assert c.head(url).status_code == 404
