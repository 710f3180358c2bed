"""Waiting: the provider's schedule, the deadline, fail, unknown states, callback wake-ups."""

from __future__ import annotations

import random

import apikley_kling as ak
import httpx
import pytest
import respx
from apikley_kling import CallbackInbox, Kling, TaskState, TaskUpdate
from apikley_kling.polling import CALLBACK_SAFETY, SCHEDULE, poll_interval

from .conftest import BASE, QUERY, CallbackClock, RecordingClock, ok, record


@pytest.mark.parametrize(
    ("elapsed", "low", "high"),
    [(0, 2, 3), (29.9, 2, 3), (30, 5, 10), (119, 5, 10), (120, 15, 30), (3600, 15, 30)],
)
def test_schedule_phases(elapsed: float, low: float, high: float) -> None:
    """Every interval lies inside the provider's advice for its phase, and is jittered across our band."""
    rng = random.Random(3)
    values = [poll_interval(elapsed, rng) for _ in range(200)]
    assert all(low <= v <= high for v in values)
    band_low, band_high = next((lo, hi) for below, lo, hi in SCHEDULE if elapsed < below)
    assert max(values) - min(values) > (band_high - band_low) / 2  # jittered, not constant


def test_expect_callbacks_stretches_polling_to_a_safety_net() -> None:
    rng = random.Random(4)
    values = [poll_interval(t, rng, expect_callbacks=True) for t in (0, 40, 500) for _ in range(50)]
    assert all(CALLBACK_SAFETY[0] <= v <= CALLBACK_SAFETY[1] for v in values)


def test_wait_expecting_callbacks_asks_twice(mock: respx.MockRouter) -> None:
    """A receiver feeds the inbox: one query at the start, one to confirm the callback, none in between."""
    route = mock.get(QUERY).mock(side_effect=[ok(record("t1", "waiting")), ok(record("t1", "success"))])
    clock = CallbackClock({"t1": 95.0})  # the callback lands 95 s into the wait
    with Kling(api_key="sk-x", base_url=BASE, clock=clock) as kling:
        task = kling.tasks.wait("t1", expect_callbacks=True, inbox=clock.inbox)
    assert task.state is TaskState.SUCCESS and route.call_count == 2
    assert clock.monotonic() == pytest.approx(95.0)


def test_wait_without_expecting_callbacks_keeps_the_schedule(mock: respx.MockRouter) -> None:
    """The same callback without expect_callbacks: the provider's schedule ran until it came (the contrast)."""
    clock = CallbackClock({"t1": 95.0})
    route = mock.get(QUERY).mock(
        side_effect=lambda _req: ok(record("t1", "success" if clock.monotonic() >= 95.0 else "generating"))
    )
    with Kling(api_key="sk-x", base_url=BASE, clock=clock) as kling:
        task = kling.tasks.wait("t1", inbox=clock.inbox)
    assert task.state is TaskState.SUCCESS and route.call_count > 10
    assert clock.monotonic() == pytest.approx(95.0)


def test_wait_expecting_callbacks_still_polls_when_none_comes(
    kling: Kling, mock: respx.MockRouter, clock: RecordingClock
) -> None:
    states = ["waiting", "generating", "generating", "success"]
    route = mock.get(QUERY).mock(side_effect=[ok(record("t1", s)) for s in states])
    task = kling.tasks.wait("t1", timeout=3600, expect_callbacks=True)
    assert task.state is TaskState.SUCCESS and route.call_count == 4
    assert len(clock.sleeps) == 3 and all(CALLBACK_SAFETY[0] <= s <= CALLBACK_SAFETY[1] for s in clock.sleeps)


def test_schedule_is_a_pure_function_of_elapsed_and_rng() -> None:
    a = [poll_interval(t, random.Random(5)) for t in (1, 40, 500)]
    b = [poll_interval(t, random.Random(5)) for t in (1, 40, 500)]
    assert a == b
    assert SCHEDULE[0][0] == 30 and SCHEDULE[1][0] == 120


