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
import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from .clock import Clock, SystemClock
from .errors import InvalidCallback, ReplayedCallback
from .models import Task
from .polling import CallbackInbox

if TYPE_CHECKING:
    import sqlite3

__all__ = ["ReplayGuard", "SqliteReplayGuard", "callback_app", "sign_callback", "verify_callback"]

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

    def forget(self, key: tuple[str, str, str]) -> None:
        """Drop key, so that the service's retry of a callback we failed to record is accepted."""
        with self._lock:
            self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)


class SqliteReplayGuard(ReplayGuard):
    """A ReplayGuard kept in a SQLite file, so that a restarted receiver still refuses replays.

    Only entries inside the tolerance window are kept: older ones are refused by the
    timestamp check anyway, so each check deletes them and the file stays small.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import sqlite3  # here: importing the SDK loads neither sqlite3 nor asyncio

        super().__init__()
        # One connection shared under the lock: a receiver's threads take turns, as with the memory guard.
        self._db: sqlite3.Connection = sqlite3.connect(os.fspath(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS seen (task_id TEXT, ts TEXT, sig TEXT, expires_at REAL,"
            " PRIMARY KEY (task_id, ts, sig))"
        )

    def check_and_remember(self, key: tuple[str, str, str], *, expires_at: float, now: float) -> bool:
        with self._lock:
            self._db.execute("DELETE FROM seen WHERE expires_at <= ?", (now,))
            cur = self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?, ?, ?)", (*key, expires_at))
            return cur.rowcount == 1

    def forget(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._db.execute("DELETE FROM seen WHERE task_id = ? AND ts = ? AND sig = ?", key)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM seen").fetchone()[0])


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
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
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

    def verify(headers: dict[str, str], doc: Any) -> Task:
        try:
            if key:
                return verify_callback(headers, doc, key, tolerance=tolerance, replay_guard=guard, clock=clock)
            return Task.from_api(doc.get("data") if isinstance(doc, dict) else None)
        except ReplayedCallback as exc:
            raise _Refused(200, "duplicate ignored", exc.task_id) from None
        except InvalidCallback as exc:
            raise _Refused(401, exc.message, exc.task_id) from None
        except Exception as exc:  # a hostile body may break the parser in any way: it is still the sender's fault
            raise _Refused(400, f"not a task callback: {type(exc).__name__}") from None

    async def deliver(task: Task, headers: dict[str, str]) -> None:
        if on_task is None:
            return
        try:
            result = on_task(task)
            if inspect.isawaitable(result):
                await result
        except Exception:
            if guard is not None and key:
                sig = _header(headers, SIGNATURE_HEADER) or ""
                guard.forget((task.id, _header(headers, TIMESTAMP_HEADER) or "", sig.strip()))
            raise _Refused(503, "callback not recorded; retry later", task.id) from None

    async def app(scope: dict[str, Any], receive: ASGIReceive, send: ASGISend) -> None:
        if scope.get("type") == "lifespan":
            await _lifespan(receive, send)
            return
        if scope.get("type") != "http":
            return
        try:
            if scope.get("method") != "POST":
                raise _Refused(405, "POST only")
            raw_headers = list(scope.get("headers", []))
            _declared_length(raw_headers, max_body)
            doc = _parse(await _read_body(receive, max_body, read_timeout))
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw_headers}
            task = verify(headers, doc)
            await deliver(task, headers)
            if inbox is not None:
                inbox.notify(task.id)
        except _Refused as refused:
            if on_refused is not None:
                on_refused(refused.status, refused.msg, refused.task_id)
            await _respond(send, refused.status, refused.msg)
            return
        await _respond(send, 200, "ok")

    return app
