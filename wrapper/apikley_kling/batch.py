"""Many jobs from a file: bounded concurrency, one shared poll budget, and a ledger.

The run is resumable and crash-safe because every create is written to the
ledger (``ledger/``) *before* it is sent, and its task id *right after* the
answer arrives. Re-running the same job file against the same folder:

- skips jobs that are ``done`` (or ``failed``: that task was paid for; look at it, then remove
  its row or change its line if you want another try),
- waits on ``created`` tasks instead of creating them again,
- reports ``ambiguous`` jobs (a create was sent, its answer never came) and sends
  them again only with ``resubmit_ambiguous=True``, since that may pay twice.

The ledger is SQLite in the output folder (one runner per folder), or PostgreSQL
(``ledger="postgresql://..."``), shared by any number of workers on any number of
machines: each job is claimed by one worker, a claim is a lease kept by a heartbeat,
and a silent worker's jobs are taken over (``_batch_fleet.py``). Every worker runs
until every job of the file has ended, wherever it ran.

Threads, not asyncio: the SDK's sync client is the simplest to drive from a
CLI, SQLite prefers one connection per process, and the thread count is small
(the concurrency). One poller thread drives the SDK's watcher
(`client.tasks.watch`) over every task that is running, under a shared budget
of queries per second, so a thousand running tasks do not turn into a poll storm.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import exit_codes
from ._batch_fleet import Claiming, Deferred, Heartbeat, close_quietly
from ._batch_results import (
    PRICE_UNKNOWN,
    BatchReport,
    ErrorKind,
    JobResult,
    Outcome,
    classify,
    foreign_outputs,
    one_line,
    plan,
)
from ._batch_stop import INTERRUPT_GRACE, LEDGER_GRACE, BatchInterrupted, Stopping
from ._batch_wait import Event, OnEvent
from ._batch_workers import Failure, Workers, join_thread
from ._config import DEFAULT_TIMEOUT
from ._jobs import Job
from .clock import Clock, SystemClock
from .ledger import LEASE_SECONDS, BaseLedger, FolderBusy, Ledger, exclusive, open_ledger
from .ledger._wait import in_thread

if TYPE_CHECKING:
    from .client import Kling

__all__ = [
    "INTERRUPT_GRACE",
    "LEDGER_GRACE",
    "PRICE_UNKNOWN",
    "BatchInterrupted",
    "BatchReport",
    "BatchRunner",
    "ErrorKind",
    "Event",
    "FolderBusy",
    "JobResult",
    "OnEvent",
    "Outcome",
    "OutputExists",
    "classify",
    "exclusive",
]


class OutputExists(Exception):
    """A job's output is already in the folder and this batch did not write it: refused before sending."""


