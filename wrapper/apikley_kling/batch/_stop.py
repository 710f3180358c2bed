"""How a batch run stops: at the first error of any of its threads, or at Ctrl-C, never waiting unbounded.

The stop itself is `RunState.abort` (`_state.py`), which the run's `Failure` calls at the first error.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from .._threads import in_thread, wait_event
from ._results import interrupted_message

if TYPE_CHECKING:
    from ._state import RunState

# How long Ctrl-C waits for creates already on the wire to be answered (and so recorded), seconds.
INTERRUPT_GRACE = 1.2
# Then the ledger says what is left, in what remains of STOP_BUDGET (at least LEDGER_GRACE: a busy machine
# may need it), and the run gives its claims up within LEDGER_GRACE: a paused database gets no more, so that
# Ctrl-C ends the run within about two seconds whatever the database does.
STOP_BUDGET = 1.6
LEDGER_GRACE = 0.4


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run; the message says what is in flight. The ledger is consistent: re-run to resume."""


def interrupted(run: RunState) -> BatchInterrupted:
    """Ctrl-C, in the thread that called run(): stop sending, give creates on the wire a moment to be answered
    (and recorded), say what is left. Every wait is bounded: a paused database is not waited for."""
    started = time.monotonic()
    run.abort()
    # Real time: the user is waiting. An answer that arrives meanwhile is recorded as created;
    # one that does not leaves its row 'submitting', which a re-run reports as ambiguous.
    creates = run.creates
    with contextlib.suppress(BaseException):  # a second Ctrl-C: the summary still matters more
        if creates is not None:
            creates.join(deadline=time.monotonic() + INTERRUPT_GRACE)
    message = "interrupted; run the same command again to resume"
    ledger = run.ledger
    if ledger is not None:
        try:
            left = max(LEDGER_GRACE, started + STOP_BUDGET - time.monotonic())
            rows = in_thread(ledger.rows, timeout=left)
            message = interrupted_message([r for r in rows if r.owner == ledger.worker])
        except BaseException:  # the database paused or gone, or a second Ctrl-C
            message += " (the ledger did not answer: a create that was in flight is reported ambiguous then)"
    run.reported.set()
    with contextlib.suppress(BaseException):
        wait_event(run.ended, LEDGER_GRACE)  # the run gives its claims up (retire) if the ledger answers
    return BatchInterrupted(message)
