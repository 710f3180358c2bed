"""The one state of a batch run, shared by its parts (send, watch, claims, stop), and the bookkeeping they all do.

Every part holds a reference to one `RunState`; none keeps a copy of it. What the parts share
across threads (the watched tasks, the slots, the count of creates still to come, the stop
reason) is guarded by `watch_cv`; the results by `lock`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .. import exit_codes
from ._fleet import Deferred
from ._jobs import Job
from ._results import JobResult, classify, one_line
from ._workers import Failure

if TYPE_CHECKING:
    from .. import Kling
    from ..clock import Clock
    from ..ledger import BaseLedger
    from ..watch import Watch
    from ._money import Budget
    from ._workers import Workers

Event = Literal["queued", "uploading", "submitting", "created", "state", "downloading", "finished"]
OnEvent = Callable[[Event, Job, dict[str, Any]], None]


@dataclass(eq=False)
class RunState:
    """A run's settings (as given to BatchRunner) and what its threads share while it runs."""

    client: Kling
    jobs: list[Job]
    out_dir: Path
    concurrency: int
    timeout: float
    resubmit_ambiguous: bool
    polls_per_second: float
    clock: Clock
    on_event: OnEvent | None
    interval: float | None
    lease: float
    revisit: float  # how often jobs held by other workers are looked at again
    budget: Budget  # the cap, the spend by the ledger, the balance check (`_money.py`)
    failure: Failure = field(init=False)  # the first error of any thread stops the run at once (abort)
    results: dict[str, JobResult] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    slots: threading.BoundedSemaphore = field(init=False)
    stop_reason: str | None = None
    stop_error: BaseException | None = None
    slot_holders: set[str] = field(default_factory=set)
    watched: dict[str, tuple[Job, float]] = field(default_factory=dict)  # task id -> job, when its wait began
    watcher: Watch | None = None
    watch_cv: threading.Condition = field(default_factory=threading.Condition)
    submitting: int = 0
    resubmitted: int = 0
    deferred: Deferred = field(default_factory=Deferred)
    revisiting: bool = False
    ended: threading.Event = field(default_factory=threading.Event)
    # Set once Ctrl-C's summary has read the ledger: the run closes its own ledger only after (or after a bound).
    reported: threading.Event = field(default_factory=threading.Event)
    # Set when the run starts: the open ledger, and the workers of creates and of downloads.
    ledger: BaseLedger | None = None
    creates: Workers | None = None
    downloads: Workers | None = None

    def __post_init__(self) -> None:
        self.slots = threading.BoundedSemaphore(self.concurrency)
        self.failure = Failure(self.abort)

    def abort(self, exc: BaseException | None = None) -> None:
        """Stop the run: no create is sent from now on, the watcher stops, queued work never starts. Threads
        waiting for a slot see the stop and leave (nothing would free one now)."""
        with self.watch_cv:
            if self.stop_reason is None:
                self.stop_reason = "interrupted" if exc is None else one_line(exc)
            self.watch_cv.notify_all()
        if self.watcher is not None:
            self.watcher.cancel()
        for workers in (self.creates, self.downloads):
            if workers is not None:
                workers.cancel()

    @property
    def led(self) -> BaseLedger:
        """The open ledger (only once the run has started)."""
        assert self.ledger is not None
        return self.ledger

    def add_watch(self, job: Job, task_id: str, *, holds_slot: bool) -> None:
        """Wait on a task; `holds_slot`: it keeps its create's slot until its job has finished."""
        with self.watch_cv:
            if holds_slot:
                self.slot_holders.add(task_id)
            self.watched[task_id] = (job, self.clock.monotonic())
        assert self.watcher is not None
        # A resumed (or taken over) task may have finished long ago: its first query goes at once.
        self.watcher.add(task_id, query_now=not holds_slot)

    def release(self, task_id: str) -> None:
        """Free the slot a task holds, if it holds one."""
        with self.watch_cv:
            holder = task_id in self.slot_holders
            if holder:
                self.slot_holders.discard(task_id)
        if holder:
            self.slots.release()

    def one_less_to_submit(self) -> None:
        """A create (or a revisit that might have queued one) is over: at the last, the watcher may end."""
        with self.watch_cv:
            self.submitting -= 1
            last = self.submitting == 0
            self.watch_cv.notify_all()
        if last and self.watcher is not None:
            self.watcher.close()  # every task there will be is in the watch: its results() may end

    def finish(self, job: Job, result: JobResult) -> None:
        """Keep a job's result (its attempts from the ledger), free its slot, and say so."""
        row = self.led.get(job.key)
        if row is not None and not result.attempts:
            result.attempts = row.attempts
        with self.lock:
            self.results[job.key] = result
        # The slot is held until the video is on disk: "in flight" includes the download.
        if result.task_id:
            self.release(result.task_id)
        self.emit("finished", job, outcome=result.outcome, result=result)

    def skipped(self, job: Job, why: str | None) -> JobResult:
        """A job this run did not attempt; with the error that stopped the run, its kind and exit code."""
        stop = self.stop_error
        if stop is None:
            return JobResult(job, "skipped", error=why)
        return JobResult(job, "skipped", error=why, error_kind=classify(stop), exit_code=exit_codes.for_error(stop))

    def emit(self, event: Event, job: Job, **info: Any) -> None:
        """Tell the caller's `on_event`, if any."""
        if self.on_event is not None:
            self.on_event(event, job, info)
