"""Many tasks, one shared request budget."""

from __future__ import annotations

import random
from collections import Counter

import apikley_kling as ak
import httpx
import pytest
import respx
from apikley_kling import AsyncKling, Kling, TaskState
from apikley_kling._engine.schedule import Done, Idle, Launch, TokenBucket, Waiter

from .conftest import QUERY, CallbackClock, RecordingClock, ok, record


def scripted(n_polls: int, final: str = "success"):  # type: ignore[no-untyped-def]
    """A respx side effect: each task is running for n_polls queries, then final."""
    seen: Counter[str] = Counter()
    times: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        tid = request.url.params["taskId"]
        seen[tid] += 1
        state = final if seen[tid] > n_polls else "generating"
        return ok(record(tid, state))

    answer.seen = seen  # type: ignore[attr-defined]
    answer.times = times  # type: ignore[attr-defined]
    return answer


def test_token_bucket() -> None:
    b = TokenBucket(rate=2, burst=2, now=0)
    assert b.try_take(0) and b.try_take(0) and not b.try_take(0)
    assert b.available_at(0) == pytest.approx(0.5)
    assert b.try_take(0.5)
    b.pause(1.0, 10)
    assert not b.try_take(5) and b.available_at(5) >= 11


def test_waiter_respects_rate_pure() -> None:
    """Drive the sans-IO scheduler by hand: no more than rate*window+burst launches in any window."""
    now = 0.0
    w = Waiter([f"t{i}" for i in range(100)], now=now, rate=10, burst=10, max_in_flight=100, rng=random.Random(1))
    launches: list[float] = []
    while True:
        action = w.next_action(now)
        if isinstance(action, Done):
            break
        if isinstance(action, Launch):
            launches.append(now)
            w.on_answer(action.task_id, ak.Task.from_api(record(action.task_id, "success")), now)
            continue
        assert isinstance(action, Idle) and action.until is not None and action.until > now
        now = action.until
    assert len(launches) == 100 and len(w.results) == 100
    for t0 in launches:
        in_window = [t for t in launches if t0 <= t < t0 + 1.0]
        assert len(in_window) <= 10 * 1.0 + 10  # rate x window + burst
    assert launches[-1] == pytest.approx(9.0, abs=0.2)  # 10 burst, then 10/s


async def test_async_wait_many_budget(mock: respx.MockRouter, clock: RecordingClock) -> None:
    answer = scripted(n_polls=3)
    route = mock.get(QUERY).mock(side_effect=answer)
    ids = [f"task-{i}" for i in range(60)]
    async with AsyncKling(api_key="sk-x", base_url="https://api.test.example", clock=clock, rng=random.Random(2)) as k:
        results = await k.tasks.wait_many(ids, rate=20, max_in_flight=8)
    assert list(results) == ids
    assert all(isinstance(r, ak.Task) and r.state is TaskState.SUCCESS for r in results.values())
    assert route.call_count == 60 * 4  # no poll storm: exactly the queries the schedule asks for
    # 240 queries at 20/s cannot take less than (240 - burst) / 20 seconds of (virtual) time
    assert clock.monotonic() >= (240 - 20) / 20


async def test_async_wait_many_mixed_outcomes(mock: respx.MockRouter, clock: RecordingClock) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        tid = request.url.params["taskId"]
        if tid == "gone":
            return httpx.Response(200, json={"code": 404, "msg": "Task not found"})
        state = {"ok": "success", "bad": "fail", "slow": "generating"}[tid]
        return ok(record(tid, state))

    mock.get(QUERY).mock(side_effect=answer)
    async with AsyncKling(api_key="sk-x", base_url="https://api.test.example", clock=clock) as k:
        results = await k.tasks.wait_many(["ok", "bad", "slow", "gone"], timeout=40, rate=50)
    assert isinstance(results["ok"], ak.Task)
    assert isinstance(results["bad"], ak.GenerationFailed) and results["bad"].task_id == "bad"
    assert isinstance(results["slow"], ak.TaskTimeout) and results["slow"].task_id == "slow"
    assert isinstance(results["gone"], ak.NotFoundError) and results["gone"].task_id == "gone"


