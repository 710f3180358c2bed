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
import threading
from typing import TYPE_CHECKING

from ._batch_results import JobResult

if TYPE_CHECKING:
    from ._jobs import Job
    from .ledger import BaseLedger, Row

log = logging.getLogger("apikley_kling.batch")


class Heartbeat:
    """Renews this worker's claims every `every` seconds (real time: leases are on the ledger's clock)."""

    def __init__(self, ledger: BaseLedger, every: float) -> None:
        self._ledger = ledger
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="kling-batch-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._ledger.heartbeat()
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


def settled_result(job: Job, row: Row) -> JobResult:
    """A job the ledger says is over (here or on another worker): done, failed, or ambiguous."""
    if row.state == "done":
        return JobResult(
            job, "done", task_id=row.task_id, path=row.path, host=row.host, attempts=row.attempts, resumed=True
        )
    if row.state == "failed":
        return JobResult(job, "failed", task_id=row.task_id, error=row.error, attempts=row.attempts, resumed=True)
    return JobResult(job, "ambiguous", error=row.error, attempts=row.attempts, resumed=True)


def close_quietly(ledger: BaseLedger) -> None:
    """Give this worker's claims up (others may take its tasks over at once) and close; a ledger already
    unreachable is not worth an error on top of whatever ended the run."""
    with contextlib.suppress(Exception):
        ledger.retire()
    with contextlib.suppress(Exception):
        ledger.close()
