"""The Stainless-style handles on both shells: with_options, per-request extra_*, with_raw_response,
with_streaming_response, APIKLEY_LOG. Requests are checked as sent (a recording transport in front of the
simulator, or httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from apikley_kling import AsyncKling, Kling, ServerError, Task, VirtualClock
from apikley_kling.catalog import models
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator

from .conftest import BASE, CANARY, QUERY, ok, record, sim_client, simulated

CATALOG = models()
MODEL = CATALOG[CATALOG.default]
UNKNOWN_FIELD = "field_the_spec_does_not_know"
assert all(UNKNOWN_FIELD not in {f.name for f in m.fields} for m in CATALOG.values())


class Recording(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Records each request, then hands it to the simulator's transport."""

    def __init__(self, sim: Simulator) -> None:
        self.sent: list[httpx.Request] = []
        self._sync, self._async = sim.sync_transport(), sim.async_transport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return self._sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await self._async.handle_async_request(request)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    s = simulated()
    yield s
    s.close()


def _client(cls: type[Any], sim: Simulator, transport: Recording) -> Any:
    return sim_client(sim, transport, cls)


def _run(value: Any) -> Any:
    """A sync call's value as is; an async call's awaited."""
    if asyncio.iscoroutine(value):
        return asyncio.run(value)
    return value


SHELLS = [Kling, AsyncKling]


@pytest.mark.parametrize("cls", SHELLS)
def test_extra_headers_query_body_are_sent(cls: type[Any], sim: Simulator) -> None:
    rec = Recording(sim)
    kling = _client(cls, sim, rec)
    extra = {"X-Trace": "t-1"}
    task = _run(
        kling.tasks.create(
            model=MODEL.id,
            **MODEL.sample_input(),
            extra_headers=extra,
            extra_query={"trace": "1"},
            extra_body={UNKNOWN_FIELD: 7},
        )
    )
    create = rec.sent[-1]
    assert create.headers["x-trace"] == "t-1" and create.url.params["trace"] == "1"
    sent = json.loads(create.content)
    assert sent["input"][UNKNOWN_FIELD] == 7  # merged into `input`, beside the checked fields
    assert all(sent["input"][k] == v for k, v in MODEL.sample_input().items())
    _run(kling.tasks.get(task.id, extra_headers={"X-Other": "2"}, extra_query={"a": "b"}))
    query = rec.sent[-1]
    assert query.headers["x-other"] == "2" and query.url.params["a"] == "b"
    assert query.url.params["taskId"] == task.id  # the generated parameters stay
    _run(kling.credits(extra_headers={"X-C": "3"}))
    assert rec.sent[-1].headers["x-c"] == "3"
    before = len(rec.sent)
    _run(kling.credits())
    assert "x-c" not in rec.sent[before].headers  # options are one call's only


@pytest.mark.parametrize("cls", SHELLS)
def test_per_call_timeout_reaches_the_transport(cls: type[Any], sim: Simulator) -> None:
    rec = Recording(sim)
    kling = _client(cls, sim, rec)
    _run(kling.credits(timeout=3.5))
    assert rec.sent[-1].extensions["timeout"] == httpx.Timeout(3.5).as_dict()
    _run(kling.credits())
    assert rec.sent[-1].extensions["timeout"] != httpx.Timeout(3.5).as_dict()


@pytest.mark.parametrize("cls", SHELLS)
def test_with_options_copies_and_leaves_the_original(cls: type[Any], sim: Simulator) -> None:
    rec = Recording(sim)
    kling = _client(cls, sim, rec)
    fast = kling.with_options(timeout=2.0, max_retries=0)
    assert type(fast) is cls and fast is not kling
    assert fast._core.retry.max_retries == 0 and kling._core.retry.max_retries == 4
    assert fast._http is kling._http and fast._core.engine.pacer is kling._core.engine.pacer  # one pool, one budget
    assert fast._core.tasks.spend is kling._core.tasks.spend
    _run(fast.credits())
    assert rec.sent[-1].extensions["timeout"] == httpx.Timeout(2.0).as_dict()
    _run(fast.tasks.get(_run(fast.tasks.create(model=MODEL.id, **MODEL.sample_input())).id))
    assert rec.sent[-1].extensions["timeout"] == httpx.Timeout(2.0).as_dict()  # resources belong to the copy
    _run(kling.credits())
    assert rec.sent[-1].extensions["timeout"] != httpx.Timeout(2.0).as_dict()
    assert fast.with_options(timeout=9.0)._core.retry.max_retries == 0  # options stack


