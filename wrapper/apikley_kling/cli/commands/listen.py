"""`kling listen`: callbacks received on 127.0.0.1, verified, confirmed with one query, recorded."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from apikley_kling import ENV_KEY
from apikley_kling import exit_codes as X

from .._client import client
from .._common import CliError, command_app, exits, guard, redact
from .._examples import ExampleCommand
from .._session import current

app = command_app()

WEBHOOK_ENV = ("APIKLEY_WEBHOOK_KEY", "KLING_WEBHOOK_KEY")


@app.command("listen", cls=ExampleCommand, epilog=exits(X.OK, X.USAGE, X.INTERRUPTED))
@guard
def listen(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 picks a free port.")],
    key_file: Annotated[
        str | None,
        typer.Option(
            "--key-file",
            help="Read the webhook HMAC key from this file ('-' reads a line from stdin). "
            f"Default: the {WEBHOOK_ENV[0]} environment variable.",
        ),
    ] = None,
    key: Annotated[str | None, typer.Option("--key", hidden=True)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Append confirmed tasks here as JSON lines.")] = None,
    tolerance: Annotated[float, typer.Option("--tolerance", min=1, help="Accepted clock skew, seconds.")] = 300.0,
    read_timeout: Annotated[
        float, typer.Option("--read-timeout", min=0.1, help="Seconds a client has for each request (head, then body).")
    ] = 10.0,
) -> None:
    """Receive callbacks on 127.0.0.1, verify their signatures, confirm each task with one query, record it.

    The webhook key comes from APIKLEY_WEBHOOK_KEY (or KLING_WEBHOOK_KEY) or --key-file,
    never from the command line, where `ps` shows it. With APIKLEY_API_KEY set, each
    verified callback is confirmed by asking the service for the task (the provider
    signs only its id and time); without it the task is recorded as unconfirmed.
    Callbacks already seen are kept beside --out, so that replays stay refused after a restart.
    """
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        raise CliError('kling listen needs uvicorn: pip install "apikley-kling[simulator]"', X.USAGE) from None
    from apikley_kling.callbacks import serve

    secret = _webhook_key(key_file, key)
    current().add_secret(secret)
    with contextlib.ExitStack() as stack:
        kling = stack.enter_context(client()) if os.environ.get(ENV_KEY, "").strip() else None
        try:
            serve(
                port=port,
                key=secret,
                out=out,
                tolerance=tolerance,
                read_timeout=read_timeout,
                kling=kling,
                echo=lambda line: print(redact(line), file=sys.stderr, flush=True),
            )
        except OSError as exc:
            raise CliError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", X.USAGE) from None


def _webhook_key(key_file: str | None, key: str | None) -> str:
    if key_file is not None:
        try:
            text = sys.stdin.readline() if key_file == "-" else Path(key_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"--key-file: cannot read {key_file}: {exc.strerror or exc}", X.USAGE) from None
        secret = text.strip()
    elif key is not None:
        sys.stderr.write(
            f"kling: warning: --key puts the webhook key where `ps` shows it; use {WEBHOOK_ENV[0]} or --key-file\n"
        )
        secret = key.strip()
    else:
        secret = next((v.strip() for name in WEBHOOK_ENV if (v := os.environ.get(name, "")).strip()), "")
    if not secret:
        raise CliError(f"no webhook key: set {WEBHOOK_ENV[0]}, or pass --key-file FILE ('-' reads stdin)", X.USAGE)
    return secret
