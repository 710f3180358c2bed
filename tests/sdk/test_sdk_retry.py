"""What is retried, how long the SDK waits (on the virtual clock), and when a create is ambiguous."""

from __future__ import annotations

import json
import random
from typing import Any

import apikley_kling as ak
import httpx
import pytest
import respx
from apikley_kling import Kling
from apikley_kling._engine.retry import Kind
from apikley_kling.retry import RetryPolicy, parse_retry_after

from .conftest import BASE, CREATE, CREDITS, QUERY, RecordingClock, envelope, ok, record

CAT: dict[str, Any] = {"prompt": "a cat", "image": "https://x.example/c.png"}


def test_query_retries_429_honouring_retry_after(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    route = mock.get(QUERY).mock(
        side_effect=[
            httpx.Response(429, json={"code": 429, "msg": "slow down"}, headers={"Retry-After": "3"}),
            httpx.Response(200, json={"code": 429, "msg": "slow down"}, headers={"Retry-After": "7"}),
            ok(record()),
        ]
    )
    task = kling.tasks.get("t1")
    assert task.id == "t1" and route.call_count == 3
    assert clock.sleeps == [3.0, 7.0]


def test_retry_after_is_bounded(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    mock.get(QUERY).mock(
        side_effect=[httpx.Response(429, json={"code": 429}, headers={"Retry-After": "86400"}), ok(record())]
    )
    kling.tasks.get("t1")
    assert clock.sleeps == [kling._core.retry.retry_after_cap]


@pytest.mark.parametrize(
    "first",
    [
        httpx.Response(455, json={"code": 455, "msg": "maintenance"}),
        httpx.Response(200, json={"code": 455, "msg": "maintenance"}),
        httpx.Response(500, json={"code": 500, "msg": "oops"}),
        httpx.Response(200, json={"code": 500, "msg": "oops"}),
        httpx.Response(502, text="<html>bad gateway</html>"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
    ],
)
def test_query_retries_transient(kling: Kling, mock: respx.MockRouter, clock: RecordingClock, first: Any) -> None:
    route = mock.get(QUERY).mock(side_effect=[first, ok(record())])
    assert kling.tasks.get("t1").id == "t1"
    assert route.call_count == 2
    assert len(clock.sleeps) == 1 and 0 < clock.sleeps[0] <= kling._core.retry.cap


@pytest.mark.parametrize("code", [400, 401, 402, 404, 422, 501, 505])
def test_query_does_not_retry_definite_errors(
    kling: Kling, mock: respx.MockRouter, clock: RecordingClock, code: int
) -> None:
    route = mock.get(QUERY).respond(200, json={"code": code, "msg": "no"})
    with pytest.raises(ak.APIError):
        kling.tasks.get("t1")
    assert route.call_count == 1 and clock.sleeps == []


def test_query_gives_up_after_max_retries(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    route = mock.get(CREDITS).respond(500, json={"code": 500, "msg": "down"})
    with pytest.raises(ak.ServerError):
        kling.credits()
    assert route.call_count == kling._core.retry.max_retries + 1
    # exponential, jittered into [ceiling/2, ceiling], capped
    policy = kling._core.retry
    for i, s in enumerate(clock.sleeps):
        ceiling = min(policy.cap, policy.base * 2**i)
        assert ceiling / 2 <= s <= ceiling


def test_transport_error_exhausted_is_typed(kling: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ak.TransportError) as info:
        kling.tasks.get("t1")
    assert info.value.kind == "ConnectError" and info.value.task_id == "t1"


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(max_retries=50, base=1, cap=8, rng=random.Random(1))
    assert max(policy.backoff(i) for i in range(50)) <= 8
    assert policy.backoff(0, retry_after=2.5) == 2.5


def test_parse_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", 1445412480.0) == pytest.approx(10.0)
    assert parse_retry_after("soon", 0) is None and parse_retry_after(None, 0) is None


# -- create ------------------------------------------------------------------


@pytest.mark.parametrize("exc", [httpx.ConnectError("refused"), httpx.ConnectTimeout("no route")])
def test_create_retried_when_never_sent(
    kling: Kling, mock: respx.MockRouter, clock: RecordingClock, exc: Exception
) -> None:
    route = mock.post(CREATE).mock(side_effect=[exc, ok({"taskId": "t1"})])
    assert kling.tasks.create(**CAT).id == "t1"
    assert route.call_count == 2 and len(clock.sleeps) == 1


@pytest.mark.parametrize("status", [200, 429])
def test_create_retried_on_429_with_retry_after(
    kling: Kling, mock: respx.MockRouter, clock: RecordingClock, status: int
) -> None:
    limited = httpx.Response(status, json={"code": 429, "msg": "rate"}, headers={"Retry-After": "4"})
    route = mock.post(CREATE).mock(side_effect=[limited, ok({"taskId": "t1"})])
    assert kling.tasks.create(**CAT).id == "t1"
    assert route.call_count == 2 and clock.sleeps == [4.0]


def test_create_retried_on_455(kling: Kling, mock: respx.MockRouter) -> None:
    route = mock.post(CREATE).mock(
        side_effect=[httpx.Response(200, json={"code": 455, "msg": "m"}), ok({"taskId": "t1"})]
    )
    assert kling.tasks.create(**CAT).id == "t1" and route.call_count == 2


def test_create_429_exhausted_raises_rate_limit_not_ambiguous(kling: Kling, mock: respx.MockRouter) -> None:
    route = mock.post(CREATE).respond(200, json={"code": 429, "msg": "rate"})
    with pytest.raises(ak.RateLimitError):
        kling.tasks.create(**CAT)
    assert route.call_count == kling._core.retry.max_retries + 1


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx.ReadTimeout("read timed out"), "timed out (read)"),
        (httpx.RemoteProtocolError("peer closed connection"), "RemoteProtocolError"),
        (httpx.ReadError("reset"), "ReadError"),
        (httpx.Response(500, json={"code": 500, "msg": "internal"}), "internal"),
        (httpx.Response(200, json={"code": 500, "msg": "internal"}), "internal"),
        (httpx.Response(502, text="<html>Bad Gateway</html>"), "Bad Gateway"),
        (httpx.Response(200, text="{not json"), "not the API's JSON"),
        (httpx.Response(200, json={"code": 200, "msg": "success", "data": {}}), "taskId"),
    ],
)
def test_create_ambiguous_sends_exactly_once(
    kling: Kling, mock: respx.MockRouter, clock: RecordingClock, answer: Any, reason: str
) -> None:
    route = mock.post(CREATE).mock(side_effect=[answer, ok({"taskId": "t-never"})])
    with pytest.raises(ak.AmbiguousSubmit) as info:
        kling.tasks.create(**CAT, callback_url="https://me.example/cb")
    err = info.value
    assert route.call_count == 1 and clock.sleeps == []
    assert reason in err.reason
    assert err.request == json.loads(route.calls[0].request.content)
    assert err.request["input"]["prompt"] == "a cat" and err.request["callBackUrl"] == "https://me.example/cb"
    assert err.sent_at == clock.time()


def test_policy_decisions_are_pure() -> None:
    policy = RetryPolicy(max_retries=2, rng=random.Random(0))
    conn = ak.TransportError("x", kind="ConnectError")
    read = ak.TransportError("x", kind="ReadTimeout")
    assert policy.decide(Kind.CREATE, conn, 0).retry
    assert not policy.decide(Kind.CREATE, conn, 2).retry
    assert policy.decide(Kind.CREATE, read, 0).ambiguous
    assert policy.decide(Kind.QUERY, read, 0).retry
    assert not policy.decide(Kind.CREATE, ak.NotFoundError("x"), 0).ambiguous


async def test_async_create_ambiguous(akling: ak.AsyncKling, mock: respx.MockRouter) -> None:
    route = mock.post(CREATE).mock(side_effect=[httpx.ReadTimeout("t"), ok({"taskId": "x"})])
    with pytest.raises(ak.AmbiguousSubmit):
        await akling.tasks.create(**CAT)
    assert route.call_count == 1


async def test_async_query_retry_after(akling: ak.AsyncKling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    mock.get(QUERY).mock(
        side_effect=[httpx.Response(429, json=envelope(None, 429), headers={"Retry-After": "2"}), ok(record())]
    )
    assert (await akling.tasks.get("t1")).id == "t1"
    assert clock.sleeps == [2.0]


def test_a_client_takes_a_retry_policy(mock: respx.MockRouter, clock: RecordingClock) -> None:
    route = mock.get(QUERY).mock(side_effect=httpx.ConnectError("down"))
    policy = ak.RetryPolicy(max_retries=1, base=0.1, cap=0.1)
    with Kling(api_key="sk-x", base_url=BASE, clock=clock, retry=policy) as k, pytest.raises(ak.TransportError):
        k.tasks.get("t1")
    assert route.call_count == 2 and clock.sleeps == [pytest.approx(0.1, abs=0.05)]
