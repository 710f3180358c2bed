"""What a batch run did: one result per job, and the run's exit code (from `exit_codes`, the one map)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .. import exit_codes
from ._jobs import Job

if TYPE_CHECKING:
    from ..ledger import BaseLedger, Row
    from ..pricing import Estimate

Outcome = Literal[
    "done",  # video on disk (this run or an earlier one)
    "failed",  # the task ended in state fail (paid)
    "ambiguous",  # a create was sent and its answer lost; not resent
    "timeout",  # still running when the deadline passed; a re-run waits on it again
    "error",  # something else stopped this job (see error_kind)
    "skipped",  # not attempted: the run stopped early (no credits, bad key)
    "over_cap",  # not sent: its create would have crossed the batch's cap; still pending (a re-run sends it)
    "pending",  # dry run: would be created
]

ErrorKind = exit_codes.ErrorKind

#: A report's flat price per task: unknown, kept for callers of 0.1.0. Each job's estimate (`JobResult.estimate`,
#: by the rate card) and the report's `spent` say what a batch costs now.
PRICE_UNKNOWN: None = None


@dataclass
class JobResult:
    """What became of one job: its outcome, task, file or error, and how many creates it took."""

    job: Job
    outcome: Outcome
    task_id: str | None = None
    path: str | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    attempts: int = 0
    resumed: bool = False  # finished by an earlier run, or created by one and waited on here
    seconds: float | None = None
    exit_code: int = exit_codes.OK  # of the error that stopped this job (outcome error or skipped)
    host: str | None = None  # the machine `path` is on (a fleet's workers may run on several)
    estimate: Estimate | None = None  # what its create costs by the card (dry runs, and jobs over the cap)

    @classmethod
    def from_error(cls, job: Job, outcome: Outcome, e: BaseException, **kw: Any) -> JobResult:
        """A job stopped by an error: its message, its kind and its exit code, from the one map."""
        return cls(job, outcome, error=one_line(e), error_kind=classify(e), exit_code=exit_codes.for_error(e), **kw)

    @property
    def outcome_code(self) -> int:
        """The exit code this job alone would mean."""
        by_outcome = {
            "ambiguous": exit_codes.AMBIGUOUS,
            "timeout": exit_codes.TIMEOUT,
            "failed": exit_codes.FAILED,
            "over_cap": exit_codes.SPEND,
        }
        return by_outcome.get(self.outcome, self.exit_code if self.outcome in ("error", "skipped") else exit_codes.OK)


@dataclass
class BatchReport:
    """A run's (or a dry run's) results, one per job, and the exit code they mean."""

    results: list[JobResult]
    resubmitted: int = 0
    dry_run: bool = False
    price_per_task: float | None = PRICE_UNKNOWN
    elapsed: float = 0.0
    stopped: str | None = None  # why the run stopped submitting early
    # Money, when the run had a cap or checked the balance: the cap (credits), what the ledger shows the batch
    # has spent by the card (None: not looked at), and what the run said about money (the balance check).
    max_credits: float | None = None
    spent: float | None = None
    notes: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def exit_code(self) -> int:
        """The most actionable problem of the run wins (`exit_codes.most_actionable`); 0 for a dry run."""
        if self.dry_run:
            return exit_codes.OK
        return exit_codes.most_actionable(r.outcome_code for r in self.results)


def classify(e: BaseException) -> ErrorKind:
    """The batch's word for an error (its JSON `error_kind`), from the one error-to-exit-code map."""
    return exit_codes.kind_of(e)


def one_line(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return " ".join(text.split())


def plan(jobs: list[Job], out_dir: Path, ledger: str | BaseLedger | None = None) -> BatchReport:
    """What a run would do, from the ledger (a URL, an open one, or SQLite in `out_dir`), sending nothing."""
    from ..ledger import LEDGER_NAME, BaseLedger, open_ledger

    if ledger is None and not (out_dir / LEDGER_NAME).exists():
        return BatchReport([JobResult(job, "pending") for job in jobs], dry_run=True)
    given = isinstance(ledger, BaseLedger)
    led = ledger if isinstance(ledger, BaseLedger) else open_ledger(ledger, out_dir)
    try:
        results = [planned_result(job, led.get(job.key)) for job in jobs]
    finally:
        if not given:
            led.close()
    return BatchReport(results, dry_run=True)


def planned_result(job: Job, row: Row | None) -> JobResult:
    """What a run would do with a job, by its row: send it (pending), wait on its task (pending, with the task id),
    or nothing (over: as settled)."""
    if row is None:
        return JobResult(job, "pending")
    if row.state == "submitting":
        return JobResult(job, "ambiguous", error="interrupted while the create was in flight")
    if row.state == "created":
        return JobResult(job, "pending", task_id=row.task_id, error=row.error, attempts=row.attempts, resumed=True)
    return settled_result(job, row)


def settled_result(job: Job, row: Row) -> JobResult:
    """A job the ledger says is over (here or on another worker): done, failed, or ambiguous."""
    if row.state == "done":
        return JobResult(
            job, "done", task_id=row.task_id, path=row.path, host=row.host, attempts=row.attempts, resumed=True
        )
    if row.state == "failed":
        return JobResult(job, "failed", task_id=row.task_id, error=row.error, attempts=row.attempts, resumed=True)
    return JobResult(job, "ambiguous", error=row.error, attempts=row.attempts, resumed=True)


def written_here(row: Row | None, dest: Path, host: str) -> bool:
    """The ledger says this batch wrote (or is writing) `dest` for this job, on this machine."""
    if row is None or row.path is None or (row.host is not None and row.host != host):
        return False  # (no host: a ledger from before hosts were kept, always on this machine)
    return row.path == str(dest) or Path(row.path).absolute() == dest.absolute()


def foreign_outputs(ledger: BaseLedger, out_dir: Path, jobs: list[Job]) -> list[str]:
    """The jobs' outputs already in `out_dir` that the ledger does not say this batch wrote for that job."""
    found = []
    for job in jobs:
        dest = out_dir / job.output
        if (dest.exists() or dest.is_symlink()) and not written_here(ledger.get(job.key), dest, ledger.host):
            found.append(job.output)
    return found


def interrupted_message(rows: list[Row]) -> str:
    """The one line after Ctrl-C: what is still in flight, and that a re-run resumes."""
    sent = sum(1 for r in rows if r.state == "submitting")
    running = sum(1 for r in rows if r.state == "created")
    parts = [f"{running} task(s) still running on the service"]
    if sent:
        parts.append(f"{sent} create(s) sent without an answer yet (a re-run reports them as ambiguous)")
    return f"interrupted: {'; '.join(parts)}; run the same command again to resume"
