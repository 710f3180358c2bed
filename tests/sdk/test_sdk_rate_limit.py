"""Kling(rate_limit=R): one request budget for every call of a client, paced evenly, paused by a 429."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import apikley_kling as ak
import httpx
import pytest
import respx
from apikley_kling import AsyncKling, Kling
from apikley_kling.polling import Pacer

from .conftest import BASE, CREATE, CREDITS, PNG, QUERY, UPLOAD, RecordingClock, envelope, ok, record


def _stamped(clock: RecordingClock, times: list[float], *responses: httpx.Response) -> Callable[..., httpx.Response]:
    """A respx side effect that notes the (virtual) time of each request; the last answer repeats."""
    queue = list(responses)

    def answer(_request: httpx.Request) -> httpx.Response:
        times.append(clock.monotonic())
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return answer


def test_pacer_spaces_requests_and_pauses() -> None:
    p = Pacer(rate=4, now=0.0)
    assert p.wait_time(0.0) == 0.0
    assert p.wait_time(0.0) == pytest.approx(0.25)  # burst of one: evenly spaced
    assert p.wait_time(0.25) == 0.0
    p.pause(0.3, 10.0)
    assert p.wait_time(5.0) == pytest.approx(5.3 + 0.25, abs=1e-6)
    assert p.wait_time(10.55) == 0.0


def test_sync_calls_share_the_budget(mock: respx.MockRouter, clock: RecordingClock) -> None:
    times: list[float] = []
    mock.get(CREDITS).mock(side_effect=_stamped(clock, times, ok(12.5)))
    mock.get(QUERY).mock(side_effect=_stamped(clock, times, ok(record("t1", "generating"))))
    with Kling(api_key="sk-x", base_url=BASE, clock=clock, rate_limit=2) as k:
        for _ in range(3):
            k.credits()
            k.tasks.get("t1")
    assert times == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5], abs=1e-6)


def test_uploads_draw_from_the_same_budget(mock: respx.MockRouter, clock: RecordingClock) -> None:
    """Uploads used to bypass the budget (three uploads at rate 1 took 0 s while three credits() took 2 s)."""
    times: list[float] = []
    uploaded = ok({"downloadUrl": "https://tmp.example/u/a.png", "fileName": "a.png"})
    mock.post(UPLOAD).mock(side_effect=_stamped(clock, times, uploaded))
    mock.get(CREDITS).mock(side_effect=_stamped(clock, times, ok(1.0)))
    with Kling(api_key="sk-x", base_url=BASE, clock=clock, rate_limit=1) as k:
        for _ in range(3):
            k.files.upload(PNG)
        k.credits()
    assert times == pytest.approx([0.0, 1.0, 2.0, 3.0], abs=1e-6)


def test_without_a_rate_limit_nothing_waits(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    mock.get(CREDITS).mock(return_value=ok(1.0))
    for _ in range(5):
        kling.credits()
    assert clock.sleeps == []


async def test_async_creates_and_queries_never_exceed_the_rate(mock: respx.MockRouter, clock: RecordingClock) -> None:
    times: list[float] = []
    mock.post(CREATE).mock(side_effect=_stamped(clock, times, ok({"taskId": "t1"})))
    mock.get(QUERY).mock(side_effect=_stamped(clock, times, ok(record("t1", "generating"))))
    async with AsyncKling(api_key="sk-x", base_url=BASE, clock=clock, rate_limit=5) as k:
        calls = [k.tasks.create("p", image="https://images.example/a.png") for _ in range(10)]
        calls += [k.tasks.get("t1") for _ in range(10)]
        await asyncio.gather(*calls)
    assert len(times) == 20
    times.sort()
    for a, b in zip(times, times[5:], strict=False):
        assert b - a >= 1.0 - 1e-6  # never more than 5 in any second


def test_a_429_pauses_every_call_of_the_client(mock: respx.MockRouter, clock: RecordingClock) -> None:
    times: list[float] = []
    limited = httpx.Response(429, json=envelope(None, 429, "slow down"), headers={"Retry-After": "6"})
    mock.get(QUERY).mock(side_effect=_stamped(clock, times, limited, ok(record("t1", "generating"))))
    mock.get(CREDITS).mock(side_effect=_stamped(clock, times, ok(3.0)))
    with Kling(api_key="sk-x", base_url=BASE, clock=clock, rate_limit=10) as k:
        with pytest.raises(ak.RateLimitError):
            k._run(k._core.tasks.get("t1", retries=False))  # what wait_many does: no retry of its own
        k.credits()  # another call of the same client waits out the Retry-After too
    assert times[0] == 0.0 and times[1] >= 6.0


def test_the_budget_never_pushes_a_wait_past_its_deadline(mock: respx.MockRouter, clock: RecordingClock) -> None:
    mock.get(QUERY).mock(return_value=ok(record("t1", "generating")))
    with (
        Kling(api_key="sk-x", base_url=BASE, clock=clock, rate_limit=0.01) as k,  # one request per 100 s
        pytest.raises(ak.TaskTimeout) as info,
    ):
        k.tasks.wait("t1", timeout=30)
    assert info.value.task_id == "t1" and clock.monotonic() <= 30.0


@pytest.mark.parametrize("bad", [0, -1.0, float("nan")])
def test_rate_limit_must_be_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        Kling(api_key="sk-x", base_url=BASE, rate_limit=bad)


class CountingBudget:
    """A RequestBudget of the user's own: it lets everything through and remembers being asked."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self.paused: list[tuple[float, float]] = []

    def wait_time(self, now: float) -> float:
        self.asked.append(now)
        return 0.0

    def pause(self, now: float, seconds: float) -> None:
        self.paused.append((now, seconds))


