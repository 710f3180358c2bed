"""Waiting: the SDK's many-task waiter vs a naive 2-second poller, on a VirtualClock.

Both face an in-process simulator whose tasks take 30..300 s from create to
done (the same seeded draws for both). Figures: queries per task, and the
mean detection delay (from the moment a task is done to the query that sees
it) as a fraction of that task's time. A third run feeds the SDK's callback
inbox from the simulator's (signed) callback sender.

Virtual time: `PumpClock.sleep` moves the clock in 10 ms steps and delivers
the simulator's due callbacks at each step, ending the sleep early when one
arrives, which is what `event.wait()` does on the system clock.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from typing import Any

import httpx

from ._table import Row

KEY = "sk-sim-local"
WEBHOOK_KEY = "whsec-bench"
RATE = 50.0  # the waiter's request budget (queries/s); the naive poller has none
STEP = 0.01


def _sim(clock: Any, **options: Any) -> Any:
    from apikley_kling.simulator import Money, Simulator, Timings

    # 1 s waiting + 3 s queuing + 26..296 s generating: 30..300 s from create to done.
    return Simulator(
        clock=clock,
        external_images="placeholder",
        seed=11,
        **options,
        money=Money(credits=1e12),
        timings=Timings(generation=lambda _d, rng: rng.uniform(26.0, 296.0)),
    )


def _create(sim: Any, n: int, callback: str | None = None) -> list[str]:
    from apikley_kling.catalog import models

    # The default model's minimal input from its page (its image a placeholder URL: the simulator takes any).
    catalog = models()
    model = catalog[catalog.default]
    body: dict[str, Any] = {"model": model.id, "input": {**model.sample_input(), "prompt": "bench"}}
    if callback:
        body["callBackUrl"] = callback
    ids = []
    with httpx.Client(
        transport=sim.sync_transport(), base_url=sim.base_url, headers={"Authorization": f"Bearer {KEY}"}
    ) as c:
        for _ in range(n):
            ids.append(c.post("/api/v1/jobs/createTask", json=body).json()["data"]["taskId"])
    sim.counters.requests.clear()
    return ids


def _delays(sim: Any, seen: dict[str, float]) -> list[float]:
    out = []
    for tid, at in seen.items():
        task = sim.task(tid)
        span = task.done_at - task.created
        out.append(max(0.0, at - task.done_at) / span)
    return out


def naive(n: int) -> tuple[float, float, float]:
    """Every pending task queried every 2 s, no budget: the poller people write first."""
    from apikley_kling.clock import VirtualClock

    clock = VirtualClock()
    sim = _sim(clock)
    ids = _create(sim, n)
    seen: dict[str, float] = {}
    pending = list(ids)
    with httpx.Client(
        transport=sim.sync_transport(), base_url=sim.base_url, headers={"Authorization": f"Bearer {KEY}"}
    ) as c:
        for _ in range(100_000):
            if not pending:
                break
            still = []
            for tid in pending:
                data = c.get("/api/v1/jobs/recordInfo", params={"taskId": tid}).json()["data"]
                if data["state"] in ("success", "fail"):
                    seen[tid] = clock.time()
                else:
                    still.append(tid)
            pending = still
            clock.advance(2.0)
    queries = sim.counters.requests["recordInfo"]
    d = _delays(sim, seen)
    return queries / n, statistics.mean(d), max(d)


class PumpClock:
    """A VirtualClock whose sleeps deliver the simulator's due callbacks, ending early when one arrives."""

    def __init__(self) -> None:
        from apikley_kling.clock import VirtualClock

        self._v = VirtualClock()
        self.sim: Any = None
        self.delivered = 0

    def monotonic(self) -> float:
        return self._v.monotonic()

    def time(self) -> float:
        return self._v.time()

    def advance(self, seconds: float) -> None:
        self._v.advance(seconds)

    def sleep(self, seconds: float) -> None:
        left = max(0.0, seconds)
        before = self.delivered
        target = self._v.monotonic() + left
        for _ in range(10_000_000):
            now = self._v.monotonic()
            if now >= target:
                break
            step = min(STEP, target - now)
            self._v.advance(step)
            if self._v.monotonic() == now:  # below one ulp: land exactly on the target
                self._v.advance(target - now + 1e-12)
            if self.sim is not None:
                self.sim.run_due()
            if self.delivered != before:
                return

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def sdk(n: int, callbacks: bool) -> tuple[float, float, float]:
    from apikley_kling import Kling, TaskState, verify_callback

    clock = PumpClock()
    box: list[Callable[[str], None]] = []

    def sender(delivery: Any) -> int:
        task = verify_callback(delivery.headers, delivery.body, WEBHOOK_KEY, clock=clock)
        clock.delivered += 1
        box[0](task.id)
        return 200

    sim = _sim(clock, webhook_key=WEBHOOK_KEY, sender=sender)
    clock.sim = sim
    ids = _create(sim, n, callback="http://127.0.0.1:9/callbacks" if callbacks else None)
    seen: dict[str, float] = {}

    def on_update(update: Any) -> None:
        if update.task.state in (TaskState.SUCCESS, TaskState.FAIL) and update.task.id not in seen:
            seen[update.task.id] = clock.time()

    with Kling(
        api_key=KEY, base_url=sim.base_url, transport=sim.sync_transport(), clock=clock, rng=random.Random(3)
    ) as kling:
        box.append(kling.callbacks.notify)
        results = kling.tasks.wait_many(ids, rate=RATE, timeout=900, on_update=on_update, expect_callbacks=callbacks)
    bad = [r for r in results.values() if not hasattr(r, "state")]
    if bad or len(seen) != n:
        raise RuntimeError(f"waiter lost tasks: {len(seen)} of {n} seen, errors {bad[:3]}")
    queries = sim.counters.requests["recordInfo"]
    d = _delays(sim, seen)
    spans = [sim.task(t).done_at - sim.task(t).created for t in ids]
    abs_delays = [x * s for x, s in zip(d, spans, strict=True)]
    return queries / n, statistics.mean(d), max(abs_delays)


def run(quick: bool) -> list[Row]:
    n = 60 if quick else 500
    nq, nd, _ = naive(n)
    sq, sd, _ = sdk(n, callbacks=False)
    cq, cd, cmax = sdk(n, callbacks=True)
    note = f"{n} tasks, 30..300 s, waiter rate {RATE:g}/s"
    return [
        Row("wait: queries/task, waiter vs 2s poll", sq, nq, "", note=note),
        Row(
            "wait: mean delay/task time vs 2s poll",
            sd * 100,
            nd * 100,
            "%",
        ),
        Row("wait+callbacks: queries/task", cq, 2.0, "", note="reference = goal"),
        Row(
            "wait+callbacks: max detection delay",
            cmax,
            0.1,
            "s",
            note=f"reference = goal; mean {cd * 100:.3f}% of task time",
        ),
    ]
