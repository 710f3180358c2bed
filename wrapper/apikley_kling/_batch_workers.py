"""The batch's worker threads: daemon threads, waits that a Ctrl-C can always cut short.

A ThreadPoolExecutor's workers are joined at interpreter exit, so one blocked in
an HTTP call (or on a slot a stopped poller will never free) kept `kling batch`
alive after Ctrl-C. These are daemon threads; every wait here has a timeout, so
the main thread stays interruptible and the process can leave when it decides to.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

_TICK = 0.05  # how long a wait may sleep before looking again: the bound on reacting to a stop


class Workers:
    """N daemon threads running submitted calls; the first exception is re-raised by join()."""

    def __init__(self, n: int, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._cv = threading.Condition()
        self._pending = 0
        self._running = 0
        self._error: BaseException | None = None
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
                with self._cv:
                    self._error = self._error or exc
            finally:
                with self._cv:
                    self._pending -= 1
                    self._running -= not skip
                    self._cv.notify_all()

    def join(self, deadline: float | None = None) -> bool:
        """Wait until every submitted call has run (True), or until `deadline` (time.monotonic; False)."""
        with self._cv:
            while self._pending > 0:
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                self._cv.wait(_TICK)
            if self._error is not None:
                raise self._error
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


def join_thread(thread: threading.Thread) -> None:
    """Thread.join in ticks: a bare join() cannot be interrupted by Ctrl-C on every platform."""
    while thread.is_alive():
        thread.join(_TICK)
