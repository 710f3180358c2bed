"""The `kling` app and its command table: name -> the module that holds the command, imported when it runs.

`kling --help` lists every command from the table (its one-line help is kept here), so that
showing the list imports no command module; `kling NAME ...` imports only NAME's module
(`commands/<name>.py`, whose `app` holds the one command), as pip and httpie do.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Any, NamedTuple

import typer
from typer.core import TyperGroup

from apikley_kling import ENV_BASE_URL, ENV_KEY, exit_codes

from ._common import exits
from ._session import begin


class Entry(NamedTuple):
    module: str  # relative to this package
    help: str  # the one line `kling --help` shows


COMMANDS: dict[str, Entry] = {
    "generate": Entry(".commands.generate", "Make one video with any model: upload local files, create the task, wait, download the MP4."),
    "status": Entry(".commands.status", "Show a task's state (one query)."),
    "wait": Entry(".commands.wait", "Wait until a task succeeds (exit 0), fails (exit 1) or the timeout passes (exit 5)."),
    "download": Entry(".commands.download", "Download a finished task's video (fresh URLs are asked for; nothing is paid)."),
    "credits": Entry(".commands.credits", "Show the account's remaining credits."),
    "upload": Entry(".commands.upload", "Upload a file and print the URL to use in a file field (files expire after 3 days)."),
    "models": Entry(".commands.models", "List the models (or one model's input fields), as the provider's pages state them."),
    "batch": Entry(".commands.batch", "Run many jobs with bounded concurrency; re-running the same command resumes (see the ledger)."),
    "ledger": Entry(".commands.ledger", "A batch's progress from its ledger: done, in flight, ambiguous, failed, pending; the workers; each video's host and path."),
    "simulate": Entry(".commands.simulate", "Serve the simulator over HTTP and print its URL and key."),
    "listen": Entry(".commands.listen", "Receive callbacks on 127.0.0.1, verify their signatures, confirm each task with one query, record it."),
    "contract-check": Entry(".commands.contract_check", "Check a server (the real service, or --simulate) against the bundled spec; needs the [contract] extra."),
}  # fmt: skip


class CommandTable(TyperGroup):
    """A group whose commands come from COMMANDS, each module imported only when its command is asked for."""

    def list_commands(self, ctx: Any) -> list[str]:  # ctx: typer's click Context
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry.module, __package__)
        command = typer.main.get_command(module.app)
        command.name = cmd_name
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # From the table: listing the commands must not import them.
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry.help) for name, entry in COMMANDS.items()])


EPILOG = (
    exits(*exit_codes.MEANINGS)
    + f"\nSet {ENV_KEY} to your key, or add --simulate to try the built-in simulator without one."
    + f" --base-url URL (or {ENV_BASE_URL}) points any command at another service, e.g. `kling simulate`."
)

app = typer.Typer(
    name="kling",
    cls=CommandTable,
    help="Turn images and text into videos with every Kling model on Apikley (`kling models` lists them).",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from apikley_kling import __version__

        sys.stdout.write(f"kling {__version__}\n")
        raise typer.Exit(exit_codes.OK)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (the API key stays hidden).")] = False,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url", metavar="URL", help=f"For every command: the service to talk to (overrides {ENV_BASE_URL})."
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Print `kling <version>` and exit."),
    ] = False,
) -> None:
    begin(debug=debug, base_url=base_url)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `kling` script."""
    args = list(sys.argv[1:] if argv is None else argv)
    # --debug is accepted anywhere on the line, not only before the command: it is the root's option.
    if "--debug" in args:
        args = ["--debug", *(a for a in args if a != "--debug")]
    try:
        app(args=args, prog_name="kling", standalone_mode=True)
    except SystemExit as exc:
        raise SystemExit(exc.code) from None
