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
(the concurrency). One poller thread watches every task that is running and
spends a shared budget of queries per second, so a thousand running tasks do
not turn into a poll storm.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._jobs import Job
from .clock import Clock, SystemClock
from .ledger import LEDGER_NAME, Ledger
from .polling import TokenBucket, poll_interval

if TYPE_CHECKING:
    from .client import Kling
    from .models import Task

Outcome = Literal[
    "done",  # video on disk (this run or an earlier one)
    "failed",  # the task ended in state fail (paid)
    "ambiguous",  # a create was sent and its answer lost; not resent
    "timeout",  # still running when the deadline passed; a re-run waits on it again
    "error",  # something else stopped this job (see error_kind)
    "skipped",  # not attempted: the run stopped early (no credits, bad key)
    "pending",  # dry run: would be created
]

ErrorKind = Literal["auth", "credits", "input", "api", "transport"]

#: What a task costs in credits. The spec states no price, so the batch says "unknown"
#: rather than inventing one; a caller that knows its tariff may pass one in.
PRICE_UNKNOWN: None = None


@dataclass
class JobResult:
    job: Job
    outcome: Outcome
    task_id: str | None = None
    path: str | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    attempts: int = 0
    resumed: bool = False  # finished by an earlier run, or created by one and waited on here
    seconds: float | None = None


