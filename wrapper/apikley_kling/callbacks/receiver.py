"""`callback_app`: an ASGI app that receives the service's callbacks, served by uvicorn (`kling listen`).

Every cap holds while the body streams in (size, time); a verified callback is handed on and
notifies the inbox, so a waiting client confirms it with one query.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..clock import Clock
from ..errors import InvalidCallback, ReplayedCallback
from ..models import Task
from .replay import ReplayGuard
from .verify import SIGNATURE_HEADER, TIMESTAMP_HEADER, header, verify_callback

if TYPE_CHECKING:  # annotations only: the polling schedule loads with the first client, not on import
    from ..polling import CallbackInbox

__all__ = ["ASGIApp", "callback_app"]

ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[dict[str, Any], ASGIReceive, ASGISend], Awaitable[None]]


class _Refused(Exception):
    def __init__(self, status: int, msg: str, task_id: str | None = None) -> None:
        super().__init__(msg)
        self.status = status
        self.msg = msg
        self.task_id = task_id


async def _respond(send: ASGISend, status: int, msg: str) -> None:
    payload = json.dumps({"code": status, "msg": msg}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if status >= 400:
        headers.append((b"connection", b"close"))  # a refused body may still be on its way: never read it
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _declared_length(headers: list[tuple[bytes, bytes]], max_body: int) -> None:
    """Refuse on the headers alone: a Content-Length that is not a number, or one over the cap."""
    for name, value in headers:
        if name.lower() != b"content-length":
            continue
        if not value.strip().isdigit():
            raise _Refused(400, "Content-Length is not a number")
        if int(value) > max_body:
            raise _Refused(413, "body too large")


async def _read_body(receive: ASGIReceive, max_body: int, read_timeout: float | None) -> bytes:
    """The body, counted while it streams in: the cap holds whatever the headers claimed."""
    import asyncio

    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(read_timeout):
            while True:
                message = await receive()
                if message.get("type") == "http.disconnect":
                    raise _Refused(400, "client went away")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > max_body:
                    raise _Refused(413, "body too large")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        raise _Refused(408, "body not received in time") from None


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise _Refused(400, "callback body is not JSON") from None


async def _lifespan(receive: ASGIReceive, send: ASGISend) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def callback_app(
    key: str | bytes | None,
    *,
    inbox: CallbackInbox | None = None,
    on_task: Callable[[Task], object] | None = None,
    replay_guard: ReplayGuard | None = None,
    tolerance: float = 300,
    clock: Clock | None = None,
    max_body: int = 1 << 20,
    read_timeout: float | None = 10.0,
    on_refused: Callable[[int, str, str | None], object] | None = None,
) -> ASGIApp:
    """A tiny ASGI app that receives the service's callbacks (no web framework needed).

    A verified callback notifies `inbox` (so a waiting Kling/AsyncKling ends its
    wait with one confirming query) and is passed to `on_task`. key=None accepts
    unsigned callbacks (for accounts without webhook signing): the confirming
    query is then the only check, so never trust such a Task's URLs unconfirmed.
    The body is never read past `max_body` bytes, whatever Content-Length says,
    and must arrive within `read_timeout` seconds.
    Answers: 200 accepted (also for a replay, so the service stops resending),
    401 bad signature or stale, 400 malformed, 405 not POST, 408 too slow,
    413 too large, 503 when `on_task` raised (the callback is forgotten by the
    replay guard, so the service's retry is accepted). Each answer but "ok" is
    also passed to `on_refused(status, message, task_id or None)`; the task id
    is the sender's text, so escape it before printing it.
    """
    guard = replay_guard if replay_guard is not None else (ReplayGuard() if key else None)
    return _Receiver(key, inbox, on_task, guard, tolerance, clock, max_body, read_timeout, on_refused)


@dataclass(frozen=True)
class _Receiver:
    """callback_app's ASGI app: read within the caps, verify, deliver, notify."""

    key: str | bytes | None
    inbox: CallbackInbox | None
    on_task: Callable[[Task], object] | None
    guard: ReplayGuard | None
    tolerance: float
    clock: Clock | None
    max_body: int
    read_timeout: float | None
    on_refused: Callable[[int, str, str | None], object] | None

    async def __call__(self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        if scope.get("type") == "lifespan":
            await _lifespan(receive, send)
            return
        if scope.get("type") != "http":
            return
        try:
            await self._accept(scope, receive)
        except _Refused as refused:
            if self.on_refused is not None:
                self.on_refused(refused.status, refused.msg, refused.task_id)
            await _respond(send, refused.status, refused.msg)
            return
        await _respond(send, 200, "ok")

    async def _accept(self, scope: dict[str, Any], receive: ASGIReceive) -> None:
        if scope.get("method") != "POST":
            raise _Refused(405, "POST only")
        raw_headers = list(scope.get("headers", []))
        _declared_length(raw_headers, self.max_body)
        doc = _parse(await _read_body(receive, self.max_body, self.read_timeout))
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw_headers}
        task = self._verify(headers, doc)
        await self._deliver(task, headers)
        if self.inbox is not None:
            self.inbox.notify(task.id)

    def _verify(self, headers: dict[str, str], doc: Any) -> Task:
        try:
            if self.key:
                return verify_callback(
                    headers, doc, self.key, tolerance=self.tolerance, replay_guard=self.guard, clock=self.clock
                )
            return Task.from_api(doc.get("data") if isinstance(doc, dict) else None)
        except ReplayedCallback as exc:
            raise _Refused(200, "duplicate ignored", exc.task_id) from None
        except InvalidCallback as exc:
            raise _Refused(401, exc.message, exc.task_id) from None
        except Exception as exc:  # a hostile body may break the parser in any way: it is still the sender's fault
            raise _Refused(400, f"not a task callback: {type(exc).__name__}") from None

    async def _deliver(self, task: Task, headers: dict[str, str]) -> None:
        if self.on_task is None:
            return
        try:
            result = self.on_task(task)
            if inspect.isawaitable(result):
                await result
        except Exception:
            if self.guard is not None and self.key:
                # Forgotten, so that the service's retry of this callback is accepted rather than called a replay.
                sig = header(headers, SIGNATURE_HEADER) or ""
                self.guard.forget((task.id, header(headers, TIMESTAMP_HEADER) or "", sig.strip()))
            raise _Refused(503, "callback not recorded; retry later", task.id) from None