def test_a_custom_budget_is_asked_before_every_call(mock: respx.MockRouter, clock: RecordingClock) -> None:
    budget = CountingBudget()
    assert isinstance(budget, ak.RequestBudget)
    mock.post(UPLOAD).mock(return_value=ok({"downloadUrl": "https://tmp.example/u/a.png", "fileName": "a.png"}))
    mock.post(CREATE).mock(return_value=ok({"taskId": "t1"}))
    mock.get(QUERY).mock(return_value=ok(record("t1", "generating")))
    mock.get(CREDITS).mock(return_value=ok(1.0))
    with Kling(api_key="sk-x", base_url=BASE, clock=clock, rate_limit=budget) as k:
        k.tasks.create("p", image=PNG)  # an upload, then the create
        k.tasks.get("t1")
        k.credits()
        k.files.upload(PNG)
    assert len(budget.asked) == 5 and budget.paused == []


def test_a_custom_budget_is_paused_by_a_429(mock: respx.MockRouter, clock: RecordingClock) -> None:
    budget = CountingBudget()
    limited = httpx.Response(429, json=envelope(None, 429, "slow down"), headers={"Retry-After": "6"})
    mock.get(QUERY).mock(side_effect=[limited, ok(record("t1", "generating"))])
    with Kling(api_key="sk-x", base_url=BASE, clock=clock, rate_limit=budget) as k:
        assert k.tasks.get("t1").id == "t1"
    assert budget.paused == [(0.0, 6.0)] and len(budget.asked) == 2


async def test_async_client_takes_a_custom_budget(mock: respx.MockRouter, clock: RecordingClock) -> None:
    budget = CountingBudget()
    mock.get(CREDITS).mock(return_value=ok(1.0))
    mock.get(QUERY).mock(return_value=ok(record("t1", "generating")))
    async with AsyncKling(api_key="sk-x", base_url=BASE, clock=clock, rate_limit=budget) as k:
        await k.credits()
        await k.tasks.get("t1")
    assert len(budget.asked) == 2


def test_a_budget_that_says_wait_is_waited_for(mock: respx.MockRouter, clock: RecordingClock) -> None:
    class Slow(CountingBudget):
        def wait_time(self, now: float) -> float:
            super().wait_time(now)
            return 0.0 if len(self.asked) % 2 == 0 else 1.5  # every call waits once

    mock.get(CREDITS).mock(return_value=ok(1.0))
    with Kling(api_key="sk-x", base_url=BASE, clock=clock, rate_limit=Slow()) as k:
        k.credits()
        k.credits()
    assert clock.sleeps == [1.5, 1.5]
