"""tasks.watch(): the one many-task waiter, with tasks added while it runs (what batch and wait_many use)."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter

import apikley_kling as ak
import httpx
import pytest
import respx
from apikley_kling import AsyncKling, Kling, TaskState

from .conftest import BASE, QUERY, RecordingClock, ok, record


def stamped(clock: RecordingClock, done_after: dict[str, float]):  # type: ignore[no-untyped-def]
    """Each task runs until `done_after[id]` virtual seconds after its first query (never, if absent)."""
    first: dict[str, float] = {}
    asked: list[tuple[str, float]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        tid = request.url.params["taskId"]
        now = clock.monotonic()
        asked.append((tid, now))
        first.setdefault(tid, now)
        done = tid in done_after and now - first[tid] >= done_after[tid]
        return ok(record(tid, "success" if done else "generating"))

    answer.asked = asked  # type: ignore[attr-defined]
    return answer


def test_tasks_added_while_watching_each_get_their_own_deadline(
    kling: Kling, mock: respx.MockRouter, clock: RecordingClock
) -> None:
    answer = stamped(clock, {"a": 20.0})
    mock.get(QUERY).mock(side_effect=answer)
    since_add: dict[str, list[float]] = {}  # each update's `elapsed`: virtual seconds since its task was added
    with kling.tasks.watch(timeout=60) as watch:

        def on_update(u: ak.TaskUpdate) -> None:
            since_add.setdefault(u.task.id, []).append(u.elapsed)
            if u.task.id == "a" and len(since_add["a"]) == 1:
                clock.advance(100.0)  # "b" is created well after "a"
                watch.add("b")
                watch.close()

        watch._on_update = on_update
        watch.add("a")
        results = dict(watch.results())
    assert isinstance(results["a"], ak.Task) and results["a"].state is TaskState.SUCCESS
    assert isinstance(results["b"], ak.TaskTimeout) and results["b"].task_id == "b"
    assert since_add["b"][0] == 0.0 and 60.0 <= since_add["b"][-1] < 61.0  # counted from b's add, not a's
    assert clock.monotonic() == pytest.approx(160.0, abs=1.0)


def test_query_now_false_waits_one_interval_then_keeps_it(
    kling: Kling, mock: respx.MockRouter, clock: RecordingClock
) -> None:
    answer = stamped(clock, {"t": 8.0})
    mock.get(QUERY).mock(side_effect=answer)
    with kling.tasks.watch(interval=4.0) as watch:
        watch.add("t", query_now=False)
        watch.close()
        [(tid, outcome)] = list(watch.results())
    assert tid == "t" and isinstance(outcome, ak.Task)
    assert [at for _, at in answer.asked] == [4.0, 8.0, 12.0]


def test_query_now_false_follows_the_providers_first_interval(
    kling: Kling, mock: respx.MockRouter, clock: RecordingClock
) -> None:
    answer = stamped(clock, {"t": 0.0, "r": 0.0})
    mock.get(QUERY).mock(side_effect=answer)
    with kling.tasks.watch() as watch:
        watch.add("t", query_now=False)
        watch.add("r")  # a resumed task: at once
        watch.close()
        outcomes = dict(watch.results())
    assert isinstance(outcomes["t"], ak.Task)
    times = dict(answer.asked)
    assert len(answer.asked) == 2 and times["r"] == 0.0 and 2.5 <= times["t"] <= 3.0


def test_a_transient_query_error_is_retried_by_the_watcher(
    kling: Kling, mock: respx.MockRouter, clock: RecordingClock
) -> None:
    mock.get(QUERY).mock(
        side_effect=[httpx.Response(503, json={"code": 500, "msg": "busy"}), ok(record("t", "success"))]
    )
    with kling.tasks.watch() as watch:
        watch.add("t")
        watch.close()
        assert isinstance(dict(watch.results())["t"], ak.Task)
    assert watch.queries == 2


@pytest.mark.parametrize("until_deadline", [False, True], ids=["gives up after max_retries", "until the deadline"])
def test_a_query_that_keeps_failing(
    kling: Kling, mock: respx.MockRouter, clock: RecordingClock, until_deadline: bool
) -> None:
    """By default a query that keeps failing is given up after the client's max_retries; retry_until_deadline
    rides the outage out until the task's deadline, then ends in a TaskTimeout caused by the last error."""
    down = mock.get(QUERY).mock(return_value=httpx.Response(503, json={"code": 500, "msg": "busy"}))
    with kling.tasks.watch(timeout=600, retry_until_deadline=until_deadline) as watch:
        watch.add("t")
        watch.close()
        outcome = dict(watch.results())["t"]
    max_retries = kling._core.retry.max_retries
    if until_deadline:
        assert isinstance(outcome, ak.TaskTimeout) and isinstance(outcome.__cause__, ak.ServerError)
        assert down.call_count > max_retries + 1 and clock.monotonic() <= 600
    else:
        assert isinstance(outcome, ak.ServerError) and down.call_count == max_retries + 1


