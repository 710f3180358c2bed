"""The batch runner's waiting part: the SDK's watcher over every running task, then downloads and bookkeeping.

A part of `BatchRunner` (`_runner.py`); the state it works on is the run's `RunState` (`_state.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ._results import JobResult, foreign_outputs, one_line, settled_result, written_here
from ._state import Event, OnEvent

if TYPE_CHECKING:
    from ..errors import KlingError
    from ..events import TaskUpdate
    from ..models import Task
    from ..watch import Watch
    from ._jobs import Job
    from ._state import RunState

__all__ = ["Event", "OnEvent", "Watching"]


class Watching:
    """The runner's watching part: one watcher over every running task, then downloads and final transitions."""

    def __init__(self, run: RunState) -> None:
        self.run = run

    def on_update(self, update: TaskUpdate) -> None:
        """The watcher saw a task change state: tell the caller."""
        with self.run.watch_cv:
            entry = self.run.watched.get(update.task.id)
        if entry is not None:
            state = update.task.state.value
            self.run.emit("state", entry[0], task_id=update.task.id, state=state, elapsed=update.elapsed)

    def poll_loop(self, watch: Watch) -> None:
        """Settle each watched task as the watcher gives its outcome (the poller thread's body)."""
        try:
            for task_id, outcome in watch.results():
                with self.run.watch_cv:
                    job, started = self.run.watched.pop(task_id)
                self._settle(job, task_id, outcome, started)
        except BaseException as exc:  # the ledger lost, or a bug: the run stops at once, and says why
            self.run.failure.set(exc)

    def _settle(self, job: Job, task_id: str, outcome: Task | KlingError, started: float) -> None:
        """A watched task's outcome: download a success; record a failure, a timeout or a query error."""
        from .. import errors as E

        seconds = self.run.clock.monotonic() - started
        if isinstance(outcome, E.TaskTimeout):
            last = f", last state {outcome.last.state.value}" if outcome.last is not None else ""
            msg = f"still running after {self.run.timeout:g}s{last}; re-run to keep waiting"
            if isinstance(outcome.__cause__, E.KlingError):  # the queries kept failing: say so, not "running"
                msg = f"not seen to end in {self.run.timeout:g}s{last}, the last query: {one_line(outcome.__cause__)}"
                msg += "; re-run to keep waiting"
            self.run.led.note_error(job.key, msg)
            self.run.finish(job, JobResult(job, "timeout", task_id=task_id, error=msg, seconds=seconds))
        elif isinstance(outcome, E.GenerationFailed) and outcome.task is not None:
            task = outcome.task
            why = " ".join(x for x in (task.fail_code, task.fail_msg) if x) or "generation failed"
            if self._record(job, lambda: self.run.led.mark_failed(job.key, why)):
                self.run.finish(job, JobResult(job, "failed", task_id=task_id, error=why, seconds=seconds))
        elif isinstance(outcome, E.KlingError):
            # The watcher retried what was transient; the row stays 'created', so a re-run asks again.
            self.run.led.note_error(job.key, one_line(outcome))
            self.run.finish(job, JobResult.from_error(job, "error", outcome, task_id=task_id))
        else:
            assert self.run.downloads is not None
            self.run.downloads.submit(self._download, job, outcome, started)

    def _download(self, job: Job, task: Task, started: float) -> None:
        from .. import errors as E

        dest = self.run.out_dir / job.output
        row = self.run.led.get(job.key)
        mine = row is not None and row.path and written_here(row, Path(row.path), self.run.led.host)
        if mine and row is not None and row.path and Path(row.path).exists():
            # A worker on this machine saved it (the rename is atomic) and died before recording it: keep it.
            self._done(job, task, row.path, started)
            return
        if foreign_outputs(self.run.led, self.run.out_dir, [job]):
            # Appeared while the task ran: someone else's file. The task stays 'created' for a re-run.
            msg = f"{dest} appeared during the run and is not this batch's; not overwritten (move it, re-run)"
            self.run.led.note_error(job.key, msg)
            self.run.finish(job, JobResult(job, "error", task_id=task.id, error=msg, error_kind="input"))
            return
        self.run.led.note_path(job.key, str(dest))
        self.run.emit("downloading", job, task_id=task.id)
        try:
            path = self.run.client.download(task, dest)
        except E.KlingError as e:
            # The task stays 'created': a re-run queries it again and gets fresh URLs.
            self.run.led.note_error(job.key, one_line(e))
            self.run.finish(job, JobResult.from_error(job, "error", e, task_id=task.id))
            return
        self._done(job, task, str(path), started)

    def _done(self, job: Job, task: Task, path: str, started: float) -> None:
        if self._record(job, lambda: self.run.led.mark_done(job.key, path)):
            seconds = self.run.clock.monotonic() - started
            result = JobResult(job, "done", task_id=task.id, path=path, host=self.run.led.host, seconds=seconds)
            self.run.finish(job, result)

    def _record(self, job: Job, transition: Callable[[], None]) -> bool:
        """Apply a final transition; False (and the job finished from the ledger) when another worker that took
        the job over (this one having been silent past its lease) recorded its end first."""
        from ..ledger import LedgerError

        try:
            transition()
        except LedgerError:
            row = self.run.led.get(job.key)
            if row is None or row.state not in ("done", "failed"):
                raise
            self.run.finish(job, settled_result(job, row))
            return False
        return True
