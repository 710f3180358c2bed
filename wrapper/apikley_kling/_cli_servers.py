"""`kling simulate` (serve the simulator) and `kling listen` (receive and verify callbacks), on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import cli, exit_codes

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

    from .models import Task


@cli.app.command()
@cli.guard
def simulate(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 picks a free port.")] = 8000,
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
    from .simulator import DEFAULT_API_KEY, Simulator, serve_forever

    if webhook_key:
        cli.add_secret(webhook_key)
    try:
        sim = Simulator(
            api_keys=(DEFAULT_API_KEY,),
            webhook_key=webhook_key,
            generation_time=generation_time,
            external_images=external_images,
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


@cli.app.command()
@cli.guard
def listen(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 picks a free port.")],
    key: Annotated[
        str, typer.Option("--key", envvar="APIKLEY_WEBHOOK_KEY", help="Webhook HMAC key (or APIKLEY_WEBHOOK_KEY).")
    ],
    out: Annotated[Path | None, typer.Option("--out", help="Append verified tasks here as JSON lines.")] = None,
    tolerance: Annotated[float, typer.Option("--tolerance", min=1, help="Accepted clock skew, seconds.")] = 300.0,
) -> None:
    """Receive callbacks on 127.0.0.1, verify their signatures, print each verified task as a JSON line."""
    from http.server import ThreadingHTTPServer

    cli.add_secret(key)
    handler = _callback_handler(key, tolerance, _Emitter(out))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise cli.CliError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", exit_codes.USAGE) from None
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"listening for callbacks on {url}" + (f", appending to {out}" if out else ""), file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class _Emitter:
    """Writes each verified task once, whole: a JSON line on stdout, or appended (and fsynced) to `out`."""

    def __init__(self, out: Path | None) -> None:
        self.out = out
        self._lock = threading.Lock()

    def __call__(self, task: Task) -> None:
        line = json.dumps({**cli.task_json(task), "received_at": time.time()})
        with self._lock:
            if self.out is None:
                print(line, flush=True)
                return
            with self.out.open("a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
            print(f"verified callback for task {task.id} ({task.state.value})", file=sys.stderr, flush=True)


def _callback_handler(key: str, tolerance: float, emit: Callable[[Task], None]) -> type[BaseHTTPRequestHandler]:
    from http.server import BaseHTTPRequestHandler

    from .callbacks import ReplayGuard, verify_callback
    from .errors import InvalidCallback, KlingError

    guard = ReplayGuard()

    class Handler(BaseHTTPRequestHandler):
        server_version = "kling-listen"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per callback is written by the emitter; the default access log is noise

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > 1_000_000:
                self._answer(413, {"ok": False, "error": "body too large"})
                return
            body = self.rfile.read(length)
            try:
                task = verify_callback(dict(self.headers.items()), body, key, tolerance=tolerance, replay_guard=guard)
            except (InvalidCallback, KlingError) as exc:
                print(
                    cli.redact(f"rejected callback from {self.client_address[0]}: {exc}"), file=sys.stderr, flush=True
                )
                self._answer(401, {"ok": False, "error": type(exc).__name__})
                return
            emit(task)
            self._answer(200, {"ok": True})

        def do_GET(self) -> None:
            self._answer(405, {"ok": False, "error": "POST callbacks here"})

    return Handler
