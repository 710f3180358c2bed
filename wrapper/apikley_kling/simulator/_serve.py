"""Serving the simulator over real HTTP on loopback, in a thread or in the foreground."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from apikley_kling._net import SIMULATOR_PORT, is_loopback_host

from ._service import DEFAULT_API_KEY, Simulator


def _check_loopback(host: str, allow_any_host: bool) -> None:
    if allow_any_host:
        return
    if not is_loopback_host(host):
        raise ValueError(
            f"refusing to bind {host!r}: the simulator serves loopback only (allow_any_host=True overrides)"
        )


@contextlib.contextmanager
def serve_in_thread(
    sim: Simulator,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    callback_interval: float = 0.05,
    allow_any_host: bool = False,
) -> Iterator[str]:
    """uvicorn in a daemon thread plus a loop that sends due callbacks; both stop when the block ends."""
    import uvicorn

    _check_loopback(host, allow_any_host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose proto says TCP,
    # and without it every answer waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    actual = sock.getsockname()[1]
    # h11 because dropped-connection faults find the connection through its protocol objects.
    # log_config=None: serving must not reconfigure the logging of the process that embeds it.
    config = uvicorn.Config(
        sim.app, http="h11", ws="none", lifespan="off", log_config=None, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="kling-sim-http", daemon=True)
    netloc = f"[{host}]:{actual}" if family == socket.AF_INET6 else f"{host}:{actual}"
    url = f"http://{netloc}"
    stop = threading.Event()

    def deliver_due() -> None:
        while not stop.wait(callback_interval):
            sim.run_due()

    pump = threading.Thread(target=deliver_due, name="kling-sim-callbacks", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the simulator's HTTP server did not start")
        time.sleep(0.005)
    sim.attach_server(actual, server, url)
    pump.start()
    try:
        yield url
    finally:
        stop.set()
        server.should_exit = True
        thread.join(timeout=10)
        pump.join(timeout=10)
        sim.detach_server(actual)
        sock.close()


def serve_forever(
    host: str = "127.0.0.1",
    port: int = SIMULATOR_PORT,
    *,
    api_key: str = DEFAULT_API_KEY,
    simulator: Simulator | None = None,
    allow_any_host: bool = False,
    print_fn: Any = print,
    stop_event: threading.Event | None = None,
    **options: Any,
) -> None:
    """Serve until Ctrl-C (or `stop_event` is set), printing the URL and the key to use.

    `kling simulate` calls this; `options` go to Simulator (e.g. timings=Timings(generation=5.0)).
    """
    sim = simulator if simulator is not None else Simulator(api_keys=(api_key,), **options)
    keys = sorted(sim.api_keys)
    with serve_in_thread(sim, host=host, port=port, allow_any_host=allow_any_host) as url:
        print_fn(f"Kling simulator listening on {url}")
        print_fn(f"API key: {keys[0]}")
        print_fn(f"  export APIKLEY_BASE_URL={url} APIKLEY_API_KEY={keys[0]}")
        print_fn("Press Ctrl-C to stop.")
        stopped = stop_event if stop_event is not None else threading.Event()
        try:
            while not stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            print_fn("stopping")
