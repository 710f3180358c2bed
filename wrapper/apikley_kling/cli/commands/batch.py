"""`kling batch`: many jobs, any models, one ledger; every line checked by the SDK before anything is sent."""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from apikley_kling import DEFAULT_TIMEOUT
from apikley_kling import exit_codes as X
from apikley_kling.ledger import LEASE_SECONDS
from apikley_kling.pricing import BOOK_NAME

from .._client import client, overridden
from .._common import (
    CliError,
    JsonOpt,
    RateLimitOpt,
    SimOpt,
    TimeoutOpt,
    command_app,
    exits,
    guard,
    print_json,
    redact,
    stderr_console,
    stdout_console,
)
from .._examples import ExampleCommand
from .._ledger import LedgerOpt, bad_file, open_budget, open_for_cli, read_jobs, show_status

if TYPE_CHECKING:
    from apikley_kling.batch import BatchReport, BatchRunner, Job, JobResult

app = command_app()
CODES = (X.OK, X.FAILED, X.USAGE, X.AUTH, X.CREDITS, X.TIMEOUT, X.AMBIGUOUS, X.API, X.SPEND, X.INTERRUPTED)

_SHOWN = 200  # rows a dry run's table shows: a million-row table helps nobody (--json lists every job)


PollIntervalOpt = Annotated[
    float | None,
    typer.Option(
        "--poll-interval",
        min=0.05,
        help="Seconds between queries of one task (default: the provider's advice, 2-30 s).",
    ),
]
LeaseOpt = Annotated[
    float,
    typer.Option(
        "--lease", min=0.5, help="With --ledger: seconds a silent worker keeps its jobs before others take them over."
    ),
]
StatusOpt = Annotated[
    bool, typer.Option("--status", help="Show the ledger's progress of these jobs (the whole fleet's) and exit.")
]


@dataclass(frozen=True)
class _Options:
    concurrency: int
    dry_run: bool
    resubmit_ambiguous: bool
    timeout: float
    poll_interval: float | None
    simulate: bool
    as_json: bool
    ledger: str | None
    lease: float
    rate_limit: float | None
    status: bool


@app.command("batch", cls=ExampleCommand, epilog=exits(*CODES))
@guard
def batch(
    jobs_file: Annotated[
        Path,
        typer.Argument(
            help="JSON lines: model, that model's fields (`kling models MODEL`), image, input, output, id, callback_url."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for videos and the ledger (ledger.sqlite3).")],
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=64, help="Tasks in flight at once.")
    ] = 4,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and show what would happen.")] = False,
    resubmit_ambiguous: Annotated[
        bool, typer.Option("--resubmit-ambiguous", help="Send again jobs whose create answer was lost (may pay twice).")
    ] = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    poll_interval: PollIntervalOpt = None,
    simulate: SimOpt = False,
    as_json: JsonOpt = False,
    ledger: LedgerOpt = None,
    lease: LeaseOpt = LEASE_SECONDS,
    rate_limit: RateLimitOpt = None,
    status: StatusOpt = False,
) -> None:
    """Run many jobs with bounded concurrency; re-running the same command resumes (see the ledger).

    With --ledger postgresql://... (or APIKLEY_LEDGER_URL) any number of workers, on any machines, share the batch.
    """
    opts = _Options(
        concurrency,
        dry_run,
        resubmit_ambiguous,
        timeout,
        poll_interval,
        simulate,
        as_json,
        ledger,
        lease,
        rate_limit,
        status,
    )
    try:
        _batch(jobs_file, out, opts)
    except KeyboardInterrupt:
        # Outside the runner's own handling (reading the file, opening the ledger): nothing is in flight.
        raise CliError(
            "interrupted before any create was in flight; run the same command again to resume",
            X.INTERRUPTED,
        ) from None


def _batch(jobs_file: Path, out: Path, o: _Options) -> None:
    from apikley_kling.batch import BatchRunner

    if o.dry_run:
        _dry_run(jobs_file, out, o)
        return
    jobs = read_jobs(jobs_file)
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file; give a folder", X.USAGE)
    if o.status:
        show_status(o.ledger, None if o.ledger else out, jobs, o.as_json)
        return
    poll_interval = o.poll_interval
    if poll_interval is None and o.simulate:
        # The --simulate tasks take about two seconds; the provider's 2-30 s schedule would idle.
        poll_interval = 0.5
    with contextlib.ExitStack() as stack:
        # The ledger (and the fleet's budget) first: a URL that cannot be used is one line before anything is sent.
        led = stack.enter_context(open_for_cli(o.ledger, out)) if o.ledger else None
        budget = stack.enter_context(open_budget(o.ledger, o.rate_limit)) if o.ledger and o.rate_limit else o.rate_limit
        for db in (led, budget):
            if db is not None and not isinstance(db, float):
                db.set_notice(_notice)  # a database outage is said as it happens, not only when it ends the run
        # What each create really cost, when it can be told (`pricing.PriceBook`): beside the ledger, in --out.
        book = out / BOOK_NAME
        kling = stack.enter_context(client(simulate=o.simulate, rate_limit=budget, price_book=book))
        runner = BatchRunner(
            kling,
            jobs,
            out,
            concurrency=o.concurrency,
            timeout=o.timeout,
            resubmit_ambiguous=o.resubmit_ambiguous,
            clock=overridden("clock"),
            interval=poll_interval or None,
            ledger=led,
            lease=o.lease,
        )
        report = _run(runner, jobs, o.as_json)
    _batch_output(report, o.as_json)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _notice(line: str) -> None:
    sys.stderr.write(redact(line) + "\n")
    sys.stderr.flush()


