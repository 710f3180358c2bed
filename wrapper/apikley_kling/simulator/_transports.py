"""In-process httpx transports: the app answers without a socket.

A "dropped connection" fault cannot close a socket that does not exist, so
the app marks such an answer with DROP_HEADER and these transports turn it
into `httpx.RemoteProtocolError`, which is what a client sees when a server
hangs up without answering. Use these rather than a bare httpx.ASGITransport.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
from starlette.types import ASGIApp

DROP_HEADER = "x-apikley-sim-drop"
_T = TypeVar("_T")


def _dropped(request: httpx.Request) -> httpx.RemoteProtocolError:
    return httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)


class SimAsyncTransport(httpx.AsyncBaseTransport):
    """An httpx async transport that calls the simulator in-process."""

    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if DROP_HEADER in response.headers:
            await response.aclose()
            raise _dropped(request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _LoopThread:
    """An asyncio loop in a daemon thread: it never holds the interpreter open at exit."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="kling-sim-inprocess", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


class SimSyncTransport(httpx.BaseTransport):
    """Runs the ASGI app on a private event loop thread; the caller's thread just waits."""

    def __init__(self, app: ASGIApp) -> None:
        self._async = SimAsyncTransport(app)
        self._runner: _LoopThread | None = None
        self._lock = threading.Lock()

    def _loop(self) -> _LoopThread:
        with self._lock:
            if self._runner is None:
                self._runner = _LoopThread()
            return self._runner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        inner = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        try:
            status, headers, content = self._loop().run(self._send(inner))
        except httpx.RemoteProtocolError:
            raise _dropped(request) from None
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _send(self, request: httpx.Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        response = await self._async.handle_async_request(request)
        content = await response.aread()
        return response.status_code, response.headers.raw, content

    def close(self) -> None:
        with self._lock:
            runner, self._runner = self._runner, None
        if runner is not None:
            runner.stop()