def test_wait_follows_schedule_until_success(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    states = ["waiting"] * 3 + ["queuing"] * 10 + ["generating"] * 20 + ["success"]
    route = mock.get(QUERY).mock(side_effect=[ok(record("t1", s)) for s in states])
    updates: list[TaskUpdate] = []
    task = kling.tasks.wait("t1", on_update=updates.append)
    assert task.state is TaskState.SUCCESS and route.call_count == len(states)
    assert [u.task.state.value for u in updates] == states
    assert all(u.deadline == 900 for u in updates)
    # every sleep fits the phase it started in
    t = 0.0
    for s in clock.sleeps:
        low, high = next((lo, hi) for below, lo, hi in SCHEDULE if t < below)
        assert low <= s <= high
        t += s
    assert t > 120  # reached the slow phase


def test_wait_deadline_raises_task_timeout(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    route = mock.get(QUERY).mock(return_value=ok(record("t1", "generating")))
    with pytest.raises(ak.TaskTimeout) as info:
        kling.tasks.wait("t1", timeout=60)
    err = info.value
    assert err.task_id == "t1" and "t1" in str(err)
    assert err.last is not None and err.last.state is TaskState.GENERATING
    assert clock.monotonic() == pytest.approx(60)  # the last sleep is cut to the deadline, never beyond
    assert route.call_count == len(clock.sleeps) + 1


def test_wait_fail_raises_generation_failed(kling: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).mock(side_effect=[ok(record("t1", "generating")), ok(record("t1", "fail"))])
    with pytest.raises(ak.GenerationFailed) as info:
        kling.tasks.wait("t1")
    err = info.value
    assert err.task_id == "t1" and err.fail_code == "500" and err.fail_msg == "Internal server error"
    assert err.task is not None and err.task.state is TaskState.FAIL


def test_wait_unknown_state_is_an_error(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    route = mock.get(QUERY).mock(side_effect=[ok(record("t1", "waiting")), ok(record("t1", "archived"))])
    with pytest.raises(ak.ProtocolError):
        kling.tasks.wait("t1")
    assert route.call_count == 2 and len(clock.sleeps) == 1


def test_wait_survives_transient_errors(kling: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).mock(
        side_effect=[
            ok(record("t1", "waiting")),
            httpx.ReadTimeout("x"),
            httpx.Response(502, text="<html/>"),
            ok(record("t1", "success")),
        ]
    )
    assert kling.tasks.wait("t1").state is TaskState.SUCCESS


def test_callback_wakes_wait_with_one_confirming_query(
    kling: Kling, mock: respx.MockRouter, clock: RecordingClock
) -> None:
    route = mock.get(QUERY).mock(side_effect=[ok(record("t1", "generating")), ok(record("t1", "success"))])

    def receiver_delivers(update: TaskUpdate) -> None:
        if update.task.state is TaskState.GENERATING:
            kling.callbacks.notify("t1")  # what a callback receiver does on a verified callback

    task = kling.tasks.wait("t1", on_update=receiver_delivers)
    assert task.state is TaskState.SUCCESS
    assert route.call_count == 2  # first poll + ONE confirming query
    assert clock.sleeps == []  # the wait did not sleep out its poll interval


def test_callback_for_another_task_does_not_wake(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    mock.get(QUERY).mock(side_effect=[ok(record("t1", "generating")), ok(record("t1", "success"))])
    inbox = CallbackInbox()
    inbox.notify("t2")
    kling.tasks.wait("t1", inbox=inbox)
    assert len(clock.sleeps) == 1


def test_inbox_is_thread_safe_and_bounded() -> None:
    import threading

    inbox = CallbackInbox(max_pending=3)
    threading.Thread(target=inbox.notify, args=("a",)).start()
    assert inbox.wait("a", 5.0)
    for tid in "bcde":
        inbox.notify(tid)
    assert not inbox.pending("a") and inbox.pending("e")
    assert inbox.take("e") and not inbox.take("e")


async def test_async_wait_schedule_and_success(
    akling: ak.AsyncKling, mock: respx.MockRouter, clock: RecordingClock
) -> None:
    mock.get(QUERY).mock(
        side_effect=[ok(record("t1", "waiting")), ok(record("t1", "generating")), ok(record("t1", "success"))]
    )
    seen: list[str] = []

    async def on_update(u: TaskUpdate) -> None:
        seen.append(u.task.state.value)

    task = await akling.tasks.wait("t1", on_update=on_update)
    assert task.state is TaskState.SUCCESS and seen == ["waiting", "generating", "success"]
    assert len(clock.sleeps) == 2 and all(2 <= s <= 3 for s in clock.sleeps)


async def test_async_timeout(akling: ak.AsyncKling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).mock(return_value=ok(record("t9", "queuing")))
    with pytest.raises(ak.TaskTimeout) as info:
        await akling.tasks.wait("t9", timeout=20)
    assert info.value.task_id == "t9"


async def test_async_callback_wakes_a_sleeping_wait(akling: ak.AsyncKling, mock: respx.MockRouter) -> None:
    """A real-time wait (SystemClock) ended by a callback from another task, long before its poll interval.

    The interval is the 5-minute safety net: only the callback can end the sleep within the 60 s that
    wait_for allows (a bound that turns a missed wake-up into a failure, not a claim about speed).
    """
    import asyncio

    from apikley_kling import AsyncKling

    route = mock.get(QUERY).mock(side_effect=[ok(record("t1", "generating")), ok(record("t1", "success"))])
    async with AsyncKling(api_key="sk-x", base_url="https://api.test.example") as real:

        async def deliver() -> None:
            await asyncio.sleep(0.05)
            real.callbacks.notify("t1")

        waiting = real.tasks.wait("t1", timeout=3600, expect_callbacks=True)
        _, task = await asyncio.wait_for(asyncio.gather(deliver(), waiting), timeout=60)
    assert task.state is TaskState.SUCCESS and route.call_count == 2


def test_sync_callback_from_thread_wakes_a_sleeping_wait(mock: respx.MockRouter) -> None:
    """As above, from a thread: the waiting thread must end within 60 s, its safety-net sleep being 5 minutes."""
    import threading

    route = mock.get(QUERY).mock(side_effect=[ok(record("t1", "generating")), ok(record("t1", "success"))])
    with Kling(api_key="sk-x", base_url="https://api.test.example") as real:
        got: list[ak.Task] = []
        waiter = threading.Thread(
            target=lambda: got.append(real.tasks.wait("t1", timeout=3600, expect_callbacks=True)), daemon=True
        )
        waiter.start()
        timer = threading.Timer(0.05, real.callbacks.notify, args=("t1",))
        timer.start()
        waiter.join(timeout=60)
        assert not waiter.is_alive(), "the callback did not wake the wait"
    [task] = got
    assert task.state is TaskState.SUCCESS and route.call_count == 2


async def test_async_callback_from_hook_with_virtual_clock(
    akling: ak.AsyncKling, mock: respx.MockRouter, clock: RecordingClock
) -> None:
    route = mock.get(QUERY).mock(side_effect=[ok(record("t1", "generating")), ok(record("t1", "success"))])

    def on_update(u: TaskUpdate) -> None:
        if u.task.state is TaskState.GENERATING:
            akling.callbacks.notify("t1")

    task = await akling.tasks.wait("t1", on_update=on_update)
    assert task.state is TaskState.SUCCESS and route.call_count == 2 and clock.sleeps == []
