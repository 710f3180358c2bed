"""How a batch run stops: at the first error of any of its threads, or at Ctrl-C, never waiting unbounded.

A mixin of `BatchRunner` (batch.py), which owns the state declared here.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING

from ._batch_results import interrupted_message, one_line
from .ledger._wait import in_thread, wait_event

if TYPE_CHECKING:
    from ._batch_workers import Workers
    from .ledger import BaseLedger
    from .watch import Watch

# How long Ctrl-C waits for creates already on the wire to be answered (and so recorded), seconds.
INTERRUPT_GRACE = 1.2
# Then how long it waits for the ledger to say what is left, and for the run to give its claims up: a paused
# database gets no more, so that Ctrl-C ends the run within two seconds whatever the database does.
LEDGER_GRACE = 0.4


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run; the message says what is in flight. The ledger is consistent: re-run to resume."""


class Stopping:
    _watch_cv: threading.Condition
    _stop_reason: str | None
    _watcher: Watch | None
    _ended: threading.Event
    _creates: Workers
    _downloads: Workers
    _ledger: BaseLedger

    def _abort(self, exc: BaseException | None = None) -> None:
        """Stop the run: no create is sent from now on, the watcher stops, queued work never starts. Threads
        waiting for a slot see the stop and leave (nothing would free one now)."""
        with self._watch_cv:
            if self._stop_reason is None:
                self._stop_reason = "interrupted" if exc is None else one_line(exc)
            self._watch_cv.notify_all()
        if self._watcher is not None:
            self._watcher.cancel()
        for workers in (getattr(self, "_creates", None), getattr(self, "_downloads", None)):
            if workers is not None:
                workers.cancel()

    def _interrupted(self) -> BatchInterrupted:
        """Ctrl-C, in the thread that called run(): stop sending, give creates on the wire a moment to be answered
        (and recorded), say what is left. Every wait is bounded: a paused database is not waited for."""
        self._abort()
        # Real time: the user is waiting. An answer that arrives meanwhile is recorded as created;
        # one that does not leaves its row 'submitting', which a re-run reports as ambiguous.
        creates = getattr(self, "_creates", None)
        with contextlib.suppress(BaseException):  # a second Ctrl-C: the summary still matters more
            if creates is not None:
                creates.join(deadline=time.monotonic() + INTERRUPT_GRACE)
        message = "interrupted; run the same command again to resume"
        ledger = getattr(self, "_ledger", None)
        if ledger is not None:
            try:
                rows = in_thread(ledger.rows, timeout=LEDGER_GRACE)
                message = interrupted_message([r for r in rows if r.owner == ledger.worker])
            except BaseException:  # the database paused or gone, or a second Ctrl-C
                message += " (the ledger did not answer: a create that was in flight is reported ambiguous then)"
        with contextlib.suppress(BaseException):
            wait_event(self._ended, LEDGER_GRACE)  # the run gives its claims up (retire) if the ledger answers
        return BatchInterrupted(message)
