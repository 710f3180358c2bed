"""Waiting on many tasks that arrive over time: `kling.tasks.watch(...)` and its async twin.

The sans-IO `_engine.schedule.Waiter` decides every query (per-task deadlines, the
watcher's rate, retries of transient query errors, callback wake-ups); these
shells only send the queries it asks for, sleep, and hand out outcomes.
`add`, `close` and `cancel` may be called from any thread.

    with kling.tasks.watch(timeout=900, rate=5) as watch:
        watch.add(task_id)                      # more may come from other threads
        watch.close()                           # no more add(): results() ends when all are settled
        for task_id, outcome in watch.results():
            ...                                 # a Task (success) or a KlingError
"""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypedDict, TypeVar, Unpack

from ._engine.inbox import CallbackInbox
from ._engine.schedule import Done, Idle, Launch, Waiter
from .clock import Clock, SystemClock
from .errors import KlingError
from .events import TaskUpdate
from .models import Task

if TYPE_CHECKING:
    import asyncio
    import random

    from ._engine.retry import RetryPolicy

__all__ = ["AsyncWatch", "Watch", "WatchOptions"]

Outcome = Task | KlingError
_TICK = 0.1  # real seconds: how long a cancel() may go unnoticed by an idle results()
_VIRTUAL_STEP = 1.0  # a virtual sleep cannot be woken: while add() may still come, take small steps


Q = TypeVar("Q")  # the query: task id -> Task (blocking) or -> Awaitable[Task]


class WatchOptions(TypedDict, total=False):
    """How a watcher waits; every key may be left out (see `Kling.tasks.watch` for the defaults)."""

    timeout: float
    rate: float
    interval: float | None
    on_update: Callable[[TaskUpdate], object] | None
    inbox: CallbackInbox | None
    expect_callbacks: bool
    max_in_flight: int | None
    retry_until_deadline: bool


_SCHEDULING = (
    "timeout",
    "rate",
    "interval",
    "expect_callbacks",
    "retry_until_deadline",
)  # the options the Waiter itself takes


