"""Checking the service's signed callbacks.

Signature = base64(HMAC-SHA256(key = webhook HMAC key, message = taskId + "." + timestamp)),
sent as X-Webhook-Signature with X-Webhook-Timestamp (Unix seconds). The
provider signs only taskId and timestamp, not the body: treat the parsed Task
as a hint and confirm it with one query before trusting its URLs (a
CallbackInbox-driven wait does exactly that).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import json
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .clock import Clock, SystemClock
from .errors import InvalidCallback, ProtocolError, ReplayedCallback
from .models import Task
from .polling import CallbackInbox

__all__ = ["ReplayGuard", "callback_app", "sign_callback", "verify_callback"]

TIMESTAMP_HEADER = "X-Webhook-Timestamp"
SIGNATURE_HEADER = "X-Webhook-Signature"


def sign_callback(task_id: str, timestamp: int | str, key: str | bytes) -> str:
    """The signature the service sends for (task_id, timestamp)."""
    key_bytes = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key_bytes, f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class ReplayGuard:
    """Remembers (taskId, timestamp, signature) seen within the tolerance window; thread-safe, bounded."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._seen: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def check_and_remember(self, key: tuple[str, str, str], *, expires_at: float, now: float) -> bool:
        """True the first time key is seen (and remembers it until expires_at), False on a replay."""
        with self._lock:
            for old, exp in list(self._seen.items()):
                if exp > now:
                    break
                del self._seen[old]
            if key in self._seen and self._seen[key] > now:
                return False
            self._seen[key] = expires_at
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
            return True

    def __len__(self) -> int:
        return len(self._seen)


def _header(headers: Mapping[str, str] | Any, name: str) -> str | None:
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(name)
    if value is None:
        lower = name.lower()
        for k, v in headers.items():
            if isinstance(k, str) and k.lower() == lower:
                value = v
                break
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value if isinstance(value, str) else None


def verify_callback(
    headers: Mapping[str, str] | Any,
    body: bytes | str | Mapping[str, Any],
    key: str | bytes,
    *,
    tolerance: float = 300,
    replay_guard: ReplayGuard | None = None,
    clock: Clock | None = None,
) -> Task:
    """Check a callback's signature, freshness and novelty; return the Task it describes.

    Raises InvalidCallback (bad or missing signature, stale timestamp, body
    without a task id), ReplayedCallback (seen before, with a replay_guard),
    ProtocolError (a body that is not a task record).
    """
    if not key:
        raise InvalidCallback("no webhook key configured: cannot verify callbacks")
    if isinstance(body, Mapping):
        doc: Any = body
    else:
        try:
            doc = json.loads(body)
        except ValueError:
            raise InvalidCallback("callback body is not JSON") from None
    data = doc.get("data") if isinstance(doc, Mapping) else None
    if not isinstance(data, Mapping):
        raise InvalidCallback("callback body has no data object")
    task_id = data.get("taskId") or data.get("task_id")
    if not isinstance(task_id, str) or not task_id:
        raise InvalidCallback("callback has no data.taskId or data.task_id")
    timestamp = _header(headers, TIMESTAMP_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    if not timestamp or not signature:
        raise InvalidCallback("callback is not signed", task_id=task_id)
    expected = sign_callback(task_id, timestamp, key)
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8", "replace")):
        raise InvalidCallback("callback signature does not match", task_id=task_id)
    try:
        ts = float(timestamp)
    except ValueError:
        raise InvalidCallback("callback timestamp is not a number", task_id=task_id) from None
    now = (clock or SystemClock()).time()
    if abs(now - ts) > tolerance:
        raise InvalidCallback(
            f"callback timestamp is {now - ts:.0f}s away from now (tolerance {tolerance}s)", task_id=task_id
        )
    if replay_guard is not None and not replay_guard.check_and_remember(
        (task_id, timestamp, signature.strip()), expires_at=ts + tolerance, now=now
    ):
        raise ReplayedCallback("callback was already received", task_id=task_id)
    return Task.from_api(data, task_id=task_id)


ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[dict[str, Any], ASGIReceive, ASGISend], Awaitable[None]]


def callback_app(
    key: str | bytes | None,
    *,
    inbox: CallbackInbox | None = None,
    on_task: Callable[[Task], object] | None = None,
    replay_guard: ReplayGuard | None = None,
    tolerance: float = 300,
    clock: Clock | None = None,
    max_body: int = 1 << 20,
) -> ASGIApp:
    """A tiny ASGI app that receives the service's callbacks (no web framework needed).

    A verified callback notifies `inbox` (so a waiting Kling/AsyncKling ends its
    wait with one confirming query) and is passed to `on_task`. key=None accepts
    unsigned callbacks (for accounts without webhook signing): the confirming
    query is then the only check, so never trust such a Task's URLs unconfirmed.
    Answers: 200 accepted (also for a replay, so the service stops resending),
    401 bad signature or stale, 400 malformed, 405 not POST, 413 too large.
    """
    guard = replay_guard if replay_guard is not None else (ReplayGuard() if key else None)

    async def respond(send: ASGISend, status: int, msg: str) -> None:
        payload = json.dumps({"code": status, "msg": msg}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def app(scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        if scope.get("type") == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope.get("type") != "http":
            return
        if scope.get("method") != "POST":
            await respond(send, 405, "POST only")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_body:
                await respond(send, 413, "body too large")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            if key:
                task = verify_callback(headers, body, key, tolerance=tolerance, replay_guard=guard, clock=clock)
            else:
                doc = json.loads(body)
                task = Task.from_api(doc.get("data") if isinstance(doc, dict) else None)
        except ReplayedCallback:
            await respond(send, 200, "duplicate ignored")
            return
        except InvalidCallback as exc:
            await respond(send, 401, exc.message)
            return
        except (ProtocolError, ValueError) as exc:
            await respond(send, 400, f"not a task callback: {type(exc).__name__}")
            return
        if inbox is not None:
            inbox.notify(task.id)
        if on_task is not None:
            result = on_task(task)
            if inspect.isawaitable(result):
                await result
        await respond(send, 200, "ok")

    return app
