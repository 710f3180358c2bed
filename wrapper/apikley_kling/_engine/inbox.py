"""Where a callback receiver tells waits that a task has finished."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["CallbackInbox"]


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
