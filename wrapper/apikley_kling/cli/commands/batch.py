"""`kling batch`: many jobs, any models, one ledger; every line checked by the SDK before anything is sent."""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from apikley_kling import DEFAULT_TIMEOUT
from apikley_kling import exit_codes as X
from apikley_kling.ledger import LEASE_SECONDS
from apikley_kling.pricing import BOOK_NAME

from .._batch_out import Total, batch_output, dry_output, job_json, report_json, stream_json
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
    redact,
    stderr_console,
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
MaxCreditsOpt = Annotated[
    float | None,
    typer.Option(
        "--max-credits",
        metavar="N",
        min=0,
        help="Cap what the ledger shows this batch has spent (by the rate card, across re-runs): a create that would "
        "cross it is not sent, the jobs left are over the cap (exit 8); a re-run with a higher cap sends them.",
    ),
]
AllowUnknownOpt = Annotated[
    bool,
    typer.Option("--allow-unknown-price", help="Under --max-credits, send jobs whose price is unknown (not counted)."),
]
RunWhatItCanOpt = Annotated[
    bool,
    typer.Option(
        "--run-what-it-can",
        help="When the balance cannot pay for every job, send what it pays for (the balance as a cap) instead of "
        "stopping before the first create (exit 4).",
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
    max_credits: float | None = None
    allow_unknown_price: bool = False
    run_what_it_can: bool = False


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
    max_credits: MaxCreditsOpt = None,
    allow_unknown_price: AllowUnknownOpt = False,
    run_what_it_can: RunWhatItCanOpt = False,
) -> None:
    """Run many jobs with bounded concurrency; re-running the same command resumes (see the ledger).

    With --ledger postgresql://... (or APIKLEY_LEDGER_URL) any number of workers, on any machines, share the batch.
    Before the first create the estimate of the jobs to send is compared with the balance (`kling credits`).
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
        max_credits,
        allow_unknown_price,
        run_what_it_can,
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
            max_credits=o.max_credits,
            allow_unknown_price=o.allow_unknown_price,
            check_balance=True,
            run_what_it_can=o.run_what_it_can,
        )
        report = _run(runner, jobs, o.as_json)
    batch_output(report, o.as_json)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _notice(line: str) -> None:
    sys.stderr.write(redact(line) + "\n")
    sys.stderr.flush()


def _dry_run(jobs_file: Path, out: Path, o: _Options) -> None:
    """What a run would do, the file streamed: a few rows and the counts kept, every job's JSON spooled to a
    temporary file, so a million-line file is checked in bounded memory (and nothing is shown if a line is bad)."""
    from apikley_kling.batch import BatchReport, JobFileError, JobResult, estimate_job, iter_jobs, planned_result
    from apikley_kling.ledger import LEDGER_NAME
    from apikley_kling.pricing import BOOK_NAME, PriceBook

    # What this account was seen to pay (a book a run keeps beside its ledger) comes first over the card.
    observed = PriceBook(out / BOOK_NAME).observed if (out / BOOK_NAME).is_file() else None

    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file; give a folder", X.USAGE)
    counts: dict[str, int] = {}
    shown: list[JobResult] = []
    cost = Total()
    has_ledger = bool(o.ledger) or (out / LEDGER_NAME).exists()
    with contextlib.ExitStack() as stack:
        led = stack.enter_context(open_for_cli(o.ledger, out)) if has_ledger else None
        spool = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
        try:
            for job in iter_jobs(jobs_file):
                r = planned_result(job, led.get(job.key)) if led is not None else JobResult(job, "pending")
                what = "would_create" if r.outcome == "pending" and not r.task_id else r.outcome
                counts[what] = counts.get(what, 0) + 1
                r.estimate = estimate_job(job, observed=observed)
                if what == "would_create":  # summed as the file streams: what a run would pay for
                    cost.add(r.estimate.credits)
                if o.as_json:  # one job a line: copied line by line, no secret spans two reads
                    spool.write(("," if spool.tell() else "") + json.dumps(job_json(r), default=str) + "\n")
                elif len(shown) < _SHOWN:
                    shown.append(r)
        except JobFileError as exc:
            raise bad_file(jobs_file, exc) from None
        would = counts.get("would_create", 0)
        if would:
            counts["pending"] = counts.get("pending", 0) + counts.pop("would_create")
        if o.as_json:
            spool.seek(0)
            stream_json(report_json(BatchReport([], dry_run=True), counts, would, cost), spool)
        else:
            dry_output(BatchReport(shown, dry_run=True), counts, would, cost)


def _run(runner: BatchRunner, jobs: list[Job], as_json: bool) -> BatchReport:
    from apikley_kling.batch import BatchInterrupted, BatchMoneyRefused, FolderBusy, OutputExists
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
    except BatchMoneyRefused as exc:  # not enough credits (4), or an unknown price under the cap (8): nothing sent
        raise CliError(str(exc), exc.exit_code) from None
    except LedgerUnavailable as exc:
        # The database stayed away past the reconnect window: one line, the exit code of a transport failure.
        raise CliError(str(exc), X.for_error(exc)) from None
    except BatchInterrupted as exc:
        # The first Ctrl-C: the ledger is consistent; one line says what is left and how to resume.
        raise CliError(str(exc), X.INTERRUPTED) from None
