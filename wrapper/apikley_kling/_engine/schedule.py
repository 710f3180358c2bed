"""When to ask again: the provider's polling schedule, request budgets, and the one
scheduler for many tasks (per-task deadlines, retries of queries, callback wake-ups). No IO here.

The provider advises polling every 2-3 s for the first 30 s, then every
5-10 s, after 2 minutes every 15-30 s, and giving up after 10-15 minutes.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .._config import DEFAULT_TIMEOUT
from ..errors import GenerationFailed, KlingError, RateLimitError, TaskTimeout
from ..events import TaskUpdate
from ..models import Task, TaskState
from .retry import RetryPolicy

__all__ = [
    "CALLBACK_SAFETY",
    "SCHEDULE",
    "Done",
    "Idle",
    "Launch",
    "Pacer",
    "RequestBudget",
    "TokenBucket",
    "Waiter",
    "fail_error",
    "poll_interval",
]

# (elapsed below, interval low, interval high): the upper part of each range the provider
# advises. Jitter still spreads many clients apart. For 60 tasks of 30-300 s
# (benchmarks/bench_wait.py), the whole ranges (2-3, 5-10, 15-30 s) cost 25.6 queries per
# task, 0.33x a 2-second poller; these cost 22.4 (0.29x), with the mean detection delay at
# 8% of the task's time instead of 6%.
SCHEDULE: tuple[tuple[float, float, float], ...] = (
    (30.0, 2.5, 3.0),
    (120.0, 8.0, 10.0),
    (float("inf"), 25.0, 30.0),
)

# When a callback receiver feeds the inbox, a query is only a safety net for a callback
# that never comes: one at the start (an unknown id fails at once), one to confirm each
# callback, and one every 5-5.5 minutes, longer than most generations take.
CALLBACK_SAFETY: tuple[float, float] = (300.0, 330.0)

_EPS = 1e-9  # float slack, so that "a token is due at t" really means one is there at t


def poll_interval(elapsed: float, rng: random.Random | None = None, *, expect_callbacks: bool = False) -> float:
    """Seconds until the next query, a pure function of the time since the wait began (and the jitter source).

    With `expect_callbacks`, the long safety-net interval: a callback ends the sleep long before.
    """
    r = rng if rng is not None else random
    if expect_callbacks:
        return r.uniform(*CALLBACK_SAFETY)
    for below, low, high in SCHEDULE:
        if elapsed < below:
            return r.uniform(low, high)
    raise AssertionError("unreachable: the schedule ends at infinity")


def fail_error(task: Task) -> GenerationFailed:
    detail = task.fail_msg or "no message"
    code = f" ({task.fail_code})" if task.fail_code else ""
    return GenerationFailed(
        f"generation failed{code}: {detail}",
        task=task,
        task_id=task.id,
        fail_code=task.fail_code,
        fail_msg=task.fail_msg,
    )


@dataclass
class TokenBucket:
    """A shared request budget: `rate` requests per second, bursts up to `burst`."""

    rate: float
    burst: float
    now: float
    tokens: float = field(init=False)
    paused_until: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError("rate must be positive")
        self.burst = max(1.0, self.burst)
        self.tokens = self.burst

    def _refill(self, now: float) -> None:
        if now > self.now:
            start = max(self.now, self.paused_until)
            if now > start:
                self.tokens = min(self.burst, self.tokens + (now - start) * self.rate)
            self.now = now

    def try_take(self, now: float) -> bool:
        self._refill(now)
        if now < self.paused_until or self.tokens < 1.0 - _EPS:
            return False
        self.tokens = max(0.0, self.tokens - 1.0)
        return True

    def available_at(self, now: float) -> float:
        self._refill(now)
        start = max(now, self.paused_until)
        if self.tokens >= 1.0 - _EPS:
            return start
        return start + (1.0 - self.tokens) / self.rate + _EPS

    def pause(self, now: float, seconds: float) -> None:
        self._refill(now)
        self.tokens = 0.0
        self.paused_until = max(self.paused_until, now + seconds)


@runtime_checkable
class RequestBudget(Protocol):
    """What `Kling(rate_limit=...)` draws from before every API call (creates, uploads, queries, credits).

    `rate_limit=5` builds a local one (Pacer); any object with these two methods can be passed instead,
    e.g. one shared by several processes.
    """

    def wait_time(self, now: float) -> float:
        """0.0 when a request may go now (a token was taken); otherwise seconds to wait before asking again.

        `now` is the client clock's monotonic time; a shared budget may ignore it and use its own clock.
        """
        ...

    def pause(self, now: float, seconds: float) -> None:
        """A 429 came back: nobody sharing this budget sends for `seconds`."""
        ...


class Pacer:
    """A client-wide request budget (`Kling(rate_limit=...)`): every API call takes a token first.

    Thread-safe, since one sync client may serve many threads. The burst is one request:
    pacing evenly keeps a client from ever draining the service's own bucket in one go.
    """

    def __init__(self, rate: float, now: float) -> None:
        self._lock = threading.Lock()
        self._bucket = TokenBucket(rate=rate, burst=1.0, now=now)

    @property
    def rate(self) -> float:
        return self._bucket.rate

    def wait_time(self, now: float) -> float:
        """0.0 when a token was taken; otherwise the seconds to sleep before asking again."""
        with self._lock:
            if self._bucket.try_take(now):
                return 0.0
            return max(self._bucket.available_at(now) - now, _EPS)

    def pause(self, now: float, seconds: float) -> None:
        """A 429: nobody on this client sends before `seconds` have passed."""
        with self._lock:
            self._bucket.pause(now, seconds)

    def __repr__(self) -> str:
        return f"Pacer(rate={self.rate:g}/s)"


@dataclass(frozen=True)
class Launch:
    task_id: str


@dataclass(frozen=True)
class Idle:
    """Nothing to launch now: wait until `until` (monotonic), an in-flight answer, an add or a wake-up."""

    until: float | None


@dataclass(frozen=True)
class Done:
    pass


@dataclass
class _Watched:
    """One task being waited on: its own start and deadline (from when it was added)."""

    start: float
    deadline: float
    attempts: int = 0  # transient query errors in a row
    last: Task | None = None
    woken_in_flight: bool = False  # a callback arrived while its query was out: that answer may predate it


class Waiter:
    """Sans-IO scheduler for waiting on many tasks under one request budget: the one many-task waiter.

    The shell asks next_action(now): Launch(task_id) means "query this task
    now" (a token has been taken), Idle(until) means "sleep until then unless
    an answer, an add or a callback arrives first", Done means the waiter is
    closed and every task has an outcome in `results` (a Task on success;
    GenerationFailed, TaskTimeout or another KlingError otherwise). The shell
    reports each query's outcome with on_answer/on_error, callback wake-ups
    with wake(), and hands out finished tasks from pop_finished().

    Tasks given to the constructor are added at `now` and the waiter is closed
    (a fixed set) unless closed=False; add() takes more until close().
    Each task's deadline is its add time + timeout. `interval` replaces the
    provider's schedule with fixed seconds between queries of one task.
    A transient query error is retried `retry.max_retries` times, or, with
    retry_until_deadline, for as long as the task's deadline allows (an outage
    of the service is ridden out: waiting costs nothing).
    """

    def __init__(
        self,
        task_ids: Iterable[str] = (),
        *,
        now: float,
        timeout: float = DEFAULT_TIMEOUT,
        rate: float = 5.0,
        burst: float | None = None,
        max_in_flight: int = 16,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        expect_callbacks: bool = False,
        interval: float | None = None,
        closed: bool = True,
        retry_until_deadline: bool = False,
    ) -> None:
        if interval is not None and not interval > 0:
            raise ValueError(f"interval: must be a positive number of seconds, not {interval!r}")
        self.expect_callbacks = expect_callbacks
        self.retry_until_deadline = retry_until_deadline
        self.timeout = timeout
        self.interval = interval
        self.bucket = TokenBucket(rate=rate, burst=burst if burst is not None else rate, now=now)
        self.max_in_flight = max(1, max_in_flight)
        self.retry = retry or RetryPolicy()
        self.rng = rng or random.Random()
        self.results: dict[str, Task | KlingError] = {}
        self.queries = 0
        self.closed = False
        self._tasks: dict[str, _Watched] = {}
        self._finished: list[str] = []
        self._seq = itertools.count()
        self._heap: list[tuple[float, int, str]] = []
        self._due: dict[str, float] = {}
        self._in_flight: set[str] = set()
        for tid in task_ids:
            self.add(tid, now)
        if closed:
            self.close()

    def add(self, task_id: str, now: float, *, query_now: bool = True) -> None:
        """Wait on task_id from now until now + timeout; query_now=False lets one interval pass first."""
        if self.closed:
            raise RuntimeError("add() after close()")
        if task_id in self._tasks or task_id in self.results:
            return
        self._tasks[task_id] = _Watched(start=now, deadline=now + self.timeout)
        self._schedule(task_id, now if query_now else now + self._interval(0.0))

    def close(self) -> None:
        """No more add(): Done once every task has an outcome."""
        self.closed = True

    def _interval(self, elapsed: float) -> float:
        if self.interval is not None:
            return self.interval
        return poll_interval(elapsed, self.rng, expect_callbacks=self.expect_callbacks)

    def _schedule(self, task_id: str, when: float) -> None:
        when = min(when, self._tasks[task_id].deadline)
        self._due[task_id] = when
        heapq.heappush(self._heap, (when, next(self._seq), task_id))

    def _peek(self) -> tuple[float, str] | None:
        while self._heap:
            when, _, tid = self._heap[0]
            if self._due.get(tid) == when and tid not in self._in_flight:
                return when, tid
            heapq.heappop(self._heap)  # stale entry (rescheduled, finished, or in flight)
        return None

    def _finish(self, task_id: str, outcome: Task | KlingError) -> None:
        del self._tasks[task_id]
        self._due.pop(task_id, None)
        self.results[task_id] = outcome
        self._finished.append(task_id)

    def pop_finished(self) -> list[tuple[str, Task | KlingError]]:
        """The outcomes reached since the last call, in the order they were reached."""
        done, self._finished = self._finished, []
        return [(tid, self.results[tid]) for tid in done]

    def next_action(self, now: float) -> Launch | Idle | Done:
        head = self._peek()
        if head is None:
            return Done() if self.closed and not self._tasks else Idle(None)
        when, tid = head
        if len(self._in_flight) >= self.max_in_flight:
            return Idle(None)
        if when > now:
            return Idle(when)
        if not self.bucket.try_take(now):
            return Idle(self.bucket.available_at(now))
        heapq.heappop(self._heap)
        del self._due[tid]
        self._in_flight.add(tid)
        self.queries += 1
        return Launch(tid)

    def on_answer(self, task_id: str, task: Task, now: float) -> TaskUpdate:
        self._in_flight.discard(task_id)
        entry = self._tasks[task_id]
        woken, entry.woken_in_flight = entry.woken_in_flight, False
        entry.attempts = 0
        entry.last = task
        update = TaskUpdate(task=task, elapsed=now - entry.start, deadline=self.timeout)
        if task.state is TaskState.SUCCESS:
            self._finish(task_id, task)
        elif task.state is TaskState.FAIL:
            self._finish(task_id, fail_error(task))
        elif now >= entry.deadline:
            self._finish(task_id, TaskTimeout(task_id, timeout=self.timeout, last=task))
        elif woken:
            self._schedule(task_id, now)
        else:
            self._schedule(task_id, now + self._interval(now - entry.start))
        return update

    def on_error(self, task_id: str, err: KlingError, now: float) -> None:
        self._in_flight.discard(task_id)
        entry = self._tasks[task_id]
        entry.woken_in_flight = False  # the retry below is a fresh query anyway
        if self.retry.transient(err) and (self.retry_until_deadline or entry.attempts < self.retry.max_retries):
            # The backoff stops growing at its cap long before 30 attempts; the bound keeps 2**n a small number.
            delay = self.retry.backoff(min(entry.attempts, 30), getattr(err, "retry_after", None))
            if isinstance(err, RateLimitError):
                self.bucket.pause(now, delay)  # the whole budget backs off, not just this task
            entry.attempts += 1
            if now + delay <= entry.deadline:
                self._schedule(task_id, now + delay)
                return
            timeout = TaskTimeout(task_id, timeout=self.timeout, last=entry.last)
            timeout.__cause__ = err  # what the last query met: the task itself may be fine
            err = timeout
        err.task_id = err.task_id or task_id
        self._finish(task_id, err)

    def wake(self, task_id: str, now: float) -> None:
        """A callback said task_id finished: query it as soon as the budget allows."""
        if task_id in self._in_flight:
            self._tasks[task_id].woken_in_flight = True
        elif task_id in self._due:
            self._schedule(task_id, now)
