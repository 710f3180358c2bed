"""Many jobs from a file: bounded concurrency, one shared poll budget, and a ledger.

The run is resumable and crash-safe because every create is written to the
ledger (``ledger.py``) *before* it is sent, and its task id *right after* the
answer arrives. Re-running the same job file against the same folder:

- skips jobs that are ``done`` (or ``failed``: that task was paid for; look at it, then remove
  its row or change its line if you want another try),
- waits on ``created`` tasks instead of creating them again,
- reports ``ambiguous`` jobs (a create was sent, its answer never came) and sends
  them again only with ``resubmit_ambiguous=True``, since that may pay twice.

Threads, not asyncio: the SDK's sync client is the simplest to drive from a
CLI, SQLite prefers one connection per process, and the thread count is small
(the concurrency). One poller thread drives the SDK's watcher
(`client.tasks.watch`) over every task that is running, under a shared budget
of queries per second, so a thousand running tasks do not turn into a poll storm.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import exit_codes
from ._batch_results import (
    PRICE_UNKNOWN,
    BatchReport,
    ErrorKind,
    JobResult,
    Outcome,
    classify,
    foreign_outputs,
    interrupted_message,
    one_line,
    plan,
)
from ._batch_workers import Workers, join_thread
from ._jobs import Job
from .clock import Clock, SystemClock
from .ledger import FolderBusy, Ledger, exclusive

if TYPE_CHECKING:
    from .client import Kling
    from .errors import KlingError
    from .events import TaskUpdate
    from .models import Task
    from .watch import Watch

__all__ = [
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

# How long Ctrl-C waits for creates already on the wire to be answered (and so recorded), seconds.
INTERRUPT_GRACE = 1.2


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run; the message says what is in flight. The ledger is consistent: re-run to resume."""


class OutputExists(Exception):
    """A job's output is already in the folder and this batch did not write it: refused before sending."""


Event = Literal["queued", "uploading", "submitting", "created", "state", "downloading", "finished"]
OnEvent = Callable[[Event, Job, dict[str, Any]], None]