def _dry_run(jobs_file: Path, out: Path, o: _Options) -> None:
    """What a run would do, the file streamed: a few rows and the counts kept, every job's JSON spooled to a
    temporary file, so a million-line file is checked in bounded memory (and nothing is shown if a line is bad)."""
    from apikley_kling.batch import BatchReport, JobFileError, JobResult, iter_jobs, planned_result
    from apikley_kling.ledger import LEDGER_NAME

    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file; give a folder", X.USAGE)
    counts: dict[str, int] = {}
    shown: list[JobResult] = []
    has_ledger = bool(o.ledger) or (out / LEDGER_NAME).exists()
    with contextlib.ExitStack() as stack:
        led = stack.enter_context(open_for_cli(o.ledger, out)) if has_ledger else None
        spool = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
        try:
            for job in iter_jobs(jobs_file):
                r = planned_result(job, led.get(job.key)) if led is not None else JobResult(job, "pending")
                what = "would_create" if r.outcome == "pending" and not r.task_id else r.outcome
                counts[what] = counts.get(what, 0) + 1
                if o.as_json:  # one job a line: copied line by line, no secret spans two reads
                    spool.write(("," if spool.tell() else "") + json.dumps(_job_json(r), default=str) + "\n")
                elif len(shown) < _SHOWN:
                    shown.append(r)
        except JobFileError as exc:
            raise bad_file(jobs_file, exc) from None
        would = counts.get("would_create", 0)
        if would:
            counts["pending"] = counts.get("pending", 0) + counts.pop("would_create")
        if o.as_json:
            spool.seek(0)
            _stream_json(_report_json(BatchReport([], dry_run=True), counts, would), spool)
        else:
            _dry_output(BatchReport(shown, dry_run=True), counts, would)


def _run(runner: BatchRunner, jobs: list[Job], as_json: bool) -> BatchReport:
    from apikley_kling.batch import BatchInterrupted, FolderBusy, OutputExists
    from apikley_kling.ledger import LedgerUnavailable

    from .._view import BatchView

    try:
        if as_json:
            return runner.run()
        view = BatchView(stderr_console(), jobs)
        runner.on_event = view.event
        with view:
            return runner.run()
    except (FolderBusy, OutputExists) as exc:
        raise CliError(str(exc), X.USAGE) from None
    except LedgerUnavailable as exc:
        # The database stayed away past the reconnect window: one line, the exit code of a transport failure.
        raise CliError(str(exc), X.for_error(exc)) from None
    except BatchInterrupted as exc:
        # The first Ctrl-C: the ledger is consistent; one line says what is left and how to resume.
        raise CliError(str(exc), X.INTERRUPTED) from None


def _counts(report: BatchReport) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in report.results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return counts


def _job_json(r: JobResult) -> dict[str, Any]:
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
    }


def _report_json(
    report: BatchReport, counts: dict[str, int] | None = None, would_create: int | None = None
) -> dict[str, Any]:
    return {
        "ok": report.exit_code == 0,
        "exit_code": report.exit_code,
        "dry_run": report.dry_run,
        "counts": _counts(report) if counts is None else counts,
        "resubmitted": report.resubmitted,
        "stopped": report.stopped,
        "price_per_task": "unknown" if report.price_per_task is None else report.price_per_task,
        "would_create": would_create,
        "jobs": [_job_json(r) for r in report.results],
    }


def _stream_json(doc: dict[str, Any], jobs: IO[str]) -> None:
    """`doc` on stdout as print_json writes it, its (empty, last) "jobs" list filled from `jobs`, a spooled
    comma-separated run of job objects, one a line."""
    head = json.dumps(doc, default=str)
    assert head.endswith('"jobs": []}')
    sys.stdout.write(redact(head[:-2]))
    for line in jobs:
        sys.stdout.write(redact(line))
    sys.stdout.write("]}\n")
    sys.stdout.flush()


def _dry_output(report: BatchReport, counts: dict[str, int], would_create: int) -> None:
    from .._view import batch_summary

    con = stdout_console()
    con.print(batch_summary(report))
    total = sum(counts.values())
    if total > len(report.results):
        con.print(f"... and {total - len(report.results)} more job(s) (--json lists every one)")
    con.print(", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    price = "unknown" if report.price_per_task is None else f"{report.price_per_task:g} credits"
    con.print(
        f"would create {would_create} task(s); price per task: {price} "
        "(the API publishes no price; `kling credits` before and after tells the real cost)"
    )


def _batch_output(report: BatchReport, as_json: bool) -> None:
    from .._view import batch_summary

    if as_json:
        print_json(_report_json(report))
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
        con.print(f"[red]stopped sending:[/] {report.stopped}")
