"""What a batch run did: one result per job, and the run's exit code (from `exit_codes`, the one map)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from . import exit_codes
from ._jobs import Job

Outcome = Literal[
    "done",  # video on disk (this run or an earlier one)
    "failed",  # the task ended in state fail (paid)
    "ambiguous",  # a create was sent and its answer lost; not resent
    "timeout",  # still running when the deadline passed; a re-run waits on it again
    "error",  # something else stopped this job (see error_kind)
    "skipped",  # not attempted: the run stopped early (no credits, bad key)
    "pending",  # dry run: would be created
]

ErrorKind = exit_codes.ErrorKind

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
    exit_code: int = exit_codes.OK  # of the error that stopped this job (outcome error or skipped)

    @classmethod
    def from_error(cls, job: Job, outcome: Outcome, e: BaseException, **kw: Any) -> JobResult:
        """A job stopped by an error: its message, its kind and its exit code, from the one map."""
        return cls(job, outcome, error=one_line(e), error_kind=classify(e), exit_code=exit_codes.for_error(e), **kw)

    @property
    def outcome_code(self) -> int:
        """The exit code this job alone would mean."""
        by_outcome = {"ambiguous": exit_codes.AMBIGUOUS, "timeout": exit_codes.TIMEOUT, "failed": exit_codes.FAILED}
        return by_outcome.get(self.outcome, self.exit_code if self.outcome in ("error", "skipped") else exit_codes.OK)


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