class BatchRunner:
    def __init__(
        self,
        client: Kling,
        jobs: Sequence[Job],
        out_dir: str | Path,
        *,
        concurrency: int = 4,
        timeout: float = 900.0,
        resubmit_ambiguous: bool = False,
        polls_per_second: float | None = None,
        clock: Clock | None = None,
        on_event: OnEvent | None = None,
        interval: float | None = None,
    ) -> None:
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
        self._results: dict[str, JobResult] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrency)
        self._stop_reason: str | None = None
        self._stop_error: BaseException | None = None
        self._slot_holders: set[str] = set()
        self._watched: dict[str, tuple[Job, float]] = {}  # task id -> job, when its wait began
        self._watcher: Watch | None = None
        self._watch_cv = threading.Condition()
        self._submitting = 0
        self._resubmitted = 0

    # -- planning -------------------------------------------------------------

    def plan(self) -> BatchReport:
        """What a run would do, from the ledger, without sending anything (or creating any file)."""
        return plan(self.jobs, self.out_dir)

    # -- running --------------------------------------------------------------

    def run(self) -> BatchReport:
        started = self.clock.monotonic()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with exclusive(self.out_dir):
            self._ledger = Ledger.in_dir(self.out_dir)
            try:
                return self._run(started)
            finally:
                self._ledger.close()

    def _resume(self) -> tuple[list[tuple[Job, bool]], list[tuple[Job, str]]]:
        """What the ledger says of each job: (jobs to send, and whether as a resubmission; tasks to watch).

        Jobs the ledger has settled (done, failed, ambiguous without permission) are finished here.
        """
        to_submit: list[tuple[Job, bool]] = []
        to_watch: list[tuple[Job, str]] = []
        for job in self.jobs:
            row = self._ledger.get(job.key)
            if row is None:
                to_submit.append((job, False))
            elif row.state == "created":
                assert row.task_id is not None
                to_watch.append((job, row.task_id))
            elif row.state == "ambiguous" and self.resubmit_ambiguous:
                to_submit.append((job, True))
            elif row.state in ("done", "failed", "ambiguous"):
                done = row.state == "done"
                result = JobResult(
                    job,
                    row.state,
                    task_id=row.task_id if row.state != "ambiguous" else None,
                    path=row.path if done else None,
                    error=None if done else row.error,
                    attempts=row.attempts,
                    resumed=True,
                )
                self._finish(job, result)
        return to_submit, to_watch

    def _run(self, started: float) -> BatchReport:
        self._ledger.settle_interrupted()
        to_submit, to_watch = self._resume()
        self._refuse_foreign_files([job for job, _ in to_submit] + [job for job, _ in to_watch])
        for job, _ in to_submit:
            self._emit("queued", job)
        # Downloads get their own workers: queued behind blocked creates they would wait
        # for every create to be sent before the first finished video is saved.
        creates = Workers(self.concurrency, "kling-create")
        self._downloads = Workers(self.concurrency, "kling-download")
        watch = self.client.tasks.watch(
            timeout=self.timeout, rate=self.polls_per_second, interval=self.interval, on_update=self._on_update
        )
        self._watcher = watch
        poller = threading.Thread(target=self._poll_loop, args=(watch,), name="kling-batch-poller", daemon=True)
        with self._watch_cv:
            self._submitting = len(to_submit)
        for job, task_id in to_watch:
            # Resumed tasks are already running server-side: waiting costs nothing,
            # so they do not take a slot from new creates.
            self._add_watch(job, task_id, holds_slot=False)
        if not to_submit:
            watch.close()
        poller.start()
        for job, resubmit in to_submit:
            creates.submit(self._submit, job, resubmit)
        try:
            creates.join()
            join_thread(poller)
            self._downloads.join()
        except KeyboardInterrupt:
            raise self._interrupted(creates) from None
        except BaseException:
            with self._watch_cv:  # a bug of ours: stop everything, and let it be seen
                self._stop_reason = "interrupted"
                self._watch_cv.notify_all()
            watch.cancel()
            creates.cancel()
            self._downloads.cancel()
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

    def _interrupted(self, creates: Workers) -> BatchInterrupted:
        """Ctrl-C (or a bug): stop sending, give creates on the wire a moment to be answered, say what is left."""
        with self._watch_cv:
            self._stop_reason = "interrupted"
            self._watch_cv.notify_all()
        if self._watcher is not None:
            self._watcher.cancel()
        creates.cancel()
        self._downloads.cancel()
        # Real time: the user is waiting. An answer that arrives meanwhile is recorded as created;
        # one that does not leaves its row 'submitting', which a re-run reports as ambiguous.
        with contextlib.suppress(BaseException):  # a second Ctrl-C: the summary still matters more
            creates.join(deadline=time.monotonic() + INTERRUPT_GRACE)
        return BatchInterrupted(interrupted_message(self._ledger.rows()))

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

    def _submit(self, job: Job, resubmit: bool) -> None:
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
            uploaded = self._upload(job)
            if uploaded is not None:
                holds = not self._create(job, resubmit, *uploaded)  # a created task holds its slot to the end
        finally:
            self._one_less_to_submit()
            if holds:
                self._slots.release()

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

    def _create(self, job: Job, resubmit: bool, values: dict[str, Any], image: Any) -> bool:
        """Write ahead, send the create, record its answer; True when a task now exists to watch."""
        from . import errors as E

        row = self._ledger.mark_submitting(job.key, job.line, job.raw, resubmit=resubmit)
        if resubmit:
            with self._lock:
                self._resubmitted += 1
        self._emit("submitting", job, attempt=row.attempts)
        try:
            task = self.client.tasks.create(model=job.model, input=values, image=image, callback_url=job.callback_url)
        except E.AmbiguousSubmit as e:
            self._ledger.mark_ambiguous(job.key, e.reason)
            self._finish(job, JobResult(job, "ambiguous", error=e.reason, attempts=row.attempts))
            return False
        except E.KlingError as e:
            # The SDK raises AmbiguousSubmit whenever the request may have reached the service;
            # any other error means it surely did not make a task.
            self._ledger.mark_unsent(job.key, str(e))
            self._fail_unsent(job, e, attempts=row.attempts)
            return False
        except BaseException as e:
            # A bug or Ctrl-C mid-create: we cannot know whether it was sent.
            self._ledger.mark_ambiguous(job.key, f"interrupted: {type(e).__name__}")
            raise
        self._ledger.mark_created(job.key, task.id)
        self._emit("created", job, task_id=task.id)
        self._add_watch(job, task.id, holds_slot=True)
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

    # -- waiting --------------------------------------------------------------

    def _add_watch(self, job: Job, task_id: str, *, holds_slot: bool) -> None:
        with self._watch_cv:
            if holds_slot:
                self._slot_holders.add(task_id)
            self._watched[task_id] = (job, self.clock.monotonic())
        assert self._watcher is not None
        # A resumed task may have finished long ago: its first query goes at once.
        self._watcher.add(task_id, query_now=not holds_slot)

    def _release(self, task_id: str) -> None:
        with self._watch_cv:
            holder = task_id in self._slot_holders
            if holder:
                self._slot_holders.discard(task_id)
        if holder:
            self._slots.release()

    def _on_update(self, update: TaskUpdate) -> None:
        with self._watch_cv:
            entry = self._watched.get(update.task.id)
        if entry is not None:
            state = update.task.state.value
            self._emit("state", entry[0], task_id=update.task.id, state=state, elapsed=update.elapsed)

    def _poll_loop(self, watch: Watch) -> None:
        for task_id, outcome in watch.results():
            with self._watch_cv:
                job, started = self._watched.pop(task_id)
            self._settle(job, task_id, outcome, started)

    def _settle(self, job: Job, task_id: str, outcome: Task | KlingError, started: float) -> None:
        """A watched task's outcome: download a success; record a failure, a timeout or a query error."""
        from . import errors as E

        seconds = self.clock.monotonic() - started
        if isinstance(outcome, E.TaskTimeout):
            last = f", last state {outcome.last.state.value}" if outcome.last is not None else ""
            msg = f"still running after {self.timeout:g}s{last}; re-run to keep waiting"
            self._ledger.note_error(job.key, msg)
            self._finish(job, JobResult(job, "timeout", task_id=task_id, error=msg, seconds=seconds))
        elif isinstance(outcome, E.GenerationFailed) and outcome.task is not None:
            task = outcome.task
            why = " ".join(x for x in (task.fail_code, task.fail_msg) if x) or "generation failed"
            self._ledger.mark_failed(job.key, why)
            self._finish(job, JobResult(job, "failed", task_id=task_id, error=why, seconds=seconds))
        elif isinstance(outcome, E.KlingError):
            # The watcher retried what was transient; the row stays 'created', so a re-run asks again.
            self._ledger.note_error(job.key, one_line(outcome))
            self._finish(job, JobResult.from_error(job, "error", outcome, task_id=task_id))
        else:
            self._downloads.submit(self._download, job, outcome, started)

    def _download(self, job: Job, task: Task, started: float) -> None:
        from . import errors as E

        dest = self.out_dir / job.output
        if foreign_outputs(self._ledger, self.out_dir, [job]):
            # Appeared while the task ran: someone else's file. The task stays 'created' for a re-run.
            msg = f"{dest} appeared during the run and is not this batch's; not overwritten (move it, re-run)"
            self._ledger.note_error(job.key, msg)
            self._finish(job, JobResult(job, "error", task_id=task.id, error=msg, error_kind="input"))
            return
        self._ledger.note_path(job.key, str(dest))
        self._emit("downloading", job, task_id=task.id)
        try:
            path = self.client.download(task, dest)
        except E.KlingError as e:
            # The task stays 'created': a re-run queries it again and gets fresh URLs.
            self._ledger.note_error(job.key, one_line(e))
            self._finish(job, JobResult.from_error(job, "error", e, task_id=task.id))
            return
        self._ledger.mark_done(job.key, str(path))
        self._finish(
            job, JobResult(job, "done", task_id=task.id, path=str(path), seconds=self.clock.monotonic() - started)
        )

    # -- bookkeeping ----------------------------------------------------------

    def _finish(self, job: Job, result: JobResult) -> None:
        row = self._ledger.get(job.key)
        if row is not None and not result.attempts:
            result.attempts = row.attempts
        with self._lock:
            self._results[job.key] = result
        # The slot is held until the video is on disk: "in flight" includes the download.
        if result.task_id:
            self._release(result.task_id)
        self._emit("finished", job, outcome=result.outcome, result=result)

    def _emit(self, event: Event, job: Job, **info: Any) -> None:
        if self.on_event is not None:
            self.on_event(event, job, info)
