"""`kling simulate`: the simulator served over HTTP (on 127.0.0.1 unless --host says otherwise)."""

from __future__ import annotations

from typing import Annotated

import typer

from apikley_kling import SIMULATOR_PORT
from apikley_kling import exit_codes as X

from .._common import CliError, command_app, exits, guard
from .._examples import ExampleCommand
from .._session import current

app = command_app()


@app.command("simulate", cls=ExampleCommand, epilog=exits(X.OK, X.USAGE, X.INTERRUPTED))
@guard
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
    from apikley_kling.simulator import DEFAULT_API_KEY, Simulator, Timings, serve_forever

    if webhook_key:
        current().add_secret(webhook_key)
    try:
        sim = Simulator(
            api_keys=(DEFAULT_API_KEY,),
            webhook_key=webhook_key,
            external_images=external_images,
            timings=Timings(generation=generation_time),
        )
    except ValueError as exc:  # the simulator knows its modes; the option name is ours to add
        raise CliError(f"--external-images: {exc}", X.USAGE) from None
    # An explicit --host is consent to leave loopback; the default never does.
    # By name: typer may carry its own copy of click, whose enum is not click's.
    source = ctx.get_parameter_source("host")
    explicit_host = getattr(source, "name", None) == "COMMANDLINE"
    try:
        serve_forever(
            host=host, port=port, simulator=sim, allow_any_host=explicit_host, print_fn=lambda s: print(s, flush=True)
        )
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", X.USAGE) from None
    except ValueError as exc:
        raise CliError(str(exc), X.USAGE) from None
