"""What `kling batch` and `kling ledger` share: the --ledger option, opening it, its progress, the jobs file.

A ledger URL may hold a password: it is read from `--ledger` or APIKLEY_LEDGER_URL
(the documented way: argv is visible to every user of the machine), registered as
a secret so that no output shows it, and shown redacted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from apikley_kling import exit_codes, for_terminal
from apikley_kling.ledger import ENV_LEDGER_URL, LEDGER_NAME, LedgerUnavailable, open_ledger, secrets_of

from ._common import CliError, print_json, redact, stdout_console
from ._session import current

if TYPE_CHECKING:
    from apikley_kling.batch import Job, JobFileError
    from apikley_kling.ledger import BaseLedger, PgBudget

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


def open_for_cli(url: str | None, out: Path | None) -> BaseLedger:
    """The ledger, its password never shown; one line and exit 2 when it cannot be opened."""
    if url:
        for secret in secrets_of(url):
            current().add_secret(secret)
    elif out is None:
        raise CliError(f"give --ledger URL (or set {ENV_LEDGER_URL}) or --out DIR", exit_codes.USAGE)
    elif not (out / LEDGER_NAME).exists():
        raise CliError(f"no ledger in {out} (no batch has run there)", exit_codes.USAGE)
    try:
        return open_ledger(url, out or Path("."))
    except LedgerUnavailable as exc:
        raise CliError(str(exc), exit_codes.USAGE) from None


def open_budget(url: str, rate: float) -> PgBudget:
    """The fleet's request budget in the ledger's database; one line and exit 2 when it cannot be opened."""
    from apikley_kling.ledger import PgBudget

    try:
        return PgBudget(url, rate=rate)
    except LedgerUnavailable as exc:
        raise CliError(str(exc), exit_codes.USAGE) from None


def show_status(url: str | None, out: Path | None, jobs: list[Job] | None, as_json: bool) -> None:
    """Print the fleet's progress (only `jobs`' rows, and those not started as pending, when given)."""
    from apikley_kling.ledger import fleet_status, render_status

    with open_for_cli(url, out) as led:
        status = fleet_status(led, [(j.line, j.key) for j in jobs] if jobs is not None else None)
    if as_json:
        print_json(status.as_dict())
        return
    con = stdout_console()
    for line in render_status(status):
        con.print(redact(for_terminal(line, limit=2000)), markup=False, highlight=False)


def read_jobs(jobs_file: Path) -> list[Job]:
    """Every line checked; each bad one reported on stderr with its number, and nothing sent."""
    from apikley_kling.batch import JobFileError, read_jobs

    try:
        return read_jobs(jobs_file)
    except JobFileError as exc:
        raise bad_file(jobs_file, exc) from None


def bad_file(jobs_file: Path, exc: JobFileError) -> CliError:
    """The error of a jobs file with bad lines (each one already said on stderr, with its number)."""
    if len(exc.errors) == 1 and not exc.errors[0].line:  # the file itself (missing, unreadable): one line
        return CliError(exc.errors[0].message + "; nothing was sent", exit_codes.USAGE)
    for e in exc.errors:
        where = f"{jobs_file}:{e.line}: " if e.line else f"{jobs_file}: "
        sys.stderr.write(redact(where + e.message) + "\n")
    n = exc.total
    more = f" ({n - len(exc.errors)} more not shown)" if n > len(exc.errors) else ""
    return CliError(f"{n} bad line{'s' if n != 1 else ''} in {jobs_file}{more}; nothing was sent", exit_codes.USAGE)