def test_a_callback_before_the_add_makes_the_first_query_at_once(
    kling: Kling, mock: respx.MockRouter, clock: RecordingClock
) -> None:
    answer = stamped(clock, {"t": 0.0})
    mock.get(QUERY).mock(side_effect=answer)
    kling.callbacks.notify("t")
    with kling.tasks.watch(expect_callbacks=True) as watch:
        watch.add("t", query_now=False)
        watch.close()
        list(watch.results())
    assert answer.asked == [("t", 0.0)]


def test_cancel_from_another_thread_ends_an_idle_watch(mock: respx.MockRouter) -> None:
    """Real clock on purpose: an open watch with nothing due waits on a condition, which cancel() ends."""
    route = mock.get(QUERY).mock(return_value=ok(record("t", "generating")))
    with Kling(api_key="sk-x", base_url=BASE) as k, k.tasks.watch(interval=3600.0) as watch:
        watch.add("t", query_now=False)
        got: list[object] = []
        reader = threading.Thread(target=lambda: got.extend(watch.results()), daemon=True)
        reader.start()
        timer = threading.Timer(0.05, watch.cancel)
        timer.start()
        reader.join(timeout=60)  # its interval is an hour: only cancel() can end it within this bound
        assert not reader.is_alive(), "cancel() did not end the idle watch"
        assert got == []
        timer.join()
    assert route.call_count == 0


def test_add_after_close_is_refused(kling: Kling) -> None:
    with kling.tasks.watch() as watch:
        watch.close()
        with pytest.raises(RuntimeError, match="close"):
            watch.add("t")
        assert list(watch.results()) == []


def test_interval_must_be_positive(kling: Kling) -> None:
    with pytest.raises(ValueError, match="interval"):
        kling.tasks.watch(interval=0)


async def test_async_watch_takes_tasks_while_running(mock: respx.MockRouter, clock: RecordingClock) -> None:
    seen: Counter[str] = Counter()

    def answer(request: httpx.Request) -> httpx.Response:
        tid = request.url.params["taskId"]
        seen[tid] += 1
        return ok(record(tid, "success" if seen[tid] > 1 else "generating"))

    mock.get(QUERY).mock(side_effect=answer)
    got: list[str] = []
    kling = AsyncKling(api_key="sk-x", base_url=BASE, clock=clock, rng=random.Random(3))
    async with kling as k, k.tasks.watch(rate=50, max_in_flight=4) as watch:
        watch.add("a")

        async def more() -> None:
            await asyncio.sleep(0)
            for tid in ("b", "c"):
                watch.add(tid, query_now=False)
            watch.close()

        adder = asyncio.ensure_future(more())
        async for tid, outcome in watch.results():
            assert isinstance(outcome, ak.Task)
            got.append(tid)
        await adder
    assert sorted(got) == ["a", "b", "c"] and seen == {"a": 2, "b": 2, "c": 2}


async def test_async_watch_cancel_stops_sending(mock: respx.MockRouter, clock: RecordingClock) -> None:
    route = mock.get(QUERY).mock(return_value=ok(record("t", "generating")))
    async with AsyncKling(api_key="sk-x", base_url=BASE, clock=clock) as k, k.tasks.watch() as watch:
        watch.add("t")

        async def hook(u: ak.TaskUpdate) -> None:
            watch.cancel()

        watch._on_update = hook
        assert [x async for x in watch.results()] == []
    assert route.call_count == 1


def test_sync_watch_with_max_in_flight_queries_from_worker_threads(kling: Kling, mock: respx.MockRouter) -> None:
    lock = threading.Lock()
    running = {"now": 0, "peak": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        with lock:
            running["now"] += 1
            running["peak"] = max(running["peak"], running["now"])
        time.sleep(0.02)  # an answer that takes a moment, so that queries overlap (not a poll wait)
        with lock:
            running["now"] -= 1
        return ok(record(request.url.params["taskId"], "success"))

    route = mock.get(QUERY).mock(side_effect=answer)
    ids = [f"t{i}" for i in range(8)]
    results = kling.tasks.wait_many(ids, rate=100, max_in_flight=4)
    assert list(results) == ids and all(isinstance(r, ak.Task) for r in results.values())
    assert route.call_count == 8 and 2 <= running["peak"] <= 4


def test_sync_wait_many_queries_one_at_a_time_by_default(kling: Kling, mock: respx.MockRouter) -> None:
    seen_threads: set[int] = set()

    def answer(request: httpx.Request) -> httpx.Response:
        seen_threads.add(threading.get_ident())
        return ok(record(request.url.params["taskId"], "success"))

    mock.get(QUERY).mock(side_effect=answer)
    kling.tasks.wait_many(["a", "b", "c"], rate=100)
    assert seen_threads == {threading.get_ident()}
