"""A proxy in front of the simulator that makes it drift from the spec one way at a time.

The proxy is a Starlette app that hands each request to the simulator's own
ASGI app (in-process, through httpx.ASGITransport), lets a `Drift` rewrite
the request before and the answer after, and is served by uvicorn on
127.0.0.1 (a free port) in a daemon thread that stops when the block ends.
The checker talks to it over real HTTP, exactly as it would to the service.

Each drift counts the answers (or requests) it really changed, so a test can
prove the drift was applied before it says the checker caught it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from apikley_kling.contract import _openapi
from apikley_kling.simulator import Money, Simulator, Timings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Exchange:
    """One request and its answer as a drift sees them (JSON parsed; None when not JSON)."""

    operation: str  # operationId, "" for a path outside the spec
    headers: dict[str, str]
    request: Any
    status: int = 200
    body: Any = None
    content_type: str = "application/json"


Rewrite = Callable[[Exchange], bool]  # changes the exchange in place; True when it changed something


@dataclass
class Drift:
    """One way a provider may change. `names`: what its finding must name; `free`: seen without a paid create."""

    name: str
    breaking: bool
    names: str = ""
    free: bool = True
    request: Rewrite | None = None
    answer: Rewrite | None = None
    sim: dict[str, Any] = dataclasses.field(
        default_factory=dict
    )  # Simulator options the drift needs (e.g. tasks that fail)
    changed: int = 0

    def __str__(self) -> str:
        return self.name


def _operation_of(method: str, path: str) -> str:
    for operation in _openapi.operations().values():
        if operation.method == method and operation.path == path:
            return operation.id
    return ""


def proxy_app(sim: Simulator, drift: Drift) -> Starlette:
    """The simulator's app behind `drift`."""
    upstream = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=sim.base_url)

    async def forward(request: Request) -> Response:
        raw = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        exchange = Exchange(_operation_of(request.method, request.url.path), headers, _parse(raw))
        if drift.request is not None and drift.request(exchange):
            drift.changed += 1
            raw = json.dumps(exchange.request).encode() if exchange.request is not None else raw
        answer = await upstream.request(
            request.method, request.url.path, params=request.query_params, content=raw, headers=exchange.headers
        )
        exchange.status, exchange.body = answer.status_code, _parse(answer.content)
        content = answer.content
        if drift.answer is not None and exchange.body is not None and drift.answer(exchange):
            drift.changed += 1
            content = json.dumps(exchange.body).encode()
        # The simulator's own headers pass (Allow on a 405, Retry-After on a 429); the body's length is ours.
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in ("content-length", "content-type")}
        return Response(content, status_code=exchange.status, headers=headers, media_type=exchange.content_type)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)])


def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """uvicorn on 127.0.0.1, a free port, in a daemon thread; stopped when the block ends."""
    import uvicorn

    # IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets whose proto says TCP (else ~40 ms per answer).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, http="h11", ws="none", lifespan="off", log_config=None, log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="drift-proxy", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the drift proxy did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.contextmanager
def drifting(drift: Drift, **sim_options: Any) -> Iterator[tuple[str, Simulator]]:
    """A fresh simulator (tasks finish at once) behind `drift`, served; yields (url, simulator)."""
    from apikley_kling.clock import VirtualClock

    options: dict[str, Any] = {
        "clock": VirtualClock(),
        "money": Money(credits=1e12),
        "external_images": "placeholder",
        "timings": Timings.instant(fail_probability=0.25),
        "seed": 7,
        **drift.sim,
        **sim_options,
    }
    sim = Simulator(**options)
    with serve(proxy_app(sim, drift)) as url:
        yield url, sim
