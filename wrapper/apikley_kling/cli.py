"""The `kling` command: videos from images and text with every Kling model on Apikley.

This module holds what every subcommand shares (the app, the client it builds,
one-line errors, JSON output); the subcommands live in `_cli_*.py` and are
plain calls of the public SDK. Exit codes and their meanings: `exit_codes`.

Errors are one line on stderr; `--debug` adds the traceback. The API key is
never printed, not even with `--debug`.
"""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from . import exit_codes
from ._config import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT  # the commands' --timeout default
from ._config import ENV_BASE_URL as ENV_BASE_URL
from ._config import ENV_KEY as ENV_KEY
from ._text import for_terminal

if TYPE_CHECKING:
    from rich.console import Console

    from .models import Task

# "\b" keeps click from re-wrapping the table.
EPILOG = (
    "\b\nExit codes:\n"
    + "".join(f"  {code:<4} {meaning}\n" for code, meaning in exit_codes.MEANINGS.items())
    + f"\nSet {ENV_KEY} to your key, or add --simulate to try the built-in simulator without one."
    + f" --base-url URL (or {ENV_BASE_URL}) points any command at another service, e.g. `kling simulate`."
)

app = typer.Typer(
    name="kling",
    help="Turn images and text into videos with every Kling model on Apikley (`kling models` lists them).",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_debug = False
_secrets: set[str] = set()


_base_url: str | None = None  # the root --base-url (root_base_url())


class CliError(Exception):
    """An error the CLI explains itself: one line, one exit code (`exit_codes.for_error` keeps it)."""

    def __init__(self, message: str, exit_code: int, *, task_id: str | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.task_id = task_id


# -- output helpers ----------------------------------------------------------


def add_secret(secret: str) -> None:
    """Never print this value (a key read from the environment, a webhook key)."""
    _secrets.add(secret)


def root_base_url() -> str | None:
    """`kling --base-url URL COMMAND`: the root option, for the commands that have none of their own."""
    return _base_url


def redact(text: str) -> str:
    """`text` without any secret this process has seen (keys, webhook keys)."""
    for s in _secrets:
        if s:
            text = text.replace(s, "***")
    return text


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def print_json(obj: Any) -> None:
    """One JSON document on stdout, secrets redacted."""
    sys.stdout.write(redact(json.dumps(obj, default=str, sort_keys=False)) + "\n")
    sys.stdout.flush()


def _hint(exc: BaseException) -> str:
    from . import errors as E

    if isinstance(exc, E.TaskTimeout) and exc.task_id:
        return f" (it keeps running: `kling wait {exc.task_id}` goes on waiting)"
    if isinstance(exc, E.AmbiguousSubmit):
        return " (do not simply retry: a paid task may exist; check your callbacks or credits first)"
    if isinstance(exc, E.AuthenticationError):
        return f" (check {ENV_KEY})"
    if isinstance(exc, E.NotFoundError):
        return " (unknown task id?)"
    if isinstance(exc, E.ValidationError) and exc.model:
        return f" (`kling models {exc.model}` lists its fields and limits)"
    return ""


def _text(exc: BaseException) -> str:
    from .errors import ValidationError

    if isinstance(exc, ValidationError) and exc.model:
        return exc.message  # refused before sending: the [422] of str() would claim the service said so
    return str(exc)


def _fail(exc: BaseException, *, as_json: bool = False) -> NoReturn:
    code = exit_codes.for_error(exc)
    # Our own errors and a missing extra are already one sentence; SDK errors get their type.
    plain = isinstance(exc, CliError) or getattr(exc, "install_command", None)
    line = str(exc) if plain else f"{type(exc).__name__}: {' '.join(_text(exc).split())}{_hint(exc)}"
    if _debug:
        sys.stderr.write(redact("".join(traceback.format_exception(exc))))
    sys.stderr.write(redact(f"kling: error: {for_terminal(line, limit=2000)}") + "\n")
    if as_json:
        task_id = getattr(exc, "task_id", None)
        print_json(
            {"ok": False, "error": {"type": type(exc).__name__, "message": line, "task_id": task_id}, "exit_code": code}
        )
    raise typer.Exit(code)


def fail_usage(message: str, args: Sequence[str]) -> NoReturn:
    """A usage error met while a command's arguments are parsed (before `guard` runs): one line, USAGE."""
    _fail(CliError(message, exit_codes.USAGE), as_json="--json" in args)


F = TypeVar("F", bound=Callable[..., Any])


def guard(fn: F) -> F:
    """Turn every error into one line and its exit code (tracebacks only with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        from .errors import KlingError

        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            sys.stderr.write("kling: interrupted\n")
            raise typer.Exit(exit_codes.INTERRUPTED) from None
        except (CliError, KlingError) as exc:
            _fail(exc, as_json=as_json)
        except Exception as exc:
            if getattr(exc, "install_command", None):  # an extra is missing (SimulatorNotInstalled): usage
                _fail(exc, as_json=as_json)
            # A bug of ours: still one line (and the exit code of "other error"), with the
            # traceback behind --debug, because a stack dump is not a message.
            if _debug:
                sys.stderr.write(redact("".join(traceback.format_exception(exc))))
            line = for_terminal(f"{type(exc).__name__}: {exc}", limit=2000)
            sys.stderr.write(redact(f"kling: error: {line} (run with --debug for details)") + "\n")
            raise typer.Exit(exit_codes.API) from None

    return wrapper  # type: ignore[return-value]


# -- tasks -------------------------------------------------------------------


def task_json(task: Task) -> dict[str, Any]:
    """A task as the JSON outputs show it."""
    return {
        "task_id": task.id,
        "model": task.model,
        "state": task.state.value,
        "result_urls": list(task.result_urls),
        "video_url": task.video_url,
        "fail_code": task.fail_code,
        "fail_msg": task.fail_msg,
        "created_at": task.created_at.isoformat() if task.created_at else None,
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
        "cost_time": task.cost_time,
    }


def print_task(task: Task) -> None:
    """A task on stdout: a small table on a terminal, plain lines that are never cut elsewhere."""
    from ._cli_view import print_task as show

    show(task, stdout_console(), redact)


# -- options every command shares ----------------------------------------------

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of a live view.")]
SimOpt = Annotated[bool, typer.Option("--simulate", help="Run against the built-in simulator (no key, no credits).")]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help=f"The service to talk to (default: {ENV_BASE_URL}, else Apikley); plain http only to this machine,"
        " e.g. a served `kling simulate`.",
    ),
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=1, help="Seconds to wait for the task before giving up (exit 5).")
]


def _print_version(value: bool) -> None:
    if value:
        from . import __version__

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
    global _debug, _base_url
    _debug = _debug or debug
    _base_url = base_url


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `kling` script."""
    global _debug
    args = list(sys.argv[1:] if argv is None else argv)
    # --debug is accepted anywhere on the line, not only before the subcommand.
    if "--debug" in args:
        _debug = True
        args = [a for a in args if a != "--debug"]
    try:
        app(args=args, prog_name="kling", standalone_mode=True)
    except SystemExit as exc:
        raise SystemExit(exc.code) from None


# The subcommands add themselves to `app` when imported (any import order works: each
# imports this module first). They need the helpers above, so they come last.
from . import _cli_batch, _cli_contract, _cli_generate, _cli_ledger, _cli_models, _cli_servers, _cli_tasks  # noqa: E402
from ._cli_client import base_url_for, client, interrupted, overridden, resume_command  # noqa: E402
from ._cli_examples import add_examples  # noqa: E402

add_examples(app)

__all__ = [
    "CliError",
    "_cli_batch",
    "_cli_contract",
    "_cli_generate",
    "_cli_ledger",
    "_cli_models",
    "_cli_servers",
    "_cli_tasks",
    "app",
    "base_url_for",
    "client",
    "interrupted",
    "main",
    "overridden",
    "resume_command",
]

if __name__ == "__main__":
    main()
