"""`kling ledger`: a batch's progress from its ledger (the whole fleet's, with PostgreSQL); `--ledger` for both commands.

A ledger URL may hold a password: it is read from `--ledger` or APIKLEY_LEDGER_URL
(the documented way: argv is visible to every user of the machine), registered as
a secret so that no output shows it, and shown redacted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from . import cli, exit_codes
from ._cli_examples import _block
from ._text import for_terminal
from .ledger import ENV_LEDGER_URL, LEDGER_NAME, LedgerUnavailable, open_ledger, secrets_of

if TYPE_CHECKING:
    from ._jobs import Job
    from .ledger import BaseLedger, PgBudget

LedgerOpt = Annotated[
    str | None,
    typer.Option(
        "--ledger",
        envvar=ENV_LEDGER_URL,
        show_envvar=False,
        metavar="URL",
        help=f"A postgresql:// URL: the ledger shared by every worker of a fleet (default: ${ENV_LEDGER_URL}; "
        f"without either, {LEDGER_NAME} in --out). Put a URL with a password in ${ENV_LEDGER_URL}, not on the "
        "command line.",
    ),
]

EXAMPLE = [
    f"export {ENV_LEDGER_URL}=postgresql://kling:PASSWORD@db.internal/kling",
    "kling batch jobs.jsonl --out /data/videos --rate-limit 5   # on each machine",
    "kling ledger jobs.jsonl            # the fleet: done, in flight, ambiguous, failed; where each video is",
    "kling ledger --out /data/videos    # a SQLite ledger",
]


def open_for_cli(url: str | None, out: Path | None) -> BaseLedger:
    """The ledger, its password never shown; one line and exit 2 when it cannot be opened."""
    if url:
        for secret in secrets_of(url):
            cli.add_secret(secret)
    elif out is None:
        raise cli.CliError(f"give --ledger URL (or set {ENV_LEDGER_URL}) or --out DIR", exit_codes.USAGE)
    elif not (out / LEDGER_NAME).exists():
        raise cli.CliError(f"no ledger in {out} (no batch has run there)", exit_codes.USAGE)
    try:
        return open_ledger(url, out or Path("."))
    except LedgerUnavailable as exc:
        raise cli.CliError(str(exc), exit_codes.USAGE) from None


def open_budget(url: str, rate: float) -> PgBudget:
    """The fleet's request budget in the ledger's database; one line and exit 2 when it cannot be opened."""
    from .ledger import PgBudget

    try:
        return PgBudget(url, rate=rate)
    except LedgerUnavailable as exc:
        raise cli.CliError(str(exc), exit_codes.USAGE) from None


def show_status(url: str | None, out: Path | None, jobs: list[Job] | None, as_json: bool) -> None:
    """Print the fleet's progress (only `jobs`' rows, and those not started as pending, when given)."""
    from .ledger._status import fleet_status, render

    with open_for_cli(url, out) as led:
        status = fleet_status(led, [(j.line, j.key) for j in jobs] if jobs is not None else None)
    if as_json:
        cli.print_json(status.as_dict())
        return
    con = cli.stdout_console()
    for line in render(status):
        con.print(cli.redact(for_terminal(line, limit=2000)), markup=False, highlight=False)


@cli.app.command("ledger", epilog=_block(EXAMPLE))
@cli.guard
def ledger(
    jobs_file: Annotated[
        Path | None, typer.Argument(help="The batch's job file: its jobs not started yet count as pending.")
    ] = None,
    url: LedgerOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help=f"The folder of a SQLite ledger ({LEDGER_NAME}).")] = None,
    as_json: cli.JsonOpt = False,
) -> None:
    """A batch's progress from its ledger: done, in flight, ambiguous, failed, pending; the workers; each video's host and path."""
    jobs = None
    if jobs_file is not None:
        from ._cli_batch import _read

        jobs = _read(jobs_file)
    show_status(url, out, jobs, as_json)
