"""A signed callback wakes a wait; wait_many on 200 tasks stays under its request budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from apikley_kling import AsyncKling, Kling, TaskState, VirtualClock, verify_callback
from apikley_kling.polling import poll_interval
from apikley_kling.simulator import Delivery, Money, Simulator, Timings

from .conftest import KEY, Edge, async_client, png, record_requests, sync_client

PNG = png(64, 48)
WEBHOOK_KEY = "whk-integration"
CALLBACK = "https://receiver.example/kling"  # a custom sender sees any URL; nothing leaves the process


class CallbackClock(VirtualClock):
    """Time passes in small steps during a sleep, the simulator sends the callbacks that fall due,
    and a sleep ends early once one was delivered: what a real sleep interrupted by the inbox does."""

    step = 0.05

    def __init__(self) -> None:
        super().__init__()
        self.sim: Simulator | None = None

    def _sleep_steps(self, seconds: float) -> None:
        left = max(0.0, seconds)
        while left > 0:
            d = min(self.step, left)
            self.advance(d)
            left -= d
            if self.sim is not None and self.sim.run_due():
                return

    def sleep(self, seconds: float) -> None:
        self._sleep_steps(seconds)

    async def asleep(self, seconds: float) -> None:
        import asyncio

        await asyncio.sleep(0)
        self._sleep_steps(seconds)


def callback_sim(make_sim: Callable[..., Simulator], generation: float, notify: Callable[[str], None]) -> Simulator:
    clock = CallbackClock()
    verified: list[str] = []

    def sender(delivery: Delivery) -> int:
        task = verify_callback(delivery.headers, delivery.body, WEBHOOK_KEY, clock=clock)
        verified.append(task.id)
        notify(task.id)
        return 200

    sim = make_sim(
        clock=clock,
        webhook_key=WEBHOOK_KEY,
        sender=sender,
        timings=Timings(waiting=0.2, queuing=0.3, generation=generation),
    )
    clock.sim = sim
    sim.verified = verified  # type: ignore[attr-defined]
    return sim


def done_at(sim: Simulator, task_id: str) -> float:
    """The task's end on the monotonic scale of the shared clock."""
    return sim.task(task_id).done_at - (sim.clock.time() - sim.clock.monotonic())


@pytest.mark.parametrize("generation", [0.5, 300.0])
def test_callback_wakes_wait_sync(make_sim: Callable[..., Simulator], generation: float) -> None:
    holder: list[Kling] = []
    sim = callback_sim(make_sim, generation, lambda tid: holder[0].callbacks.notify(tid))
    with sync_client(sim) as kling:
        holder.append(kling)
        task = kling.tasks.create("p", image_url=kling.files.upload(PNG), callback_url=CALLBACK)
        end = done_at(sim, task.id)
        before_wait = record_requests(sim)
        polls_before_callback: list[int] = []
        result = kling.tasks.wait(
            task.id,
            on_update=lambda u: polls_before_callback.append(record_requests(sim)) if not sim.verified else None,  # type: ignore[attr-defined]
        )
    assert result.state is TaskState.SUCCESS
    assert sim.verified == [task.id] and sim.counters.callbacks_sent[task.id] == 1  # type: ignore[attr-defined]
    # the wait ended as the callback arrived, not at the next scheduled query
    assert end <= sim.clock.monotonic() < end + CallbackClock.step + 1e-9
    after_callback = record_requests(sim) - (polls_before_callback[-1] if polls_before_callback else before_wait)
    assert after_callback <= 2
    if generation < poll_interval(0, Edge("low")):
        assert record_requests(sim) - before_wait <= 2  # done within the first sleep: at most 2 queries


@pytest.mark.parametrize("generation", [0.5, 300.0])
async def test_callback_wakes_wait_async(make_sim: Callable[..., Simulator], generation: float) -> None:
    holder: list[AsyncKling] = []
    sim = callback_sim(make_sim, generation, lambda tid: holder[0].callbacks.notify(tid))
    async with async_client(sim) as kling:
        holder.append(kling)
        task = await kling.tasks.create("p", image_url=await kling.files.upload(PNG), callback_url=CALLBACK)
        end = done_at(sim, task.id)
        before_wait = record_requests(sim)
        result = await kling.tasks.wait(task.id)
    assert result.state is TaskState.SUCCESS and sim.verified == [task.id]  # type: ignore[attr-defined]
    assert end <= sim.clock.monotonic() < end + CallbackClock.step + 1e-9
    total = record_requests(sim) - before_wait
    # all queries but the confirming one fit the schedule before the task ended
    rng, t, scheduled = Edge("low"), 0.0, 1
    while t + poll_interval(t, rng) < end:
        t += poll_interval(t, rng)
        scheduled += 1
    assert total <= scheduled + 1
    if generation < poll_interval(0, Edge("low")):
        assert total <= 2


# ---------------------------------------------------------------------------
# many tasks under one budget

N = 200
RATE = 5.0


def budget_sim(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(
        seed=3, money=Money(credits=1e7), timings=Timings(generation=lambda seconds, rng: rng.uniform(20.0, 150.0))
    )


def check_budget(
    sim: Simulator, results: dict[str, object], ids: list[str], t0: float, queries: int, times: list[float]
) -> None:
    assert list(results) == ids
    assert len(times) == queries
    times.sort()
    for i in range(len(times)):  # every window [t_i, t_j] holds at most rate * width + burst queries
        for j in range(i + int(RATE) + 1, len(times)):
            assert j - i + 1 <= RATE * (times[j] - times[i]) + RATE + 1e-6
    assert all(getattr(r, "state", None) is TaskState.SUCCESS for r in results.values())
    elapsed = sim.clock.monotonic() - t0
    assert queries <= RATE * elapsed + RATE + 1  # the bucket: `rate` per second plus one burst
    assert queries >= N  # every task was asked at least once
    assert sim.counters.rate_limited[KEY] == 0  # the simulator's own limiter (same rate) never tripped


def test_wait_many_200_tasks_under_budget_sync(make_sim: Callable[..., Simulator]) -> None:
    sim = budget_sim(make_sim)
    with sync_client(sim) as kling:
        url = kling.files.upload(PNG)
        ids = [kling.tasks.create(f"task {i}", image_url=url).id for i in range(N)]
        sim.limits = replace(sim.limits, rate=RATE, burst=RATE)
        sim.clock.advance(1.0)  # let the simulator's bucket fill
        t0, before = sim.clock.monotonic(), record_requests(sim)
        times: list[float] = []
        results = kling.tasks.wait_many(ids, rate=RATE, timeout=900, on_update=lambda u: times.append(u.elapsed))
    check_budget(sim, dict(results), ids, t0, record_requests(sim) - before, times)


async def test_wait_many_200_tasks_under_budget_async(make_sim: Callable[..., Simulator]) -> None:
    sim = budget_sim(make_sim)
    async with async_client(sim) as kling:
        url = await kling.files.upload(PNG)
        ids = [(await kling.tasks.create(f"task {i}", image_url=url)).id for i in range(N)]
        sim.limits = replace(sim.limits, rate=RATE, burst=RATE)
        sim.clock.advance(1.0)
        t0, before = sim.clock.monotonic(), record_requests(sim)
        times: list[float] = []
        results = await kling.tasks.wait_many(
            ids, rate=RATE, max_in_flight=8, timeout=900, on_update=lambda u: times.append(u.elapsed)
        )
    check_budget(sim, dict(results), ids, t0, record_requests(sim) - before, times)
