"""The contract checker: is a server (the real service, or a stand-in) still answering as the bundled spec says?

    python -m apikley_kling.contract --base-url https://api.apikley.ru --no-create --task-id ID --strict
    kling contract-check ...                       # the same command, from the CLI

It needs the [contract] extra: pip install "apikley-kling[contract]".

`main(argv)` is the command (returns its exit code), `check` the same as a Typer command
and `app` the Typer app that runs it; `check_service(settings)`
runs the checks and returns a `Report` (`report.text()`, `report.junit()`).
Nothing heavy is imported until one of them is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._command import EPILOG, check
    from ._fuzz import Settings
    from ._run import Report, check_service

__all__ = ["EPILOG", "Report", "Settings", "app", "check", "check_service", "main"]


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """Run the contract check as `argv` asks (see `--help`) and return the exit code CI gates on."""
    from ._cli import main as run

    return run(argv, prog=prog)


def __getattr__(name: str) -> Any:
    if name == "Settings":
        from ._fuzz import Settings

        return Settings
    if name in ("EPILOG", "app", "check"):  # typer is loaded only for the command line
        from . import _command

        return getattr(_command, name)
    if name in ("Report", "check_service"):
        from . import _run

        return getattr(_run, name)
    raise AttributeError(f"module 'apikley_kling.contract' has no attribute {name!r}")