async def test_async_wait_many_429_pauses_everyone(mock: respx.MockRouter, clock: RecordingClock) -> None:
    calls: list[float] = []
    limited = {"done": False}

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(clock.monotonic())
        if not limited["done"]:
            limited["done"] = True
            return httpx.Response(429, json={"code": 429, "msg": "rate"}, headers={"Retry-After": "30"})
        return ok(record(request.url.params["taskId"], "success"))

    mock.get(QUERY).mock(side_effect=answer)
    async with AsyncKling(api_key="sk-x", base_url="https://api.test.example", clock=clock) as k:
        results = await k.tasks.wait_many(["a", "b", "c"], rate=1, max_in_flight=1)
    assert all(isinstance(r, ak.Task) for r in results.values())
    assert calls[1] >= 30  # nobody asked again before Retry-After


async def test_async_wait_many_callback_moves_task_forward(mock: respx.MockRouter, clock: RecordingClock) -> None:
    answer = scripted(n_polls=1)
    mock.get(QUERY).mock(side_effect=answer)
    async with AsyncKling(api_key="sk-x", base_url="https://api.test.example", clock=clock) as k:

        def on_update(u: ak.TaskUpdate) -> None:
            if u.task.state is TaskState.GENERATING:
                k.callbacks.notify(u.task.id)

        results = await k.tasks.wait_many(["a"], on_update=on_update)
    assert isinstance(results["a"], ak.Task)
    assert clock.monotonic() < 2  # did not wait out the 2-3 s interval


def test_sync_wait_many(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    answer = scripted(n_polls=2)
    route = mock.get(QUERY).mock(side_effect=answer)
    results = kling.tasks.wait_many(["a", "b", "c"], rate=1)
    assert all(isinstance(r, ak.Task) for r in results.values())
    assert route.call_count == 9
    assert clock.monotonic() >= 8  # at most 1 query/s (burst 1)


def test_waiter_callback_during_a_query_is_not_lost() -> None:
    """A callback that lands while its task's query is in flight: that answer may predate it, so ask again now."""
    w = Waiter(["a"], now=0.0, rate=10, expect_callbacks=True, rng=random.Random(2))
    assert w.next_action(0.0) == Launch("a")
    w.wake("a", 0.5)  # the callback arrives before the answer
    w.on_answer("a", ak.Task.from_api(record("a", "generating")), 1.0)
    assert w.next_action(1.0) == Launch("a")  # not 300 s later
    w.on_answer("a", ak.Task.from_api(record("a", "generating")), 1.1)
    action = w.next_action(1.1)
    assert isinstance(action, Idle) and action.until is not None and action.until >= 300  # the safety net again


@pytest.mark.parametrize("expect_callbacks", [True, False])
async def test_async_wait_many_expecting_callbacks(mock: respx.MockRouter, expect_callbacks: bool) -> None:
    """Expecting callbacks, each task costs one query at the start and one to confirm; otherwise the schedule runs."""
    clock = CallbackClock({"a": 40.0, "b": 95.0, "c": 230.0})

    def answer(req: httpx.Request) -> httpx.Response:
        tid = req.url.params["taskId"]
        return ok(record(tid, "success" if clock.monotonic() >= clock.done_at[tid] else "generating"))

    route = mock.get(QUERY).mock(side_effect=answer)
    async with AsyncKling(api_key="sk-x", base_url="https://api.test.example", clock=clock) as k:
        results = await k.tasks.wait_many(list(clock.done_at), inbox=clock.inbox, expect_callbacks=expect_callbacks)
    assert all(isinstance(r, ak.Task) for r in results.values())
    assert clock.monotonic() == pytest.approx(230.0, abs=30.0 if not expect_callbacks else 1e-6)
    if expect_callbacks:
        assert route.call_count == 2 * len(clock.done_at)
    else:
        assert route.call_count > 20
