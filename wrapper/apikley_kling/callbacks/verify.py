"""The callback's signature: how the service signs it, and the one check of it.

Signature = base64(HMAC-SHA256(key = webhook HMAC key, message = taskId + "." + timestamp)),
sent as X-Webhook-Signature with X-Webhook-Timestamp (Unix seconds). The
provider signs only taskId and timestamp, not the body: treat the parsed Task
as a hint and confirm it with one query before trusting its URLs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ..clock import Clock, SystemClock
from ..errors import InvalidCallback, ReplayedCallback
from ..models import Task
from .replay import ReplayGuard

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "header", "sign_callback", "verify_callback"]

TIMESTAMP_HEADER = "X-Webhook-Timestamp"
SIGNATURE_HEADER = "X-Webhook-Signature"
# Unix seconds as the service writes them: digits, maybe a fraction. float() alone would take
# "nan" (which compares as fresh against any clock), "inf", "1e999" and "1_765_000_000".
_TIMESTAMP = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,9})?")


def sign_callback(task_id: str, timestamp: int | str, key: str | bytes) -> str:
    """The signature the service sends for (task_id, timestamp)."""
    key_bytes = key.encode() if isinstance(key, str) else key
    digest = hmac.new(key_bytes, f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def header(headers: Mapping[str, str] | Any, name: str) -> str | None:
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


def _timestamp_seconds(timestamp: str, task_id: str) -> float:
    """The signed timestamp as finite Unix seconds; a signature does not make "nan" a time."""
    ts = float(timestamp) if _TIMESTAMP.fullmatch(timestamp.strip()) else math.nan
    if not math.isfinite(ts):
        raise InvalidCallback("callback timestamp is not a number of seconds", task_id=task_id)
    return ts


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
    timestamp = header(headers, TIMESTAMP_HEADER)
    signature = header(headers, SIGNATURE_HEADER)
    if not timestamp or not signature:
        raise InvalidCallback("callback is not signed", task_id=task_id)
    expected = sign_callback(task_id, timestamp, key)
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8", "replace")):
        raise InvalidCallback("callback signature does not match", task_id=task_id)
    ts = _timestamp_seconds(timestamp, task_id)
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