def _failing(count: list[int]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        count.append(1)
        return httpx.Response(500, json={"code": 500, "msg": "boom", "data": None})

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("cls", SHELLS)
def test_with_options_max_retries_reaches_the_retry_loop(cls: type[Any]) -> None:
    count: list[int] = []
    kling = cls(api_key=CANARY, base_url=BASE, clock=VirtualClock(), transport=_failing(count), max_retries=3)
    with pytest.raises(ServerError):
        _run(kling.with_options(max_retries=1).tasks.get("t1"))
    assert len(count) == 2
    count.clear()
    with pytest.raises(ServerError):
        _run(kling.tasks.get("t1"))
    assert len(count) == 4  # the original keeps its 3 retries


@pytest.mark.parametrize("cls", SHELLS)
def test_with_raw_response(cls: type[Any], sim: Simulator) -> None:
    rec = Recording(sim)
    kling = _client(cls, sim, rec)
    raw = _run(kling.tasks.with_raw_response.create(model=MODEL.id, **MODEL.sample_input()))
    task = raw.parse()
    assert isinstance(task, Task) and raw.status_code == 200 and raw.retries_taken == 0
    assert raw.http_request.method == "POST" and raw.http_request.url.endswith("/api/v1/jobs/createTask")
    assert raw.http_request.headers["authorization"] == "***" and DEFAULT_API_KEY not in repr(raw.http_request)
    got = _run(kling.tasks.with_raw_response.get(task.id))
    assert got.parse().id == task.id and got.json()["data"]["taskId"] == task.id
    assert got.headers["content-type"].startswith("application/json")
    credits = _run(kling.with_raw_response.credits())
    assert credits.parse() == credits.json()["data"]
    url = _run(kling.files.with_raw_response.upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, file_name="a.png"))
    assert url.status_code == 200 and url.parse().startswith("http")


@pytest.mark.parametrize("cls", SHELLS)
def test_raw_response_counts_retries(cls: type[Any]) -> None:
    answers = iter([httpx.Response(503, json={}), ok(record("t1"), headers={"x-request-id": "r-2"})])
    transport = httpx.MockTransport(lambda request: next(answers))
    kling = cls(api_key=CANARY, base_url=BASE, clock=VirtualClock(), transport=transport)
    raw = _run(kling.tasks.with_raw_response.get("t1"))
    assert raw.retries_taken == 1 and raw.headers["x-request-id"] == "r-2" and raw.parse().id == "t1"
    assert str(raw.http_response.url).startswith(QUERY)


def _finished(kling: Any, sim: Simulator) -> Task:
    task = _run(kling.tasks.create(model=MODEL.id, **MODEL.sample_input()))
    sim.advance(3600)
    done: Task = _run(kling.tasks.wait(task.id))
    return done


def test_streaming_download_sync(sim: Simulator) -> None:
    rec = Recording(sim)
    kling = _client(Kling, sim, rec)
    task = _finished(kling, sim)
    with kling.with_streaming_response.download(task, extra_headers={"X-D": "1"}, timeout=5.0) as r:
        assert r.status_code == 200 and int(r.headers["content-length"]) > 0
        body = b"".join(r.iter_bytes())
    assert body == sim.result_video(task.id)
    assert rec.sent[-1].headers["x-d"] == "1" and "authorization" not in rec.sent[-1].headers


def test_streaming_download_async(sim: Simulator) -> None:
    rec = Recording(sim)
    kling = _client(AsyncKling, sim, rec)

    async def main() -> tuple[int, bytes, Task]:
        task = _finished_async = await kling.tasks.create(model=MODEL.id, **MODEL.sample_input())
        sim.advance(3600)
        task = await kling.tasks.wait(_finished_async.id)
        async with kling.with_streaming_response.download(task) as r:
            body = b"".join([c async for c in r.iter_bytes()])
            return r.status_code, body, task

    status, body, task = asyncio.run(main())
    assert status == 200 and body == sim.result_video(task.id)