class _Watching(Generic[Q]):
    """What both shells share: the waiter behind a lock, callback wake-ups, cancel."""

    _default_in_flight: ClassVar[int]

    def __init__(
        self,
        query: Q,
        *,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        **options: Unpack[WatchOptions],
    ) -> None:
        self._query = query
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._on_update = options.get("on_update")
        self._inbox = options.get("inbox")
        self._cond = threading.Condition()
        # The Waiter's own defaults (timeout, rate, interval, expect_callbacks) are the watcher's.
        scheduling: dict[str, Any] = {k: v for k, v in options.items() if k in _SCHEDULING}
        self._waiter = Waiter(
            (),
            now=self._clock.monotonic(),
            max_in_flight=options.get("max_in_flight") or self._default_in_flight,
            retry=retry,
            rng=rng,
            closed=False,
            **scheduling,
        )
        self._woken: list[str] = []
        self._answers: list[tuple[str, Task | BaseException]] = []  # from query threads, not reported yet
        self._changes = 0  # bumped by add/close/cancel/callbacks/answers: an idle shell looks again
        self._cancelled = False
        self._unsubscribe: Callable[[], None] | None = None

    def _subscribe(self) -> None:
        if self._inbox is not None and self._unsubscribe is None:
            self._unsubscribe = self._inbox.subscribe(self._notified)

    def _unsubscribe_all(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _changed(self) -> None:
        """Called with the lock held."""
        self._changes += 1
        self._cond.notify_all()

    def _notified(self, task_id: str) -> None:
        with self._cond:
            self._woken.append(task_id)
            self._changed()

    def add(self, task_id: str, query_now: bool = True) -> None:
        """Wait on task_id too; its deadline is now + timeout. query_now=False: the first query waits one
        interval (a task just created cannot be done yet); True: at once (a resumed task)."""
        with self._cond:
            if self._inbox is not None and self._inbox.take(task_id):
                query_now = True  # its callback came before the add
            self._waiter.add(task_id, self._clock.monotonic(), query_now=query_now)
            self._changed()

    def close(self) -> None:
        """No more add(): results() ends once every added task has an outcome."""
        with self._cond:
            self._waiter.close()
            self._changed()

    def cancel(self) -> None:
        """Stop: results() ends soon (within ~0.1 s when idle) and sends nothing more."""
        with self._cond:
            self._cancelled = True
            self._changed()

    def _plan(self) -> tuple[list[tuple[str, Outcome]], Launch | Idle | Done | None, int]:
        """(outcomes to hand out, the next action or None once cancelled, the change count it saw)."""
        with self._cond:
            if self._cancelled:
                return [], None, self._changes
            now = self._clock.monotonic()
            for tid in self._woken:
                self._waiter.wake(tid, now)
            self._woken.clear()
            return self._waiter.pop_finished(), self._waiter.next_action(now), self._changes

    def _report(self, task_id: str, answer: Task | BaseException) -> TaskUpdate | None:
        """Hand the waiter a query's answer; the update to give on_update (None after an error)."""
        with self._cond:
            now = self._clock.monotonic()
            if isinstance(answer, Task):
                update = self._waiter.on_answer(task_id, answer, now)
                return update if self._on_update is not None else None
            if not isinstance(answer, KlingError):
                raise answer
            self._waiter.on_error(task_id, answer, now)
            return None

    @property
    def queries(self) -> int:
        """Queries sent so far."""
        return self._waiter.queries


class Watch(_Watching[Callable[[str], Task]]):
    """The blocking watcher: results() sends the queries, from the calling thread when max_in_flight is 1
    (the default), else from that many worker threads."""

    _default_in_flight = 1

    def __enter__(self) -> Self:
        self._subscribe()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cancel()
        self._unsubscribe_all()

    def results(self) -> Iterator[tuple[str, Outcome]]:
        """(task_id, Task or KlingError) as each task settles; ends after close() once all have, or on cancel()."""
        self._subscribe()
        pool = None
        if self._waiter.max_in_flight > 1:
            from concurrent.futures import ThreadPoolExecutor  # here: most watchers never need threads

            pool = ThreadPoolExecutor(self._waiter.max_in_flight, thread_name_prefix="kling-watch")
        try:
            while True:
                self._report_answers()
                finished, action, seen = self._plan()
                yield from finished
                if action is None or isinstance(action, Done):
                    return
                if isinstance(action, Launch) and pool is not None:
                    pool.submit(self._answered, action.task_id)
                elif isinstance(action, Launch):
                    self._answered(action.task_id)
                else:
                    self._idle(action, seen)
        finally:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    def _answered(self, task_id: str) -> None:
        try:
            answer: Task | BaseException = self._query(task_id)
        except BaseException as exc:  # handed to the results() thread: a KlingError is an outcome, else raised
            answer = exc
        with self._cond:
            self._answers.append((task_id, answer))
            self._changed()

    def _report_answers(self) -> None:
        with self._cond:
            answers, self._answers = self._answers, []
        for task_id, answer in answers:
            update = self._report(task_id, answer)
            if update is not None and self._on_update is not None:
                self._on_update(update)

    def _idle(self, action: Idle, seen: int) -> None:
        with self._cond:
            if self._changes != seen:
                return
            delay = _TICK if action.until is None else max(0.0, action.until - self._clock.monotonic())
            if action.until is None or isinstance(self._clock, SystemClock):
                self._cond.wait_for(lambda: self._changes != seen, timeout=delay)
                return
            step = delay if self._waiter.closed else min(delay, _VIRTUAL_STEP)
        self._clock.sleep(step)


class AsyncWatch(_Watching[Callable[[str], Awaitable[Task]]]):
    """The asyncio watcher: up to `max_in_flight` queries at once (16 by default); `async with` / `async for`."""

    _default_in_flight = 16
    _loop: asyncio.AbstractEventLoop | None = None
    _loop_thread: int | None = None
    _wake: asyncio.Event | None = None

    async def __aenter__(self) -> Self:
        self._bind()
        self._subscribe()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cancel()
        self._unsubscribe_all()

    def _bind(self) -> asyncio.Event:
        import asyncio

        if self._wake is None:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
            self._wake = asyncio.Event()
        return self._wake

    def _changed(self) -> None:
        super()._changed()
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        if threading.get_ident() == self._loop_thread:
            wake.set()  # from inside the loop (an on_update hook, an ASGI receiver)
            return
        with contextlib.suppress(RuntimeError):  # the loop may be closed by now
            loop.call_soon_threadsafe(wake.set)

    async def results(self) -> AsyncIterator[tuple[str, Outcome]]:
        """(task_id, Task or KlingError) as each task settles; ends after close() once all have, or on cancel()."""
        import asyncio

        wake = self._bind()
        self._subscribe()
        in_flight: dict[asyncio.Future[Task], str] = {}
        try:
            while True:
                finished, action, _ = self._plan()
                for item in finished:
                    yield item
                if action is None or isinstance(action, Done):
                    return
                if isinstance(action, Launch):
                    in_flight[asyncio.ensure_future(self._query(action.task_id))] = action.task_id
                else:
                    await self._idle(action, in_flight, wake)
        finally:
            for pending in in_flight:
                pending.cancel()

    async def _idle(self, action: Idle, in_flight: dict[asyncio.Future[Task], str], wake: asyncio.Event) -> None:
        import asyncio

        if wake.is_set():
            wake.clear()
            return
        waits: set[asyncio.Future[Any]] = set(in_flight)
        extras: list[asyncio.Future[Any]] = [asyncio.ensure_future(wake.wait())]
        if action.until is not None:
            delay = max(0.0, action.until - self._clock.monotonic())
            extras.append(asyncio.ensure_future(self._clock.asleep(delay)))
        done, _ = await asyncio.wait(waits | set(extras), return_when=asyncio.FIRST_COMPLETED)
        for extra in extras:
            if not extra.done():
                extra.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await extra
        wake.clear()
        for fut in done:
            tid = in_flight.pop(fut, None)
            if tid is None:
                continue
            exc = fut.exception()
            update = self._report(tid, exc if exc is not None else fut.result())
            if update is not None and self._on_update is not None:
                result = self._on_update(update)
                if inspect.isawaitable(result):
                    await result
