"""The batch runner's side of a shared ledger: the heartbeat that keeps its claims, and jobs held by other workers.

With SQLite one runner owns the folder and every job is its own. With PostgreSQL
any number of workers run the same job file: a job another live worker holds is
*deferred*, looked at again every little while, until that worker finishes it (the
result is read from the ledger) or falls silent (its lease runs out and this worker
takes the job over: waits on its task, or reports it ambiguous).
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from ._results import settled_result

if TYPE_CHECKING:
    from ..ledger import BaseLedger, Claim
    from ._jobs import Job
    from ._state import RunState

#: Where a job goes: sent by this worker, its task watched (with its id), or nothing to do here now.
Route = tuple[Literal["send", "watch", "none"], str | None]

log = logging.getLogger("apikley_kling.batch")


class Heartbeat:
    """Renews this worker's claims every `every` seconds (real time: leases are on the ledger's clock)."""

    def __init__(self, ledger: BaseLedger, every: float, on_lost: Callable[[BaseException], None]) -> None:
        """`on_lost`: told when the ledger is gone for good (LedgerLost): without beats, claims lapse."""
        self._ledger = ledger
        self._every = every
        self._on_lost = on_lost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="kling-batch-heartbeat", daemon=True)

    def _beat(self) -> None:
        from ..ledger import LedgerLost

        while not self._stop.wait(self._every):
            try:
                self._ledger.heartbeat()
            except LedgerLost as exc:
                self._on_lost(exc)
                return
            except Exception as exc:  # the database away for a moment: the next beat tries again
                log.warning("ledger heartbeat failed: %s", " ".join(str(exc).split()))

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)


class Deferred:
    """Jobs another live worker holds, in the order they were met; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.key] = job

    def take(self) -> list[Job]:
        with self._lock:
            jobs, self._jobs = list(self._jobs.values()), {}
        return jobs

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)


def close_quietly(ledger: BaseLedger) -> None:
    """Give this worker's claims up (others may take its tasks over at once) and close; a ledger already
    unreachable is not worth an error on top of whatever ended the run."""
    with contextlib.suppress(Exception):
        ledger.retire()
    with contextlib.suppress(Exception):
        ledger.close()


class Claims:
    """The runner's claims part: which jobs this worker sends, waits on, leaves to the worker that holds them,
    and takes over when that worker falls silent. `queue` hands a job (back) to the creates."""

    def __init__(self, run: RunState, queue: Callable[[Job], None]) -> None:
        self.run = run
        self._queue = queue

    def resume(self) -> tuple[list[Job], list[tuple[Job, str]]]:
        """What the ledger says of each job: jobs to send (their files uploaded first), tasks to watch.
        Jobs that are over are finished here; jobs another live worker holds are deferred."""
        to_submit: list[Job] = []
        to_watch: list[tuple[Job, str]] = []
        for job in self.run.jobs:
            route, task_id = self.route(job)
            if route == "send":
                to_submit.append(job)
            elif task_id is not None:
                to_watch.append((job, task_id))
        if not self.run.led.single_runner:
            # Workers reading one file start at different jobs: fewer of them upload a job another then sends.
            random.Random(self.run.led.worker).shuffle(to_submit)
        return to_submit, to_watch

    def route(self, job: Job) -> Route:
        """Where a job goes now, by the ledger: ("send", None), ("watch", its task id: this worker now holds
        it), or ("none", None): over (finished from the ledger) or deferred (a live worker holds it)."""
        kind = self.run.led.peek(job.key, resubmit=self.run.resubmit_ambiguous)
        if kind == "submit":
            return "send", None
        if kind == "busy":
            self.defer(job)
            return "none", None
        return self.take_claimed(job, self.run.led.claim(job.key, job.line, job.raw))

    def take_claimed(self, job: Job, got: Claim) -> Route:
        """The route of a job after a claim that did not make this worker its sender."""
        if got.kind == "watch":
            assert got.row is not None and got.row.task_id is not None
            return "watch", got.row.task_id
        if got.kind == "settled":
            assert got.row is not None
            self.run.finish(job, settled_result(job, got.row))
        elif got.kind == "busy":
            self.defer(job)
        else:
            # The row went away meanwhile (its create surely never left): undo this claim, send it as a new job.
            self.run.led.mark_unsent(job.key)
            return "send", None
        return "none", None

    def defer(self, job: Job) -> None:
        """Leave a job to the live worker that holds it; look at it again every `revisit` seconds."""
        with self.run.watch_cv:
            self.run.deferred.add(job)
            if self.run.revisiting or self.run.watcher is None or self.run.stop_reason:
                return  # (before the run is set up, `_run` starts the revisits)
            self.run.revisiting = True
            self.run.submitting += 1  # revisits may still add creates and tasks: the watcher stays open
        threading.Thread(target=self._revisit_loop, name="kling-batch-revisit", daemon=True).start()

    def _revisit_loop(self) -> None:
        """Look at deferred jobs every `revisit` seconds until each has ended or been taken over."""
        try:
            self._revisit_deferred()
        except BaseException as exc:  # the ledger lost, or a bug: the run stops, and says why
            with self.run.watch_cv:
                self.run.revisiting = False
            self.run.failure.set(exc)
        finally:
            self.run.one_less_to_submit()

    def _revisit_deferred(self) -> None:
        """Until nothing is deferred; `revisiting` is cleared in the same hold of the lock as the look that found
        nothing, so that a job deferred at that moment starts the next revisit instead of being left behind."""
        while not self.run.stop_reason:
            self.run.clock.sleep(self.run.revisit)
            for job in self.run.deferred.take():
                route, task_id = self.route(job)  # still held elsewhere: deferred again
                if route == "send":
                    self._queue(job)
                elif task_id is not None:
                    self.run.add_watch(job, task_id, holds_slot=False)  # taken over: its worker is gone
            with self.run.watch_cv:
                if not len(self.run.deferred):
                    # In the same hold as the look: a defer() now starts another revisit instead of waiting
                    # for this one, which is ending.
                    self.run.revisiting = False
                    return
        with self.run.watch_cv:  # stopped: nothing is revisited any more
            self.run.revisiting = False
