"""verify_callback: signature, tolerance, replay guard, task id spellings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import apikley_kling as ak
import httpx
import pytest
from apikley_kling import CallbackInbox, ReplayGuard, TaskState, VirtualClock, callback_app, verify_callback

from .conftest import record

KEY = "whsec-test"


def signed(task_id: str, ts: int, key: str = KEY) -> dict[str, str]:
    sig = base64.b64encode(hmac.new(key.encode(), f"{task_id}.{ts}".encode(), hashlib.sha256).digest()).decode()
    return {"X-Webhook-Timestamp": str(ts), "X-Webhook-Signature": sig}


def body(task_id: str = "t1", snake: bool = False) -> bytes:
    data: dict[str, Any] = record(task_id, "success")
    if snake:
        data["task_id"] = data.pop("taskId")
    return json.dumps({"code": 200, "msg": "success", "data": data}).encode()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=1_765_000_000)


def test_valid_callback(clock: VirtualClock) -> None:
    ts = int(clock.time())
    task = verify_callback(signed("t1", ts), body(), KEY, clock=clock)
    assert task.id == "t1" and task.state is TaskState.SUCCESS and task.result_urls


def test_snake_case_task_id_and_lowercase_headers(clock: VirtualClock) -> None:
    ts = int(clock.time())
    headers = {k.lower(): v for k, v in signed("t2", ts).items()}
    assert verify_callback(headers, body("t2", snake=True).decode(), KEY, clock=clock).id == "t2"


def test_mapping_body(clock: VirtualClock) -> None:
    ts = int(clock.time())
    assert verify_callback(signed("t1", ts), json.loads(body()), KEY, clock=clock).id == "t1"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Webhook-Timestamp": "1765000000"},
        {"X-Webhook-Timestamp": "1765000000", "X-Webhook-Signature": "AAAA"},
    ],
)
def test_bad_or_missing_signature(clock: VirtualClock, headers: dict[str, str]) -> None:
    with pytest.raises(ak.InvalidCallback):
        verify_callback(headers, body(), KEY, clock=clock)


def test_wrong_key(clock: VirtualClock) -> None:
    with pytest.raises(ak.InvalidCallback, match="signature"):
        verify_callback(signed("t1", int(clock.time()), key="other"), body(), KEY, clock=clock)


def test_signature_for_another_task(clock: VirtualClock) -> None:
    with pytest.raises(ak.InvalidCallback):
        verify_callback(signed("t9", int(clock.time())), body("t1"), KEY, clock=clock)


def test_stale_and_future_timestamps(clock: VirtualClock) -> None:
    now = int(clock.time())
    verify_callback(signed("t1", now - 299), body(), KEY, clock=clock)
    with pytest.raises(ak.InvalidCallback, match="tolerance"):
        verify_callback(signed("t1", now - 301), body(), KEY, clock=clock)
    with pytest.raises(ak.InvalidCallback):
        verify_callback(signed("t1", now + 301), body(), KEY, clock=clock)
    verify_callback(signed("t1", now - 30), body(), KEY, clock=clock, tolerance=60)
    with pytest.raises(ak.InvalidCallback):
        verify_callback(signed("t1", now - 61), body(), KEY, clock=clock, tolerance=60)


def test_replay_guard(clock: VirtualClock) -> None:
    guard = ReplayGuard()
    headers = signed("t1", int(clock.time()))
    verify_callback(headers, body(), KEY, clock=clock, replay_guard=guard)
    with pytest.raises(ak.ReplayedCallback):
        verify_callback(headers, body(), KEY, clock=clock, replay_guard=guard)
    # a new timestamp for the same task (the service's second attempt) is a new callback
    clock.advance(5)
    verify_callback(signed("t1", int(clock.time())), body(), KEY, clock=clock, replay_guard=guard)
    # once past the window, old entries are forgotten (and the stale check refuses the replay anyway)
    clock.advance(600)
    with pytest.raises(ak.InvalidCallback):
        verify_callback(headers, body(), KEY, clock=clock, replay_guard=guard)
    verify_callback(signed("t5", int(clock.time())), body("t5"), KEY, clock=clock, replay_guard=guard)
    assert len(guard) == 1


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"code": 200}', b'{"data": {"state": "success"}}'])
def test_malformed_bodies(clock: VirtualClock, raw: bytes) -> None:
    with pytest.raises(ak.InvalidCallback):
        verify_callback(signed("t1", int(clock.time())), raw, KEY, clock=clock)


def test_no_key_configured(clock: VirtualClock) -> None:
    with pytest.raises(ak.InvalidCallback):
        verify_callback(signed("t1", int(clock.time())), body(), "", clock=clock)


def test_sign_callback_matches() -> None:
    assert ak.sign_callback("t1", 1765000000, KEY) == signed("t1", 1765000000)["X-Webhook-Signature"]


# -- the tiny ASGI receiver ------------------------------------------------------


async def post(app: Any, payload: bytes, headers: dict[str, str], method: str = "POST") -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cb.localhost") as c:
        return await c.request(method, "/callback", content=payload, headers=headers)


async def test_callback_app_notifies_inbox(clock: VirtualClock) -> None:
    inbox = CallbackInbox()
    seen: list[str] = []
    app = callback_app(KEY, inbox=inbox, on_task=lambda t: seen.append(t.id), clock=clock)
    headers = signed("t1", int(clock.time()))
    r = await post(app, body(), headers)
    assert r.status_code == 200 and inbox.pending("t1") and seen == ["t1"]
    r = await post(app, body(), headers)  # the same callback again: accepted, not delivered twice
    assert r.status_code == 200 and seen == ["t1"]


async def test_callback_app_refuses_forgeries(clock: VirtualClock) -> None:
    inbox = CallbackInbox()
    app = callback_app(KEY, inbox=inbox, clock=clock)
    r = await post(app, body(), signed("t1", int(clock.time()), key="forged"))
    assert r.status_code == 401 and not inbox.pending("t1")
    assert (await post(app, b"{}", {}, method="GET")).status_code == 405
    r = await post(app, b'{"data": {"taskId": "t1", "state": "weird"}}', signed("t1", int(clock.time())))
    assert r.status_code == 400 and not inbox.pending("t1")


async def test_callback_app_ends_an_async_wait() -> None:
    """Receiver and waiting client in one loop: the callback POST ends the wait with one confirming query."""
    import asyncio

    import respx
    from apikley_kling import AsyncKling

    from .conftest import QUERY, ok

    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="cb.localhost").pass_through()
        route = mock.get(QUERY).mock(side_effect=[ok(record("t1", "generating")), ok(record("t1", "success"))])
        async with AsyncKling(api_key="sk-x", base_url="https://api.test.example") as kling:
            app = callback_app(KEY, inbox=kling.callbacks)

            async def service_calls_back() -> None:
                await asyncio.sleep(0.05)
                ts = int(__import__("time").time())
                assert (await post(app, body("t1"), signed("t1", ts))).status_code == 200

            _, task = await asyncio.wait_for(asyncio.gather(service_calls_back(), kling.tasks.wait("t1")), timeout=2)
    assert task.state is TaskState.SUCCESS and route.call_count == 2


# -- callback_app under hostile senders (issue 11, rows 4, 6 and 10) ----------------------


async def raw_asgi(app: Any, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, int]:
    """Drive the app by hand: (status, how many body chunks it pulled)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        i = pulled - 1
        return {"type": "http.request", "body": chunks[i], "more_body": i + 1 < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "method": "POST", "headers": headers}, receive, send)
    return sent[0]["status"], pulled


