"""The batch's worker threads: daemon threads, waits that a Ctrl-C can always cut short.

A ThreadPoolExecutor's workers are joined at interpreter exit, so one blocked in
an HTTP call (or on a slot a stopped poller will never free) kept `kling batch`
alive after Ctrl-C. These are daemon threads; every wait here has a timeout, so
the main thread stays interruptible and the process can leave when it decides to.

The first error of any of the run's threads (a bug, or the ledger lost) goes to one
`Failure`, which stops the run at once and which every join checks: an error is never
held until some other join happens to end (a download's, behind creates waiting for
slots that only that download would have freed).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

_TICK = 0.05  # how long a wait may sleep before looking again: the bound on reacting to a stop


class Failure:
    """The first error of any thread of a run; `on_first` (told once, in the failing thread) stops the run."""

    def __init__(self, on_first: Callable[[BaseException], None] | None = None) -> None:
        self._lock = threading.Lock()
        self.error: BaseException | None = None
        self._on_first = on_first

    def set(self, exc: BaseException) -> None:
        """Keep `exc` if it is the first; then stop the run."""
        with self._lock:
            if self.error is not None:
                return
            self.error = exc
        if self._on_first is not None:
            self._on_first(exc)

    def check(self) -> None:
        """Raise the first error, if any."""
        if self.error is not None:
            raise self.error


class Workers:
    """N daemon threads running submitted calls; the first exception of any (or of the run's `failure`)
    is re-raised by join() at once."""

    def __init__(self, n: int, name: str, failure: Failure | None = None) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._cv = threading.Condition()
        self._pending = 0
        self._running = 0
        self._failure = failure or Failure()
        self._cancelled = False
        for i in range(n):
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True).start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._cv:
            if self._cancelled:
                return
            self._pending += 1
        self._queue.put((fn, args))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            fn, args = item
            with self._cv:
                skip = self._cancelled
                self._running += not skip
            try:
                if not skip:
                    fn(*args)
            except BaseException as exc:  # kept for join(): a worker's bug must not pass silently
                self._failure.set(exc)
            finally:
                with self._cv:
                    self._pending -= 1
                    self._running -= not skip
                    self._cv.notify_all()

    def join(self, deadline: float | None = None) -> bool:
        """Wait until every submitted call has run (True), or until `deadline` (time.monotonic; False)."""
        with self._cv:
            while self._pending > 0:
                self._failure.check()
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                self._cv.wait(_TICK)
        self._failure.check()
        return True

    def cancel(self) -> None:
        """Calls not yet started never start; those running go on (join with a deadline to wait for them)."""
        with self._cv:
            self._cancelled = True

    @property
    def running(self) -> int:
        with self._cv:
            return self._running

    def stop(self, n: int) -> None:
        for _ in range(n):
            self._queue.put(None)


def join_thread(thread: threading.Thread, failure: Failure | None = None) -> None:
    """Thread.join in ticks (a bare join() cannot be interrupted by Ctrl-C on every platform), raising the run's
    first error as soon as there is one."""
    while thread.is_alive():
        if failure is not None:
            failure.check()
        thread.join(_TICK)
    if failure is not None:
        failure.check()
