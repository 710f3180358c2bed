"""`kling contract-check`: the contract checker of `apikley_kling.contract`, as a subcommand.

Every argument after the subcommand goes to the checker unchanged (`kling contract-check --help`
lists them); its exit code is the command's (0 held, 1 findings, 2 could not run, 3 not exercised).
"""

from __future__ import annotations

import typer

from .cli import app


@app.command(
    "contract-check",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def contract_check(ctx: typer.Context) -> None:
    """Check a server (the real service, or --simulator) against the bundled spec; needs the [contract] extra."""
    from .contract import main

    raise typer.Exit(main(list(ctx.args), prog="kling contract-check"))