async def test_callback_app_refuses_a_big_body_on_its_headers_alone(clock: VirtualClock) -> None:
    app = callback_app(KEY, clock=clock)
    status, pulled = await raw_asgi(app, [(b"content-length", b"50000000")], [b"x" * 1000] * 100)
    assert (status, pulled) == (413, 0)
    for bad in (b"-1", b"abc", b" ", b"1e3"):
        status, pulled = await raw_asgi(app, [(b"content-length", bad)], [b"{}"])
        assert (status, pulled) == (400, 0)


async def test_callback_app_counts_a_streamed_body(clock: VirtualClock) -> None:
    """No length (or a lying one): the cap holds on the running count, and the rest is never pulled."""
    app = callback_app(KEY, clock=clock, max_body=10_000)
    status, pulled = await raw_asgi(app, [], [b"x" * 1000] * 100)
    assert (status, pulled) == (413, 11)
    status, pulled = await raw_asgi(app, [(b"content-length", b"5")], [b"x" * 1000] * 100)
    assert (status, pulled) == (413, 11)


async def test_callback_app_gives_a_slow_body_a_deadline(clock: VirtualClock) -> None:
    import asyncio

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # a sender that never sends
        raise AssertionError

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    app = callback_app(KEY, clock=clock, read_timeout=0.01)
    await asyncio.wait_for(app({"type": "http", "method": "POST", "headers": []}, receive, send), 5)
    assert sent[0]["status"] == 408


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"data":' * 50_000, b"\xff\xfe", b'{"data": {"taskId": 5}}'])
async def test_callback_app_answers_hostile_json_with_a_4xx(clock: VirtualClock, raw: bytes) -> None:
    for app in (callback_app(KEY, clock=clock), callback_app(None, clock=clock)):
        r = await post(app, raw, signed("t1", int(clock.time())))
        assert 400 <= r.status_code < 500, r.text


