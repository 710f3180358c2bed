"""The task query's own path: a success answer decoded once, from its JSON; its URL made once per task.

What a query returns and raises is the same as through the generated parse (test_sdk_parse, test_sdk_errors);
these tests pin the shortcuts themselves, and that anything but a plain success still takes the long way.
"""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import parse_qs, urlsplit

import apikley_kling as ak
import httpx
import pytest
from apikley_kling import AsyncKling, Kling, TaskState
from apikley_kling._client import calls
from apikley_kling_api.models import TaskRecord, TaskRecordSuccess

from .conftest import BASE, CANARY, envelope, record


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the generated model was asked to decode a plain success")


def _answering(body: bytes, seen: list[httpx.Request], status: int = 200) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=body, headers={"content-type": "application/json"})

    return httpx.MockTransport(handler)


def _odd_record() -> dict[str, Any]:
    """A success record with fields this version does not know, and values the generated model would not check."""
    return record("t1", "generating", progress=37, newField={"nested": [1, 2.5, None, "x"]}, costTime=None)


@pytest.mark.parametrize("cls", [Kling, AsyncKling])
def test_a_success_is_read_from_its_json_once(cls: type[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TaskRecordSuccess, "from_dict", classmethod(_refuse))
    monkeypatch.setattr(TaskRecord, "to_dict", _refuse)
    data = _odd_record()
    body = json.dumps(envelope(data)).encode()
    seen: list[httpx.Request] = []
    client = cls(api_key=CANARY, base_url=BASE, transport=_answering(body, seen))
    if cls is Kling:
        with client:
            task = client.tasks.get("t1")
    else:

        async def run() -> Any:
            async with client:
                return await client.tasks.get("t1")

        import asyncio

        task = asyncio.run(run())
    assert task.id == "t1" and task.state is TaskState.GENERATING and task.progress == 37
    assert task.raw == data  # every field as the service sent it, the unknown one too
    assert list(task.raw) == list(data)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, b'{"code": 200, "msg": "success"}', ak.ProtocolError),  # success without data
        (200, b'{"code": 200, "msg": "ok", "data": "t1"}', ak.ProtocolError),  # data not an object
        (200, b"<html>busy</html>", ak.ProtocolError),
        (200, b'{"code": true, "data": {}}', ak.ProtocolError),
        (200, b'{"code": 401, "msg": "bad key"}', ak.AuthenticationError),
        (200, json.dumps(envelope(record("t2"))).encode(), ak.ProtocolError),  # another task's answer
        (404, json.dumps(envelope(record("t1"))).encode(), ak.ProtocolError),  # HTTP error, body says success
    ],
)
def test_anything_but_a_plain_success_is_still_refused(status: int, body: bytes, error: type[Exception]) -> None:
    seen: list[httpx.Request] = []
    with (
        Kling(api_key=CANARY, base_url=BASE, transport=_answering(body, seen, status), max_retries=0) as kling,
        pytest.raises(error),
    ):
        kling.tasks.get("t1")


def test_the_query_url_is_made_once_per_task() -> None:
    seen: list[httpx.Request] = []
    body = json.dumps(envelope(record("a b&c/é"))).encode()
    with Kling(api_key=CANARY, base_url=BASE, transport=_answering(body, seen)) as kling:
        sent: list[dict[str, Any]] = []
        request = kling._http.request
        kling._http.request = lambda **kw: sent.append(kw) or request(**kw)  # type: ignore[method-assign]
        kling.tasks.get("a b&c/é")
        kling.tasks.get("a b&c/é")
        kling.tasks.get("a b&c/é", extra_query={"x": "1", "many": ["2", "3"]})
    # The query is in the URL, made once: httpx neither parses nor encodes it again on each request.
    assert "params" not in sent[0] and sent[1]["url"] is sent[0]["url"]
    first, second, extra = seen
    assert second.url == first.url
    assert parse_qs(urlsplit(str(first.url)).query) == {"taskId": ["a b&c/é"]}
    assert parse_qs(urlsplit(str(extra.url)).query) == {"taskId": ["a b&c/é"], "x": ["1"], "many": ["2", "3"]}


def test_the_kept_urls_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calls, "URLS_KEPT", 8)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope(record(request.url.params["taskId"])))

    with Kling(api_key=CANARY, base_url=BASE, transport=httpx.MockTransport(handler), rng=random.Random(1)) as kling:
        for i in range(30):
            assert kling.tasks.get(f"t{i}").id == f"t{i}"
        assert len(kling._urls) <= 8
    assert [r.url.params["taskId"] for r in seen] == [f"t{i}" for i in range(30)]
