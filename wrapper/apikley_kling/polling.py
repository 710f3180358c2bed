"""When to ask again: the provider's polling schedule, deadlines, callback wake-ups,
and one scheduler for many tasks under a shared request budget. No IO here.

The provider advises polling every 2-3 s for the first 30 s, then every
5-10 s, after 2 minutes every 15-30 s, and giving up after 10-15 minutes.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .errors import GenerationFailed, KlingError, RateLimitError, TaskTimeout
from .events import TaskUpdate
from .models import Task, TaskState
from .retry import RetryPolicy

__all__ = [
    "CALLBACK_SAFETY",
    "SCHEDULE",
    "CallbackInbox",
    "Done",
    "Idle",
    "Launch",
    "Pacer",
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

DEFAULT_TIMEOUT = 900.0
_EPS = 1e-9  # float slack, so that "a token is due at t" really means one is there at t  # 15 minutes, the upper end of the provider's advice


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


class CallbackInbox:
    """Where a callback receiver drops "task X has finished" so that a wait ends at once.

    Thread-safe: a receiver running in another thread (or process-local ASGI
    app) calls `notify(task_id)`; waits (sync or async) wake and confirm with
    one query, since the provider signs only taskId+timestamp. A notification
    that arrives before anyone waits is kept (bounded) until taken.
    """

    def __init__(self, max_pending: int = 10_000) -> None:
        self._cond = threading.Condition()
        self._pending: OrderedDict[str, None] = OrderedDict()
        self._max = max_pending
        self._listeners: list[Callable[[str], None]] = []

    def notify(self, task_id: str) -> None:
        with self._cond:
            self._pending[task_id] = None
            self._pending.move_to_end(task_id)
            while len(self._pending) > self._max:
                self._pending.popitem(last=False)
            listeners = list(self._listeners)
            self._cond.notify_all()
        for listener in listeners:
            listener(task_id)

    def pending(self, task_id: str) -> bool:
        with self._cond:
            return task_id in self._pending

    def take(self, task_id: str) -> bool:
        """Consume a notification for task_id; True if there was one."""
        with self._cond:
            return self._pending.pop(task_id, 0) is None

    def wait(self, task_id: str, timeout: float) -> bool:
        """Block (real time) until task_id is notified or timeout passes; True if notified. Does not consume."""
        with self._cond:
            return self._cond.wait_for(lambda: task_id in self._pending, timeout=max(0.0, timeout))

    def subscribe(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call listener(task_id) on every notify; returns the unsubscribe function."""
        with self._cond:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._cond:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def __repr__(self) -> str:
        return f"CallbackInbox(pending={len(self._pending)})"


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
    """Nothing to launch now: wait until `until` (monotonic), an in-flight answer, or a wake-up."""

    until: float | None


@dataclass(frozen=True)
class Done:
    pass


class Waiter:
    """Sans-IO scheduler for waiting on many tasks under one request budget.

    The shell asks next_action(now): Launch(task_id) means "query this task
    now" (a token has been taken), Idle(until) means "sleep until then unless
    an answer or a callback arrives first", Done means every task has an
    outcome in `results` (a Task on success; GenerationFailed, TaskTimeout or
    another KlingError otherwise). The shell reports each query's outcome with
    on_answer/on_error and callback wake-ups with wake().
    """

    def __init__(
        self,
        task_ids: Iterable[str],
        *,
        now: float,
        timeout: float = DEFAULT_TIMEOUT,
        rate: float = 5.0,
        burst: float | None = None,
        max_in_flight: int = 16,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        expect_callbacks: bool = False,
    ) -> None:
        self.start = now
        self.expect_callbacks = expect_callbacks
        self.deadline = now + timeout
        self.timeout = timeout
        self.bucket = TokenBucket(rate=rate, burst=burst if burst is not None else rate, now=now)
        self.max_in_flight = max(1, max_in_flight)
        self.retry = retry or RetryPolicy()
        self.rng = rng or random.Random()
        self.results: dict[str, Task | KlingError] = {}
        self.last: dict[str, Task] = {}
        self.queries = 0
        self._seq = itertools.count()
        self._heap: list[tuple[float, int, str]] = []
        self._due: dict[str, float] = {}
        self._in_flight: set[str] = set()
        # Callbacks that arrived while their task's query was in flight: that answer may predate them.
        self._woken_in_flight: set[str] = set()
        self._attempts: dict[str, int] = {}
        for tid in dict.fromkeys(task_ids):
            self._schedule(tid, now)

    def _schedule(self, task_id: str, when: float) -> None:
        when = min(when, self.deadline)
        self._due[task_id] = when
        heapq.heappush(self._heap, (when, next(self._seq), task_id))

    def _peek(self) -> tuple[float, str] | None:
        while self._heap:
            when, _, tid = self._heap[0]
            if self._due.get(tid) == when and tid not in self._in_flight and tid not in self.results:
                return when, tid
            heapq.heappop(self._heap)  # stale entry (rescheduled, finished, or in flight)
        return None

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def next_action(self, now: float) -> Launch | Idle | Done:
        head = self._peek()
        if head is None:
            return Idle(None) if self._in_flight else Done()
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
        woken = task_id in self._woken_in_flight
        self._woken_in_flight.discard(task_id)
        self._attempts.pop(task_id, None)
        self.last[task_id] = task
        update = TaskUpdate(task=task, elapsed=now - self.start, deadline=self.timeout)
        if task.state is TaskState.SUCCESS:
            self.results[task_id] = task
        elif task.state is TaskState.FAIL:
            self.results[task_id] = fail_error(task)
        elif now >= self.deadline:
            self.results[task_id] = TaskTimeout(task_id, timeout=self.timeout, last=task)
        elif woken:
            self._schedule(task_id, now)
        else:
            interval = poll_interval(now - self.start, self.rng, expect_callbacks=self.expect_callbacks)
            self._schedule(task_id, now + interval)
        return update

    def on_error(self, task_id: str, err: KlingError, now: float) -> None:
        self._in_flight.discard(task_id)
        self._woken_in_flight.discard(task_id)  # the retry below is a fresh query anyway
        attempt = self._attempts.get(task_id, 0)
        if self.retry.transient(err) and attempt < self.retry.max_retries:
            retry_after = getattr(err, "retry_after", None)
            delay = self.retry.backoff(attempt, retry_after)
            if isinstance(err, RateLimitError):
                self.bucket.pause(now, delay)  # the whole budget backs off, not just this task
            self._attempts[task_id] = attempt + 1
            if now + delay <= self.deadline:
                self._schedule(task_id, now + delay)
                return
            err = TaskTimeout(task_id, timeout=self.timeout, last=self.last.get(task_id))
        err.task_id = err.task_id or task_id
        self.results[task_id] = err

    def wake(self, task_id: str, now: float) -> None:
        """A callback said task_id finished: query it as soon as the budget allows."""
        if task_id in self._in_flight:
            self._woken_in_flight.add(task_id)
        elif task_id in self._due and task_id not in self.results:
            self._schedule(task_id, now)

    def is_done(self) -> bool:
        return not self._in_flight and self._peek() is None
