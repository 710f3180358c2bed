"""What every `kling` command shares: one-line errors and their exit codes, output, the shared options.

Errors are one line on stderr; `--debug` adds the traceback. The API key is
never printed, not even with `--debug`. Exit codes and their meanings: `apikley_kling.exit_codes`.
"""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from apikley_kling import ENV_BASE_URL, ENV_KEY, exit_codes, for_terminal

from ._session import current

if TYPE_CHECKING:
    from rich.console import Console

    from apikley_kling import Task

__all__ = [
    "BaseUrlOpt",
    "CliError",
    "JsonOpt",
    "RateLimitOpt",
    "SimOpt",
    "TimeoutOpt",
    "command_app",
    "exits",
    "fail_usage",
    "guard",
    "print_json",
    "print_task",
    "redact",
    "stderr_console",
    "stdout_console",
    "task_json",
]


class CliError(Exception):
    """An error the CLI explains itself: one line, one exit code (`exit_codes.for_error` keeps it)."""

    def __init__(self, message: str, exit_code: int, *, task_id: str | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.task_id = task_id


def command_app() -> typer.Typer:
    """The Typer app of one command module: plain help like the root's (no rich boxes, no completion options)."""
    return typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


def exits(*codes: int) -> str:
    """The "Exit codes:" block of a command's --help, each code's meaning from exit_codes.MEANINGS."""
    # "\b" keeps click from re-wrapping the table.
    return "\b\nExit codes:\n" + "".join(f"  {code:<4} {exit_codes.MEANINGS[code]}\n" for code in codes)


# -- output ------------------------------------------------------------------


def redact(text: str) -> str:
    """`text` without any secret this run has seen (keys, webhook keys, ledger passwords)."""
    return current().redact(text)


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


def task_json(task: Task) -> dict[str, Any]:
    """A task as the JSON outputs show it (the same fields as a line of `kling listen`)."""
    from apikley_kling.callbacks import task_record

    return task_record(task)


def print_task(task: Task) -> None:
    """A task on stdout: a small table on a terminal, plain lines that are never cut elsewhere."""
    from ._view import print_task as show

    show(task, stdout_console(), redact)


# -- errors ------------------------------------------------------------------


def _hint(exc: BaseException) -> str:
    from apikley_kling import errors as E

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
    from apikley_kling import ValidationError

    if isinstance(exc, ValidationError) and exc.model:
        return exc.message  # refused before sending: the [422] of str() would claim the service said so
    return str(exc)


def _fail(exc: BaseException, *, as_json: bool = False) -> NoReturn:
    code = exit_codes.for_error(exc)
    # Our own errors and a missing extra are already one sentence; SDK errors get their type.
    plain = isinstance(exc, CliError) or getattr(exc, "install_command", None)
    line = str(exc) if plain else f"{type(exc).__name__}: {' '.join(_text(exc).split())}{_hint(exc)}"
    if current().debug:
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
        from apikley_kling import KlingError

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
            if current().debug:
                sys.stderr.write(redact("".join(traceback.format_exception(exc))))
            line = for_terminal(f"{type(exc).__name__}: {exc}", limit=2000)
            sys.stderr.write(redact(f"kling: error: {line} (run with --debug for details)") + "\n")
            raise typer.Exit(exit_codes.API) from None

    return wrapper  # type: ignore[return-value]


def deprecated(old: str, new: str) -> None:
    """The one-line note of an old option spelling that still works for one minor version."""
    sys.stderr.write(f"kling: warning: {old} is deprecated and goes in the next minor version; use {new}\n")


# -- options every command shares: one name for one thing ----------------------

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
RateLimitOpt = Annotated[
    float | None,
    typer.Option(
        "--rate-limit",
        metavar="N",
        min=0.01,
        help="Requests per second (creates, uploads, queries); with a postgresql:// --ledger, for all its workers together.",
    ),
]


# -- what the task commands (status, wait, download) share ----------------------

TaskArg = Annotated[str, typer.Argument(help="The task id that create returned.")]
# Each --simulate starts a fresh in-process simulator, which knows no task: a task id needs a served one.
NoSimOpt = Annotated[bool, typer.Option("--simulate", hidden=True)]


def no_simulate(command: str, simulate: bool) -> None:
    """`--simulate` on a command that takes a task id: refused, with the way to a simulator that knows it."""
    if simulate:
        raise CliError(
            f"`kling {command} --simulate` would ask a fresh simulator that knows no task; serve one that the "
            "commands share: `kling simulate --port 8765` in another terminal, then "
            f"`kling {command} TASK --base-url http://127.0.0.1:8765` with {ENV_KEY} set to the key it prints",
            exit_codes.USAGE,
        )


def show_task(task: Task, as_json: bool) -> None:
    """A task as the answer of a command: JSON, or a small table."""
    if as_json:
        print_json({"ok": True, **task_json(task)})
    else:
        print_task(task)
