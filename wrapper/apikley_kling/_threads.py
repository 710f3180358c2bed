"""Calls a Ctrl-C can always cut short (a database call above all): run in a daemon thread, waited on in ticks.

A paused database (SIGSTOP, a network partition) can hold a call in the driver for
as long as the pause lasts, and the driver's own Ctrl-C handling then waits for the
server too. The main thread therefore never runs such a call itself: it waits on an
Event with a timeout (which a signal interrupts), and a call still stuck when the
process leaves is abandoned with its daemon thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final, TypeVar

T = TypeVar("T")

TICK: Final = 0.05  # seconds between looks at a pending call: the bound on reacting to Ctrl-C


class _Box:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: object = None
        self.error: BaseException | None = None


def in_thread(fn: Callable[[], T], *, timeout: float | None = None, name: str = "kling-ledger-call") -> T:
    """`fn()` run in a daemon thread; this thread waits in ticks, so Ctrl-C interrupts it at once.

    TimeoutError after `timeout` seconds (the call goes on, abandoned). Exceptions of `fn` are re-raised here.
    """
    box = _Box()

    def target() -> None:
        try:
            box.value = fn()
        except BaseException as exc:  # handed to the waiting thread
            box.error = exc
        finally:
            box.done.set()

    threading.Thread(target=target, name=name, daemon=True).start()
    if not wait_event(box.done, timeout):
        raise TimeoutError(f"no answer in {timeout:g}s")
    if box.error is not None:
        raise box.error
    return box.value  # type: ignore[return-value]


def wait_event(event: threading.Event, timeout: float | None) -> bool:
    """Event.wait in ticks (a bare wait() cannot be interrupted by Ctrl-C on every platform)."""
    import time

    deadline = None if timeout is None else time.monotonic() + timeout
    while not event.wait(TICK):
        if deadline is not None and time.monotonic() >= deadline:
            return event.is_set()
    return True


def on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
