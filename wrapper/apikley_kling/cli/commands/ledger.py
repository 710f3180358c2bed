"""`kling ledger`: a batch's progress from its ledger (the whole fleet's, with PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from apikley_kling import exit_codes as X
from apikley_kling.ledger import LEDGER_NAME

from .._common import JsonOpt, command_app, exits, guard
from .._examples import ExampleCommand
from .._ledger import LedgerOpt, read_jobs, show_status

app = command_app()


@app.command("ledger", cls=ExampleCommand, epilog=exits(X.OK, X.USAGE, X.API, X.INTERRUPTED))
@guard
def ledger(
    jobs_file: Annotated[
        Path | None, typer.Argument(help="The batch's job file: its jobs not started yet count as pending.")
    ] = None,
    url: LedgerOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help=f"The folder of a SQLite ledger ({LEDGER_NAME}).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A batch's progress from its ledger: done, in flight, ambiguous, failed, pending; the workers; each video's host and path."""
    show_status(url, out, read_jobs(jobs_file) if jobs_file is not None else None, as_json)