class BatchRunner(Stopping, Claiming):
    def __init__(
        self,
        client: Kling,
        jobs: Sequence[Job],
        out_dir: str | Path,
        *,
        concurrency: int = 4,
        timeout: float = DEFAULT_TIMEOUT,
        resubmit_ambiguous: bool = False,
        polls_per_second: float | None = None,
        clock: Clock | None = None,
        on_event: OnEvent | None = None,
        interval: float | None = None,
        ledger: str | BaseLedger | None = None,
        lease: float = LEASE_SECONDS,
    ) -> None:
        """`ledger`: a ``postgresql://`` URL (or an open ledger) shared by a fleet of workers; None: SQLite in
        `out_dir`. `lease`: seconds a silent worker keeps its claims before others take its jobs over."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.client = client
        self.jobs = list(jobs)
        self.out_dir = Path(out_dir)
        self.concurrency = concurrency
        self.timeout = timeout
        self.resubmit_ambiguous = resubmit_ambiguous
        # Default budget: two queries a second per slot at most, and never fewer than one a second.
        self.polls_per_second = polls_per_second or max(1.0, 2.0 * concurrency)
        self.clock: Clock = clock or SystemClock()
        self.on_event = on_event
        # Seconds between queries of one task; None: the SDK's schedule (the provider's advice, jittered).
        self.interval = interval
        self.ledger = ledger
        self.lease = lease
        # How often jobs held by other workers are looked at again: well inside a lease, at most a second.
        self.revisit = min(1.0, lease / 4)
        self._results: dict[str, JobResult] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrency)
        self._stop_reason: str | None = None
        self._stop_error: BaseException | None = None
        self._slot_holders: set[str] = set()
        self._watched: dict[str, tuple[Job, float]] = {}  # task id -> job, when its wait began
        self._watcher = None
        self._watch_cv = threading.Condition()
        self._submitting = 0
        self._resubmitted = 0
        self._deferred = Deferred()
        self._revisiting = False
        self._failure = Failure(self._abort)  # the first error of any thread stops the run at once
        self._ended = threading.Event()

    # -- planning -------------------------------------------------------------

    def plan(self) -> BatchReport:
        """What a run would do, from the ledger, without sending anything (or creating any file)."""
        return plan(self.jobs, self.out_dir, self.ledger)

    # -- running --------------------------------------------------------------

    def run(self) -> BatchReport:
        """Run every job to its end (here or on another worker of the ledger); the report has one result each.

        The run happens in a daemon thread; this one only waits, so Ctrl-C is handled at once even while the
        ledger's database is paused (BatchInterrupted). LedgerLost when the database stays away too long.
        """
        try:
            return in_thread(self._run_all, name="kling-batch-run")
        except KeyboardInterrupt:
            raise self._interrupted() from None

    def _run_all(self) -> BatchReport:
        try:
            return self._open_and_run()
        finally:
            self._ended.set()

    def _open_and_run(self) -> BatchReport:
        started = self.clock.monotonic()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if self.ledger is None:
            with exclusive(self.out_dir):  # the lock before the file: one runner per SQLite ledger
                return self._run_on(Ledger.in_dir(self.out_dir), started, own=True)
        own = isinstance(self.ledger, str)
        ledger = open_ledger(self.ledger, self.out_dir) if isinstance(self.ledger, str) else self.ledger
        if not ledger.single_runner:
            return self._run_on(ledger, started, own=own)
        with exclusive(self.out_dir):
            return self._run_on(ledger, started, own=own)

    def _run_on(self, ledger: BaseLedger, started: float, *, own: bool) -> BatchReport:
        self._ledger = ledger
        try:
            ledger.register(str(self.out_dir.absolute()), lease=self.lease)
            with Heartbeat(ledger, self.lease / 3, on_lost=self._failure.set):
                return self._run(started)
        finally:
            if own:
                close_quietly(ledger)
            else:
                with contextlib.suppress(Exception):
                    ledger.retire()

    def _run(self, started: float) -> BatchReport:
        self._ledger.settle_interrupted()
        to_submit, to_watch = self._resume()
        self._refuse_foreign_files(to_submit + [job for job, _ in to_watch])
        for job in to_submit:
            self._emit("queued", job)
        # Downloads get their own workers: queued behind blocked creates they would wait
        # for every create to be sent before the first finished video is saved.
        creates = self._creates = Workers(self.concurrency, "kling-create", self._failure)
        self._downloads = Workers(self.concurrency, "kling-download", self._failure)
        # An outage of the service's queries is ridden out until each task's deadline: waiting is free, and a
        # job given up early would only wait for a re-run.
        watch = self.client.tasks.watch(
            timeout=self.timeout,
            rate=self.polls_per_second,
            interval=self.interval,
            on_update=self._on_update,
            retry_until_deadline=True,
        )
        poller = threading.Thread(target=self._poll_loop, args=(watch,), name="kling-batch-poller", daemon=True)
        with self._watch_cv:
            self._watcher = watch
            self._submitting = len(to_submit)
        for job, task_id in to_watch:
            # Resumed tasks are already running server-side: waiting costs nothing,
            # so they do not take a slot from new creates.
            self._add_watch(job, task_id, holds_slot=False)
        for job in self._deferred.take():
            self._defer(job)  # held by other workers: looked at again until they end or are taken over
        with self._watch_cv:
            if self._submitting == 0:
                watch.close()
        poller.start()
        for job in to_submit:
            creates.submit(self._submit, job)
        try:
            creates.join()
            join_thread(poller, self._failure)
            creates.join()  # creates queued by revisits after the first join
            self._downloads.join()
        except BaseException as exc:  # the ledger lost, or a bug of ours: stop everything, and let it be seen
            self._failure.set(exc)
            raise
        finally:
            watch.cancel()
            creates.stop(self.concurrency)
            self._downloads.stop(self.concurrency)
        results = [self._results.get(job.key) or self._skipped(job, self._stop_reason) for job in self.jobs]
        return BatchReport(
            results,
            resubmitted=self._resubmitted,
            elapsed=self.clock.monotonic() - started,
            stopped=self._stop_reason,
        )

    def _refuse_foreign_files(self, jobs: list[Job]) -> None:
        """Before anything is sent: a job's output that exists and that this batch did not write for that job
        (per the ledger) would be overwritten by its video; refuse rather than lose someone's file."""
        foreign = foreign_outputs(self._ledger, self.out_dir, jobs)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise OutputExists(
                f"{shown} already in {self.out_dir} and not written by this batch; move them away or "
                "change those jobs' output (nothing was sent)"
            )

    def _submit(self, job: Job) -> None:
        # A slot is freed by a watched task ending; once the run stops nobody may free one: never wait unbounded.
        while not self._slots.acquire(timeout=0.05):
            if self._stop_reason:
                self._one_less_to_submit()
                self._finish(job, self._skipped(job, f"not sent: {self._stop_reason}"))
                return
        holds = True
        try:
            if self._stop_reason:
                self._finish(job, self._skipped(job, f"not sent: {self._stop_reason}"))
                return
            if not self._still_to_send(job):
                return
            uploaded = self._upload(job)
            if uploaded is not None:
                holds = not self._create(job, *uploaded)  # a created task holds its slot to the end
        finally:
            self._one_less_to_submit()
            if holds:
                self._slots.release()

    def _still_to_send(self, job: Job) -> bool:
        """Whether the job still needs this worker's create, asked again just before its upload: with a fleet,
        another worker may have claimed it since the run began (then it is waited on, deferred, or over)."""
        route, task_id = self._route(job)
        if task_id is not None:
            self._add_watch(job, task_id, holds_slot=False)
        return route == "send"

    def _one_less_to_submit(self) -> None:
        with self._watch_cv:
            self._submitting -= 1
            last = self._submitting == 0
            self._watch_cv.notify_all()
        if last and self._watcher is not None:
            self._watcher.close()  # every task there will be is in the watch: its results() may end

    def _upload(self, job: Job) -> tuple[dict[str, Any], Any] | None:
        """The job's (input, image) with its local files uploaded; None (and the job finished) on failure.

        Before the ledger row, on purpose: an upload costs nothing, so a crash during one leaves
        nothing to reconcile, and a re-run simply uploads again.
        """
        from .errors import KlingError

        if job.local_files():
            self._emit("uploading", job)
        try:
            return job.with_uploads(self.client.files.upload)
        except KlingError as e:
            self._fail_unsent(job, e)
            return None

    def _create(self, job: Job, values: dict[str, Any], image: Any) -> bool:
        """Claim (writing ahead), send the create, record its answer; True when a task now exists to watch."""
        from . import errors as E

        got = self._ledger.claim(job.key, job.line, job.raw, resubmit=self.resubmit_ambiguous)
        if got.kind != "submit":
            # Another worker got there first (or the job ended meanwhile): whatever it is now, not ours to send.
            _, task_id = self._take_claimed(job, got)
            if task_id is not None:
                self._add_watch(job, task_id, holds_slot=False)
            return False
        assert got.row is not None
        attempt = got.row.attempts
        if attempt > 1:
            with self._lock:
                self._resubmitted += 1
        self._emit("submitting", job, attempt=attempt)
        try:
            task = self.client.tasks.create(model=job.model, input=values, image=image, callback_url=job.callback_url)
        except E.AmbiguousSubmit as e:
            self._note(self._ledger.mark_ambiguous, job.key, e.reason, attempt)
            self._finish(job, JobResult(job, "ambiguous", error=e.reason, attempts=attempt))
            return False
        except E.KlingError as e:
            # The SDK raises AmbiguousSubmit whenever the request may have reached the service;
            # any other error means it surely did not make a task.
            self._note(self._ledger.mark_unsent, job.key, str(e), attempt)
            self._fail_unsent(job, e, attempts=attempt)
            return False
        except BaseException as e:
            # A bug or Ctrl-C mid-create: we cannot know whether it was sent.
            self._note(self._ledger.mark_ambiguous, job.key, f"interrupted: {type(e).__name__}", attempt)
            raise
        return self._created(job, task.id, attempt)

    def _note(self, transition: Callable[..., None], key: str, why: str, attempt: int) -> None:
        """Record what this worker saw of its create. LedgerError: another worker resent the job since (this one
        was silent past its lease); that newer attempt is its own, and this one's outcome is reported, not kept."""
        from .ledger import LedgerError

        with contextlib.suppress(LedgerError):
            transition(key, why, attempt=attempt)

    def _created(self, job: Job, task_id: str, attempt: int) -> bool:
        from .ledger import LedgerError

        try:
            self._ledger.mark_created(job.key, task_id, attempt=attempt)
        except LedgerError as e:
            # This worker was silent past its lease and another took the job over and sent it again.
            msg = f"task {task_id} was created, but another worker had sent this job again meanwhile ({e})"
            self._finish(job, JobResult(job, "error", task_id=task_id, error=msg, attempts=attempt))
            return False
        self._emit("created", job, task_id=task_id)
        self._add_watch(job, task_id, holds_slot=True)
        return True

    def _skipped(self, job: Job, why: str | None) -> JobResult:
        stop = self._stop_error
        if stop is None:
            return JobResult(job, "skipped", error=why)
        return JobResult(job, "skipped", error=why, error_kind=classify(stop), exit_code=exit_codes.for_error(stop))

    def _fail_unsent(self, job: Job, e: Exception, *, attempts: int = 0) -> None:
        if classify(e) in ("auth", "credits"):
            # Every other job would fail the same way (and with credits, a top-up
            # mid-run would make the outcome depend on timing): stop sending.
            with self._watch_cv:
                if self._stop_reason is None:
                    self._stop_reason = one_line(e)
                    self._stop_error = e
        self._finish(job, JobResult.from_error(job, "error", e, attempts=attempts))
