"""`kling batch`'s output: the summary table and counts, the JSON report (a dry run's streamed), and money."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from rich.text import Text

from apikley_kling import for_terminal

from ._common import print_json, redact, stdout_console

if TYPE_CHECKING:
    from apikley_kling.batch import BatchReport, JobResult


@dataclass
class Total:
    """The estimate of the jobs a run would create: the known credits, and how many have an unknown price."""

    credits: float = 0.0
    unknown: int = 0

    def add(self, credits: float | None) -> None:
        if credits is None:
            self.unknown += 1
        else:
            self.credits += credits

    def json(self) -> dict[str, Any]:
        return {"credits": self.credits, "unknown": self.unknown, "at_least": bool(self.unknown)}

    def __str__(self) -> str:
        if not self.unknown:
            return f"estimated {self.credits:g} credits by the rate card"
        return (
            f"estimated at least {self.credits:g} credits by the rate card: {self.unknown} job(s) have an unknown price"
        )


def _counts(report: BatchReport) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in report.results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return counts


def job_json(r: JobResult) -> dict[str, Any]:
    return {
        "line": r.job.line,
        "key": r.job.key,
        "model": r.job.model,
        "outcome": r.outcome,
        "task_id": r.task_id,
        "file": r.path,
        "error": r.error,
        "error_kind": r.error_kind,
        "attempts": r.attempts,
        "resumed": r.resumed,
        "host": r.host,
        **({} if r.estimate is None else {"estimate": _credits(r.estimate.credits)}),
    }


def _credits(credits: float | None) -> float | str:
    return "unknown" if credits is None else credits


def report_json(
    report: BatchReport,
    counts: dict[str, int] | None = None,
    would_create: int | None = None,
    cost: Total | None = None,
) -> dict[str, Any]:
    money: dict[str, Any] = {"estimate": cost.json()} if cost is not None else {}
    if report.spent is not None:
        money = {"max_credits": report.max_credits, "spent": report.spent, "notes": report.notes}
    return {
        "ok": report.exit_code == 0,
        "exit_code": report.exit_code,
        "dry_run": report.dry_run,
        "counts": _counts(report) if counts is None else counts,
        "resubmitted": report.resubmitted,
        "stopped": report.stopped,
        "would_create": would_create,
        **money,
        "jobs": [job_json(r) for r in report.results],
    }


def stream_json(doc: dict[str, Any], jobs: IO[str]) -> None:
    """`doc` on stdout as print_json writes it, its (empty, last) "jobs" list filled from `jobs`, a spooled
    comma-separated run of job objects, one a line."""
    head = json.dumps(doc, default=str)
    assert head.endswith('"jobs": []}')
    sys.stdout.write(redact(head[:-2]))
    for line in jobs:
        sys.stdout.write(redact(line))
    sys.stdout.write("]}\n")
    sys.stdout.flush()


def dry_output(report: BatchReport, counts: dict[str, int], would_create: int, cost: Total) -> None:
    from ._view import batch_summary

    con = stdout_console()
    con.print(batch_summary(report))
    total = sum(counts.values())
    if total > len(report.results):
        con.print(f"... and {total - len(report.results)} more job(s) (--json lists every one)")
    con.print(", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    con.print(
        f"would create {would_create} task(s), {cost} "
        "(by the rate card and what this account was seen to pay; `kling credits` before and after tells the real cost)",
        markup=False,
    )


def batch_output(report: BatchReport, as_json: bool) -> None:
    from ._view import batch_summary

    if as_json:
        print_json(report_json(report))
        return
    counts = _counts(report)
    con = stdout_console()
    con.print(batch_summary(report))
    parts = [f"{v} {k}" for k, v in sorted(counts.items())]
    con.print(", ".join(parts) + (f"; {report.resubmitted} resubmitted" if report.resubmitted else ""))
    ambiguous = counts.get("ambiguous", 0)
    if ambiguous:
        con.print(
            f"[magenta]{ambiguous} ambiguous job(s)[/]: their create was sent but the answer was lost, so a "
            "paid task may exist. Check, then re-run with --resubmit-ambiguous to send them again."
        )
    if report.stopped:
        # The reason may be the service's text: escaped for the terminal, and never read as rich markup.
        con.print(Text.assemble(("stopped sending: ", "red"), for_terminal(report.stopped, 2000)))
    _money_output(report, counts.get("over_cap", 0))


def _money_output(report: BatchReport, over_cap: int) -> None:
    """What the run said of money (the balance check), what the ledger shows spent, and the jobs over the cap."""
    con = stdout_console()
    for note in report.notes:
        con.print(note, markup=False)
    if report.spent is not None:
        cap = "" if report.max_credits is None else f" of a cap of {report.max_credits:g}"
        con.print(f"spent by this batch (its ledger, by the rate card): {report.spent:g} credits{cap}", markup=False)
    if over_cap:
        con.print(
            f"[yellow]{over_cap} job(s) over the cap[/]: not sent, still pending; "
            "re-run with a higher --max-credits to send them."
        )
