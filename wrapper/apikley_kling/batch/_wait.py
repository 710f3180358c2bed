"""The batch runner's waiting half: the SDK's watcher over every running task, then downloads and bookkeeping.

A mixin of `BatchRunner` (batch.py), which owns the state declared here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ._batch_results import JobResult, foreign_outputs, one_line, settled_result, written_here
from ._jobs import Job
from .clock import Clock

if TYPE_CHECKING:
    from ._batch_workers import Failure, Workers
    from .client import Kling
    from .errors import KlingError
    from .events import TaskUpdate
    from .ledger import BaseLedger
    from .models import Task
    from .watch import Watch

Event = Literal["queued", "uploading", "submitting", "created", "state", "downloading", "finished"]
OnEvent = Callable[[Event, Job, dict[str, Any]], None]


class Waiting:
    client: Kling
    clock: Clock
    timeout: float
    out_dir: Path
    on_event: OnEvent | None
    _ledger: BaseLedger
    _lock: threading.Lock
    _results: dict[str, JobResult]
    _slots: threading.BoundedSemaphore
    _slot_holders: set[str]
    _watched: dict[str, tuple[Job, float]]  # task id -> job, when its wait began
    _watcher: Watch | None
    _watch_cv: threading.Condition
    _downloads: Workers
    _failure: Failure

    def _add_watch(self, job: Job, task_id: str, *, holds_slot: bool) -> None:
        with self._watch_cv:
            if holds_slot:
                self._slot_holders.add(task_id)
            self._watched[task_id] = (job, self.clock.monotonic())
        assert self._watcher is not None
        # A resumed (or taken over) task may have finished long ago: its first query goes at once.
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
        try:
            for task_id, outcome in watch.results():
                with self._watch_cv:
                    job, started = self._watched.pop(task_id)
                self._settle(job, task_id, outcome, started)
        except BaseException as exc:  # the ledger lost, or a bug: the run stops at once, and says why
            self._failure.set(exc)

    def _settle(self, job: Job, task_id: str, outcome: Task | KlingError, started: float) -> None:
        """A watched task's outcome: download a success; record a failure, a timeout or a query error."""
        from . import errors as E

        seconds = self.clock.monotonic() - started
        if isinstance(outcome, E.TaskTimeout):
            last = f", last state {outcome.last.state.value}" if outcome.last is not None else ""
            msg = f"still running after {self.timeout:g}s{last}; re-run to keep waiting"
            if isinstance(outcome.__cause__, E.KlingError):  # the queries kept failing: say so, not "running"
                msg = f"not seen to end in {self.timeout:g}s{last}, the last query: {one_line(outcome.__cause__)}"
                msg += "; re-run to keep waiting"
            self._ledger.note_error(job.key, msg)
            self._finish(job, JobResult(job, "timeout", task_id=task_id, error=msg, seconds=seconds))
        elif isinstance(outcome, E.GenerationFailed) and outcome.task is not None:
            task = outcome.task
            why = " ".join(x for x in (task.fail_code, task.fail_msg) if x) or "generation failed"
            if self._record(job, lambda: self._ledger.mark_failed(job.key, why)):
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
        row = self._ledger.get(job.key)
        mine = row is not None and row.path and written_here(row, Path(row.path), self._ledger.host)
        if mine and row is not None and row.path and Path(row.path).exists():
            # A worker on this machine saved it (the rename is atomic) and died before recording it: keep it.
            self._done(job, task, row.path, started)
            return
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
        self._done(job, task, str(path), started)

    def _done(self, job: Job, task: Task, path: str, started: float) -> None:
        if self._record(job, lambda: self._ledger.mark_done(job.key, path)):
            seconds = self.clock.monotonic() - started
            result = JobResult(job, "done", task_id=task.id, path=path, host=self._ledger.host, seconds=seconds)
            self._finish(job, result)

    def _record(self, job: Job, transition: Callable[[], None]) -> bool:
        """Apply a final transition; False (and the job finished from the ledger) when another worker that took
        the job over (this one having been silent past its lease) recorded its end first."""
        from .ledger import LedgerError

        try:
            transition()
        except LedgerError:
            row = self._ledger.get(job.key)
            if row is None or row.state not in ("done", "failed"):
                raise
            self._finish(job, settled_result(job, row))
            return False
        return True

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
