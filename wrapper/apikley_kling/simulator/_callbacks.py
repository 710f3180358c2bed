"""Callbacks: the final record POSTed to callBackUrl, optionally signed, in several bad manners.

Delivery goes through a `sender` (any callable taking a `Delivery`), so tests
can capture callbacks without a socket. The default sender posts with httpx
but only to loopback addresses: the simulator never makes outbound requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from apikley_kling._net import is_loopback_url

CallbackMode = Literal[
    "normal",  # one delivery when the task ends
    "twice",  # the same delivery twice
    "late",  # one delivery, `delay` seconds after the task ended
    "out_of_order",  # deliveries due together are sent newest first, each held up to `delay` s at random
    "never",  # no delivery at all
    "forged",  # signed with a wrong key (only meaningful when signing is on)
    "task_id",  # the record names the id `task_id` instead of `taskId`
]
CALLBACK_MODES: tuple[str, ...] = CallbackMode.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Delivery:
    """A callback the simulator sends (or would send) for a task."""

    task_id: str
    url: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class DeliveryResult:
    """What became of a callback: the receiver's status, or why it was not sent."""

    delivery: Delivery
    status: int | None  # None: not sent (refused or the receiver was unreachable)
    error: str | None = None


Sender = Callable[[Delivery], int | None]


def sign(task_id: str, timestamp: int | str, key: str | bytes) -> str:
    """base64(HMAC-SHA256(key, taskId + "." + timestamp)), as the provider documents.

    The arguments in `apikley_kling.sign_callback`'s order. The old order, `sign(key, task_id, timestamp)`,
    still works for one minor version with a DeprecationWarning (told apart by its int timestamp last).
    """
    if isinstance(key, int) and not isinstance(timestamp, int):
        warnings.warn(
            "sign(key, task_id, timestamp) is deprecated; use sign(task_id, timestamp, key), "
            "the order of apikley_kling.sign_callback",
            DeprecationWarning,
            stacklevel=2,
        )
        task_id, timestamp, key = str(timestamp), key, task_id
    raw = key.encode() if isinstance(key, str) else key
    digest = hmac.new(raw, f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class LoopbackRefused(Exception):
    pass


@dataclass
class HttpxSender:
    """Posts callbacks with httpx, to loopback receivers only."""

    timeout: float = 5.0
    _client: Any = field(default=None, repr=False)

    def __call__(self, delivery: Delivery) -> int | None:
        if not is_loopback_url(delivery.url):
            raise LoopbackRefused(f"callback URL {delivery.url!r} is not a loopback address")
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, trust_env=False)
        response = self._client.post(delivery.url, content=delivery.body, headers=delivery.headers)
        return int(response.status_code)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def build(
    *,
    task_id: str,
    url: str,
    record: dict[str, Any],
    mode: str,
    webhook_key: str | None,
    now: float,
) -> Delivery:
    """The delivery for a finished task (the query answer shape: {code, msg, data})."""
    data = dict(record)
    if mode == "task_id":
        data["task_id"] = data.pop("taskId")
    failed = data.get("state") == "fail"
    code = 501 if failed else 200
    body = {"code": code, "msg": (data.get("failMsg") or "generation failed") if failed else "success", "data": data}
    headers = {"Content-Type": "application/json", "User-Agent": "apikley-kling-simulator"}
    if webhook_key is not None:
        timestamp = int(now)
        key = webhook_key if mode != "forged" else webhook_key + "-forged"
        headers["X-Webhook-Timestamp"] = str(timestamp)
        headers["X-Webhook-Signature"] = sign(task_id, timestamp, key)
    return Delivery(task_id, url, headers, json.dumps(body, separators=(",", ":")).encode())
