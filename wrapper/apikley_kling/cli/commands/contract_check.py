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
    from ._cli_examples import example
    from .contract import main

    args = list(ctx.args)
    try:
        code = main(args, prog="kling contract-check")
    except SystemExit as exc:  # argparse's --help and usage errors
        code = exc.code if isinstance(exc.code, int) else 2
    if {"-h", "--help"} & set(args):
        typer.echo("\n" + (example("contract-check") or ""))
    raise typer.Exit(code)
