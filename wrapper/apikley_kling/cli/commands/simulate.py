"""`kling simulate` (serve the simulator) and `kling listen` (receive and verify callbacks), on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import cli, exit_codes
from ._net import SIMULATOR_PORT


@cli.app.command()
@cli.guard
def simulate(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 picks a free port.")] = SIMULATOR_PORT,
    host: Annotated[
        str, typer.Option("--host", help="Interface to bind; loopback unless you name another on purpose.")
    ] = "127.0.0.1",
    webhook_key: Annotated[str | None, typer.Option("--webhook-key", help="Sign callbacks with this HMAC key.")] = None,
    generation_time: Annotated[float, typer.Option("--generation-time", min=0, help="Seconds per generation.")] = 20.0,
    external_images: Annotated[
        str,
        typer.Option(
            "--external-images",
            help="File URLs on another host: 'reject' (422, as an unreachable file) or 'placeholder' "
            "(accept; a test card stands in). Use placeholder for contract checks with arbitrary URLs.",
        ),
    ] = "reject",
) -> None:
    """Serve the simulator over HTTP and print its URL and key."""
    from .simulator import DEFAULT_API_KEY, Simulator, Timings, serve_forever

    if webhook_key:
        cli.add_secret(webhook_key)
    try:
        sim = Simulator(
            api_keys=(DEFAULT_API_KEY,),
            webhook_key=webhook_key,
            external_images=external_images,
            timings=Timings(generation=generation_time),
        )
    except ValueError as exc:  # the simulator knows its modes; the option name is ours to add
        raise cli.CliError(f"--external-images: {exc}", exit_codes.USAGE) from None
    # An explicit --host is consent to leave loopback; the default never does.
    # By name: typer may carry its own copy of click, whose enum is not click's.
    source = ctx.get_parameter_source("host")
    explicit_host = getattr(source, "name", None) == "COMMANDLINE"
    try:
        serve_forever(
            host=host, port=port, simulator=sim, allow_any_host=explicit_host, print_fn=lambda s: print(s, flush=True)
        )
    except OSError as exc:
        raise cli.CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", exit_codes.USAGE) from None
    except ValueError as exc:
        raise cli.CliError(str(exc), exit_codes.USAGE) from None


WEBHOOK_ENV = ("APIKLEY_WEBHOOK_KEY", "KLING_WEBHOOK_KEY")


@cli.app.command()
@cli.guard
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
        raise cli.CliError(
            'kling listen needs uvicorn: pip install "apikley-kling[simulator]"', exit_codes.USAGE
        ) from None
    from ._listen import serve

    secret = _webhook_key(key_file, key)
    cli.add_secret(secret)
    with contextlib.ExitStack() as stack:
        kling = stack.enter_context(cli.client()) if os.environ.get(cli.ENV_KEY, "").strip() else None
        try:
            serve(port=port, key=secret, out=out, tolerance=tolerance, read_timeout=read_timeout, kling=kling)
        except OSError as exc:
            raise cli.CliError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", exit_codes.USAGE) from None


def _webhook_key(key_file: str | None, key: str | None) -> str:
    if key_file is not None:
        try:
            text = sys.stdin.readline() if key_file == "-" else Path(key_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise cli.CliError(f"--key-file: cannot read {key_file}: {exc.strerror or exc}", exit_codes.USAGE) from None
        secret = text.strip()
    elif key is not None:
        sys.stderr.write(
            f"kling: warning: --key puts the webhook key where `ps` shows it; use {WEBHOOK_ENV[0]} or --key-file\n"
        )
        secret = key.strip()
    else:
        secret = next((v.strip() for name in WEBHOOK_ENV if (v := os.environ.get(name, "")).strip()), "")
    if not secret:
        raise cli.CliError(
            f"no webhook key: set {WEBHOOK_ENV[0]}, or pass --key-file FILE ('-' reads stdin)", exit_codes.USAGE
        )
    return secret