@pytest.mark.parametrize("cls", SHELLS)
def test_streaming_download_refusal_raises(cls: type[Any]) -> None:
    from apikley_kling import NotFoundError

    transport = httpx.MockTransport(lambda request: httpx.Response(404))
    kling = cls(api_key=CANARY, base_url=BASE, transport=transport)
    url = "http://127.0.0.1:9/video.mp4"
    kling._loopback_api = True  # the test's URL is on loopback; a real API's result URLs are checked as public

    if cls is Kling:
        with pytest.raises(NotFoundError), kling.with_streaming_response.download(url):
            pass
    else:

        async def main() -> None:
            async with kling.with_streaming_response.download(url):
                pass

        with pytest.raises(NotFoundError):
            asyncio.run(main())


@pytest.fixture
def log_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """APIKLEY_LOG changes process-wide logging: undone after the test (other tests capture stderr)."""
    from apikley_kling import _logging

    names = ("apikley_kling", "httpx")
    for name in names:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.getLogger(name).level)
    monkeypatch.setattr(_logging, "_stderr", None)
    yield
    handler = _logging._stderr
    for name in names:
        if handler is not None and handler in logging.getLogger(name).handlers:
            logging.getLogger(name).removeHandler(handler)


@pytest.mark.usefixtures("log_state")
@pytest.mark.parametrize("cls", SHELLS)
@pytest.mark.parametrize("level", ["info", "debug"])
def test_apikley_log_turns_logging_on_with_the_key_redacted(
    cls: type[Any], level: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sdk = logging.getLogger("apikley_kling")
    monkeypatch.setenv("APIKLEY_LOG", level.upper())
    count: list[int] = []
    kling = cls(api_key=CANARY, base_url=BASE, clock=VirtualClock(), transport=_failing(count), max_retries=1)
    with pytest.raises(ServerError):
        _run(kling.tasks.get("t1"))
    sdk.info("key %s", CANARY)  # even a line that holds the key is printed without it
    err = capsys.readouterr().err
    assert "retry 1/1" in err and "***" in err and CANARY not in err
    assert sdk.getEffectiveLevel() == (logging.DEBUG if level == "debug" else logging.INFO)
    assert ("HTTP Request" in err) == (level == "debug")


@pytest.mark.usefixtures("log_state")
def test_without_apikley_log_nothing_is_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from apikley_kling import _logging

    monkeypatch.delenv("APIKLEY_LOG", raising=False)
    count: list[int] = []
    kling = Kling(api_key=CANARY, base_url=BASE, clock=VirtualClock(), transport=_failing(count), max_retries=1)
    with pytest.raises(ServerError):
        kling.tasks.get("t1")
    assert _logging._stderr is None and "retry" not in capsys.readouterr().err


def test_readme_and_changelog_show_the_handles() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    section = (root / "README.md").read_text(encoding="utf-8").split("### Per-request options, raw responses, logging")
    assert len(section) == 2, "the README's section is missing"
    unreleased = (root / "CHANGELOG.md").read_text(encoding="utf-8").split("## Unreleased", 1)[1].split("\n## ", 1)[0]
    for name in ("with_options", "with_raw_response", "with_streaming_response", "extra_body", "APIKLEY_LOG"):
        assert name in section[1].split("\n## ", 1)[0] and name in unreleased, name
    assert "UNVALIDATED" in section[1]


@pytest.mark.parametrize("cls", SHELLS)
def test_wait_sends_each_query_with_the_options(cls: type[Any], sim: Simulator) -> None:
    rec = Recording(sim)
    kling = _client(cls, sim, rec)
    task = _run(kling.tasks.create(model=MODEL.id, **MODEL.sample_input()))
    start = len(rec.sent)
    _run(kling.tasks.wait(task.id, request_timeout=4.0, extra_headers={"X-W": "1"}))
    queries = rec.sent[start:]
    assert queries and all(q.headers["x-w"] == "1" for q in queries)
    assert all(q.extensions["timeout"] == httpx.Timeout(4.0).as_dict() for q in queries)