@dataclass
class BatchReport:
    results: list[JobResult]
    resubmitted: int = 0
    dry_run: bool = False
    price_per_task: float | None = PRICE_UNKNOWN
    elapsed: float = 0.0
    stopped: str | None = None  # why the run stopped submitting early

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def exit_code(self) -> int:
        """See ``apikley_kling.cli`` for the table. The most actionable problem wins:
        ambiguous (a human must reconcile, money may be at stake) > auth > credits >
        timeout > failed > other errors."""
        kinds = {r.error_kind for r in self.results if r.outcome in ("error", "skipped")}
        if self.dry_run:
            return 0
        if self.count("ambiguous"):
            return 6
        if "auth" in kinds:
            return 3
        if "credits" in kinds:
            return 4
        if self.count("timeout"):
            return 5
        if self.count("failed"):
            return 1
        if "input" in kinds:
            return 2
        if kinds:
            return 7
        return 0


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
        schedule: Callable[[float], float] | None = None,
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
        # The SDK's schedule (the provider's advice, jittered) unless a test wants its own.
        self.schedule = schedule or poll_interval
        self._results: dict[str, JobResult] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrency)
        self._stop_reason: str | None = None
        self._stop_kind: ErrorKind | None = None
        self._slot_holders: set[str] = set()
        self._watch: dict[str, tuple[Job, float, float]] = {}  # task id -> job, started, next poll
        self._watch_cv = threading.Condition()
        self._submitting = 0
        self._resubmitted = 0

    # -- planning -------------------------------------------------------------

    def plan(self) -> BatchReport:
        """What a run would do, from the ledger, without sending anything (or creating any file)."""
        if not (self.out_dir / LEDGER_NAME).exists():
            return BatchReport([JobResult(job, "pending") for job in self.jobs], dry_run=True)
        with Ledger.in_dir(self.out_dir) as led:
            results = []
            for job in self.jobs:
                row = led.get(job.key)
                if row is None:
                    results.append(JobResult(job, "pending"))
                elif row.state == "submitting":
                    results.append(JobResult(job, "ambiguous", error="interrupted while the create was in flight"))
                else:
                    outcome: Outcome = "pending" if row.state == "created" else row.state
                    results.append(
                        JobResult(
                            job,
                            outcome,
                            task_id=row.task_id,
                            path=row.path,
                            error=row.error,
                            attempts=row.attempts,
                            resumed=True,
                        )
                    )
        return BatchReport(results, dry_run=True)

    # -- running --------------------------------------------------------------

    def run(self) -> BatchReport:
        started = self.clock.monotonic()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with _exclusive(self.out_dir / (LEDGER_NAME + ".lock")):
            self._ledger = Ledger.in_dir(self.out_dir)
            try:
                return self._run(started)
            finally:
                self._ledger.close()

    def _run(self, started: float) -> BatchReport:
        led = self._ledger
        led.settle_interrupted()
        to_submit: list[tuple[Job, bool]] = []
        to_watch: list[tuple[Job, str]] = []
        for job in self.jobs:
            row = led.get(job.key)
            if row is None:
                to_submit.append((job, False))
            elif row.state == "done":
                self._finish(
                    job, JobResult(job, "done", task_id=row.task_id, path=row.path, attempts=row.attempts, resumed=True)
                )
            elif row.state == "failed":
                self._finish(
                    job,
                    JobResult(job, "failed", task_id=row.task_id, error=row.error, attempts=row.attempts, resumed=True),
                )
            elif row.state == "created":
                assert row.task_id is not None
                to_watch.append((job, row.task_id))
            elif row.state == "ambiguous":
                if self.resubmit_ambiguous:
                    to_submit.append((job, True))
                else:
                    self._finish(job, JobResult(job, "ambiguous", error=row.error, attempts=row.attempts, resumed=True))
        for job, _ in to_submit:
            self._emit("queued", job)

        # Downloads get their own pool: queued behind blocked creates they would wait
        # for every create to be sent before the first finished video is saved.
        with (
            ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="kling-create") as pool,
            ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="kling-download") as self._downloads,
        ):
            poller = threading.Thread(target=self._poll_loop, name="kling-batch-poller", daemon=True)
            with self._watch_cv:
                self._submitting = len(to_submit)
            for job, task_id in to_watch:
                # Resumed tasks are already running server-side: waiting costs nothing,
                # so they do not take a slot from new creates.
                self._add_watch(job, task_id, holds_slot=False)
            poller.start()
            futures: list[Future[None]] = [pool.submit(self._submit, job, resubmit) for job, resubmit in to_submit]
            try:
                for f in futures:
                    f.result()
                poller.join()
            except BaseException:
                with self._watch_cv:
                    self._stop_reason = self._stop_reason or "interrupted"
                    self._watch_cv.notify_all()
                raise
            # Downloads were queued on the pool by the poller; the pool's exit waits for them.
        results = [
            self._results.get(job.key) or JobResult(job, "skipped", error=self._stop_reason) for job in self.jobs
        ]
        return BatchReport(
            results,
            resubmitted=self._resubmitted,
            elapsed=self.clock.monotonic() - started,
            stopped=self._stop_reason,
        )

    def _submit(self, job: Job, resubmit: bool) -> None:
        from . import errors as E

        self._slots.acquire()
        holds = True
        try:
            if self._stop_reason:
                self._finish(
                    job, JobResult(job, "skipped", error=f"not sent: {self._stop_reason}", error_kind=self._stop_kind)
                )
                return
            image_url = job.image
            if not job.image_is_url:
                self._emit("uploading", job)
                try:
                    image_url = self.client.files.upload(Path(job.image))
                except E.KlingError as e:
                    # Nothing paid yet: the job stays out of the ledger and a re-run tries again.
                    self._fail_unsent(job, e)
                    return
            row = self._ledger.mark_submitting(job.key, job.line, job.raw, resubmit=resubmit)
            if resubmit:
                with self._lock:
                    self._resubmitted += 1
            self._emit("submitting", job, attempt=row.attempts)
            try:
                task = self.client.tasks.create(image_url=image_url, **job.create_options())
            except E.AmbiguousSubmit as e:
                self._ledger.mark_ambiguous(job.key, e.reason)
                self._finish(job, JobResult(job, "ambiguous", error=e.reason, attempts=row.attempts))
                return
            except E.KlingError as e:
                # The SDK raises AmbiguousSubmit whenever the request may have reached the service;
                # any other error means it surely did not make a task.
                self._ledger.mark_unsent(job.key, str(e))
                self._fail_unsent(job, e, attempts=row.attempts)
                return
            except BaseException as e:
                # A bug or Ctrl-C mid-create: we cannot know whether it was sent.
                self._ledger.mark_ambiguous(job.key, f"interrupted: {type(e).__name__}")
                raise
            self._ledger.mark_created(job.key, task.id)
            self._emit("created", job, task_id=task.id)
            self._add_watch(job, task.id, holds_slot=True)
            holds = False  # released when the task reaches its end
        finally:
            with self._watch_cv:
                self._submitting -= 1
                self._watch_cv.notify_all()
            if holds:
                self._slots.release()

    def _fail_unsent(self, job: Job, e: Exception, *, attempts: int = 0) -> None:
        kind = classify(e)
        if kind in ("auth", "credits"):
            # Every other job would fail the same way (and with credits, a top-up
            # mid-run would make the outcome depend on timing): stop sending.
            with self._watch_cv:
                if self._stop_reason is None:
                    self._stop_reason = _one_line(e)
                    self._stop_kind = kind
        self._finish(job, JobResult(job, "error", error=_one_line(e), error_kind=kind, attempts=attempts))

    # -- waiting --------------------------------------------------------------

    def _add_watch(self, job: Job, task_id: str, *, holds_slot: bool) -> None:
        now = self.clock.monotonic()
        with self._watch_cv:
            if holds_slot:
                self._slot_holders.add(task_id)
            # The first query right away: a resumed task may have finished long ago.
            self._watch[task_id] = (job, now, now if not holds_slot else now + self.schedule(0.0))
            self._watch_cv.notify_all()

    def _release(self, task_id: str) -> None:
        with self._watch_cv:
            holder = task_id in self._slot_holders
            if holder:
                self._slot_holders.discard(task_id)
        if holder:
            self._slots.release()

    def _poll_loop(self) -> None:
        from . import errors as E

        # One budget for every query of the run; a 429 pauses all of them, not one task.
        bucket = TokenBucket(rate=self.polls_per_second, burst=self.polls_per_second, now=self.clock.monotonic())
        while True:
            with self._watch_cv:
                while not self._watch:
                    if self._submitting <= 0 or self._stop_reason == "interrupted":
                        return
                    # Real time, not the clock: nothing to age while a create is in flight.
                    self._watch_cv.wait(0.05)
                if self._stop_reason == "interrupted":
                    return
                task_id, (job, started, due) = min(self._watch.items(), key=lambda kv: kv[1][2])
            now = self.clock.monotonic()
            wait = max(due - now, bucket.available_at(now) - now)
            if wait > 0 or not bucket.try_take(now):
                # A create finishing meanwhile may add a task due sooner; waking every
                # second at most keeps that delay small without busy polling.
                self.clock.sleep(min(max(wait, 0.001), 1.0))
                continue
            try:
                task = self.client.tasks.get(task_id)
            except E.KlingError as e:
                kind = classify(e)
                if isinstance(e, E.RateLimitError):
                    bucket.pause(self.clock.monotonic(), e.retry_after or 5.0)
                if kind in ("transport", "api"):
                    # Transient by nature (the SDK already retried): keep watching until the deadline.
                    self._ledger.note_error(job.key, _one_line(e))
                    self._reschedule_or_time_out(task_id, job, started, None)
                    continue
                self._unwatch(task_id)
                self._ledger.note_error(job.key, _one_line(e))
                self._finish(job, JobResult(job, "error", task_id=task_id, error=_one_line(e), error_kind=kind))
                continue
            self._emit("state", job, task_id=task_id, state=task.state.value, elapsed=self.clock.monotonic() - started)
            if task.state.value == "success":
                self._unwatch(task_id)
                self._downloads.submit(self._download, job, task, started)
            elif task.state.value == "fail":
                self._unwatch(task_id)
                why = " ".join(x for x in (task.fail_code, task.fail_msg) if x) or "generation failed"
                self._ledger.mark_failed(job.key, why)
                self._finish(
                    job, JobResult(job, "failed", task_id=task_id, error=why, seconds=self.clock.monotonic() - started)
                )
            else:
                self._reschedule_or_time_out(task_id, job, started, task)

    def _reschedule_or_time_out(self, task_id: str, job: Job, started: float, task: Task | None) -> None:
        now = self.clock.monotonic()
        age = now - started
        if age >= self.timeout:
            self._unwatch(task_id)
            last = f", last state {task.state.value}" if task is not None else ""
            msg = f"still running after {self.timeout:g}s{last}; re-run to keep waiting"
            self._ledger.note_error(job.key, msg)
            self._finish(job, JobResult(job, "timeout", task_id=task_id, error=msg, seconds=age))
            return
        nxt = now + min(self.schedule(age), max(0.0, started + self.timeout - now))
        with self._watch_cv:
            if task_id in self._watch:
                self._watch[task_id] = (job, started, nxt)

    def _unwatch(self, task_id: str) -> None:
        with self._watch_cv:
            self._watch.pop(task_id, None)
            self._watch_cv.notify_all()

    def _download(self, job: Job, task: Task, started: float) -> None:
        from . import errors as E

        dest = self.out_dir / job.output
        self._emit("downloading", job, task_id=task.id)
        try:
            path = self.client.download(task, dest)
        except E.KlingError as e:
            # The task stays 'created': a re-run queries it again and gets fresh URLs.
            self._ledger.note_error(job.key, _one_line(e))
            self._finish(job, JobResult(job, "error", task_id=task.id, error=_one_line(e), error_kind=classify(e)))
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


class FolderBusy(Exception):
    """Another batch holds this output folder: two runs would resend each other's in-flight creates."""


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; one run per folder is then the user's care
        yield
        return
    with path.open("a") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(f"another `kling batch` is running on {path.parent}") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def classify(e: BaseException) -> ErrorKind:
    from . import errors as E

    if isinstance(e, E.AuthenticationError | E.ConfigurationError):
        return "auth"
    if isinstance(e, E.InsufficientCreditsError):
        return "credits"
    if isinstance(e, E.ValidationError | E.BadRequestError | E.NotFoundError):
        return "input"
    if isinstance(e, E.TransportError):
        return "transport"
    return "api"


def _one_line(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return " ".join(text.split())