def test_verify_callback_refuses_deep_nesting(clock: VirtualClock) -> None:
    with pytest.raises(ak.InvalidCallback):
        verify_callback(signed("t1", int(clock.time())), b"[" * 100_000, KEY, clock=clock)


async def test_callback_app_forgets_what_it_failed_to_record(clock: VirtualClock) -> None:
    """on_task raised: 503, and the service's retry of the very same callback is delivered, not a duplicate."""
    calls: list[str] = []

    def flaky(task: ak.Task) -> None:
        calls.append(task.id)
        if len(calls) == 1:
            raise OSError("disk full")

    refusals: list[tuple[int, str | None]] = []
    app = callback_app(KEY, on_task=flaky, clock=clock, on_refused=lambda s, m, t: refusals.append((s, t)))
    headers = signed("t1", int(clock.time()))
    assert (await post(app, body(), headers)).status_code == 503
    assert (await post(app, body(), headers)).status_code == 200
    assert (await post(app, body(), headers)).json()["msg"] == "duplicate ignored"
    assert calls == ["t1", "t1"] and refusals == [(503, "t1"), (200, "t1")]


def test_sqlite_replay_guard_survives_a_restart(tmp_path: Any, clock: VirtualClock) -> None:
    from apikley_kling.callbacks import SqliteReplayGuard

    path = tmp_path / "seen.sqlite3"
    headers = signed("t1", int(clock.time()))
    guard = SqliteReplayGuard(path)
    verify_callback(headers, body(), KEY, clock=clock, replay_guard=guard)
    guard.close()
    again = SqliteReplayGuard(path)
    with pytest.raises(ak.ReplayedCallback):
        verify_callback(headers, body(), KEY, clock=clock, replay_guard=again)
    clock.advance(301)  # past the window: the entry goes (the timestamp check refuses the replay anyway)
    verify_callback(signed("t2", int(clock.time())), body("t2"), KEY, clock=clock, replay_guard=again)
    assert len(again) == 1
    again.close()


@pytest.mark.parametrize("ts", ["nan", "NaN", "inf", "-inf", "1e999", "Infinity", "1_765_000_000", "0x10", ""])
def test_a_signed_timestamp_that_is_no_finite_number_is_refused(clock: VirtualClock, ts: str) -> None:
    # the signature is valid: only the timestamp's value can refuse it ("nan" compares as fresh to any clock)
    headers = {"X-Webhook-Timestamp": ts, "X-Webhook-Signature": ak.sign_callback("t1", ts, KEY)}
    with pytest.raises(ak.InvalidCallback):
        verify_callback(headers, body(), KEY, clock=clock, replay_guard=ReplayGuard())


def test_a_fractional_timestamp_is_still_a_time(clock: VirtualClock) -> None:
    ts = f"{clock.time() - 1:.3f}"
    headers = {"X-Webhook-Timestamp": ts, "X-Webhook-Signature": ak.sign_callback("t1", ts, KEY)}
    assert verify_callback(headers, body(), KEY, clock=clock).id == "t1"
