"""The checker's own requests: paced, a 429 waited out, every answer judged against the spec on arrival.

Besides the schema of each answer, two checks apply to every answer here as
they do inside schemathesis: a success (code 200) carries `data`, and the
first operation that answers success with our key is asked again with a
wrong one, which it must refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from ..clock import Clock
from . import _openapi
from ._answers import CHECK as ANSWER_CHECK
from ._answers import body_code, check_answer, shown
from ._bounds import (
    BOUND_CHECK,
    DEFAULT_MAX_BYTES,
    RETRY_BUDGET,
    NoAnswer,
    Unreachable,
    exchange,
    host_of,
    retry_after,
)
from ._findings import Finding, Tally

WRONG_KEY = "sk-contract-check-wrong-key"
AUTH_REJECTIONS = (401, 403)
AUTH_CHECK = "auth_is_enforced"
DATA_CHECK = "success_carries_data"
RATE_LIMITED = 429
_RETRIES = 3
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def seconds_between(rate_limit: str | None) -> float:
    """The pause between two requests a rate like "1/s", "30/m" or "100/h" asks for (0: none)."""
    if not rate_limit:
        return 0.0
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*/\s*([smh])\s*", rate_limit)
    if not found or float(found.group(1)) <= 0:
        raise ValueError(f'rate limit {rate_limit!r}: expected N/s, N/m or N/h, e.g. "1/s"')
    return _UNITS[found.group(2)] / float(found.group(1))


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any

    @property
    def code(self) -> int | None:
        """The status a client must act on: the body code, else a non-200 HTTP status."""
        found = body_code(self.body)
        return found if found is not None else (self.status if self.status != 200 else None)

    @property
    def data(self) -> Any:
        return self.body.get("data") if isinstance(self.body, dict) else None

    def said(self) -> str:
        """The answer in a few words, for a finding's "seen"."""
        if not isinstance(self.body, dict):
            return f"HTTP {self.status}, not JSON"
        message = self.body.get("msg") or self.body.get("message") or ""
        code = self.code
        head = f"code {code}" if code is not None else f"HTTP {self.status} without a code"
        return f"{head} {str(message)[:120]!r}" if message else head


@dataclass(frozen=True)
class Received:
    """An answer read within the checker's limits (a body cut at a limit is never judged: see `Service.call`)."""

    status_code: int
    headers: httpx.Headers
    content: bytes


class Service:
    """One base URL and key; `transport` lets tests answer in-process.

    Each exchange is bounded (`_bounds.exchange`): `timeout` seconds of wall time in all and `max_bytes` of body;
    a 429 is waited out at most `RETRY_AFTER_MAX` seconds at a time and `retry_budget` seconds in all.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        tally: Tally,
        *,
        clock: Clock,
        timeout: float = 10.0,
        rate_limit: str | None = None,
        transport: httpx.BaseTransport | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        retry_budget: float = RETRY_BUDGET,
    ) -> None:
        self.tally = tally
        self.clock = clock
        self._key = api_key
        self._interval = seconds_between(rate_limit)
        self._last: float | None = None
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._retry_left = retry_budget
        self._host = host_of(base_url)
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pace(self) -> None:
        now = self.clock.monotonic()
        if self._last is not None and self._interval:
            self.clock.sleep(self._last + self._interval - now)
        self._last = self.clock.monotonic()

    def _exchange(self, operation: _openapi.Operation, key: str, where: str, **kwargs: Any) -> Received | None:
        """One request within the limits; None when no whole answer came (an error or a finding says why)."""
        request = self._http.build_request(
            operation.method, operation.path, headers={"Authorization": f"Bearer {key}"}, **kwargs
        )
        try:
            got = exchange(
                lambda: self._http.send(request, stream=True),
                lambda response: response.iter_bytes(),
                lambda response: response.close(),
                seconds=self._timeout,
                max_bytes=self._max_bytes,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as exc:
            raise Unreachable(self._host, exc) from exc
        except (httpx.HTTPError, NoAnswer) as exc:
            self.tally.error(f"{operation.label}: {type(exc).__name__}: {exc}")
            return None
        self.tally.apply(BOUND_CHECK)
        if got.breach is not None:
            self.tally.add(got.breach.finding(operation.label, where))
            return None
        return Received(got.response.status_code, got.response.headers, got.content)

    def _send(self, operation: _openapi.Operation, key: str, where: str = "", **kwargs: Any) -> Received | None:
        for attempt in range(_RETRIES + 1):
            self._pace()
            response = self._exchange(operation, key, where, **kwargs)
            if response is None:
                return None
            limited = response.status_code == RATE_LIMITED or _peek_code(response.content) == RATE_LIMITED
            if not limited or attempt == _RETRIES or self._retry_left <= 0:
                return response
            fallback = max(self._interval, 1.0) * 2**attempt
            wait = retry_after(response.headers.get("Retry-After"), now=self.clock.time(), fallback=fallback)
            wait = min(wait, self._retry_left)
            self._retry_left -= wait
            self.clock.sleep(wait)
        return None

    def call(
        self, operation_id: str, *, json: Any = None, params: dict[str, str] | None = None, where: str = ""
    ) -> Answer | None:
        """Send one request with our key; None when no answer came (the error is in the tally)."""
        operation = _openapi.operations()[operation_id]
        kwargs: dict[str, Any] = {"params": params} if json is None else {"params": params, "json": json}
        response = self._send(operation, self._key, where, **kwargs)
        if response is None:
            return None
        body = check_answer(self.tally, operation_id, response.status_code, response.content, where=where)
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if body is not None and not (media == "application/json" or media.endswith("+json")):
            self.tally.add(Finding(ANSWER_CHECK, operation.label, "", "Content-Type application/json", media or "none"))
        answer = Answer(response.status_code, body)
        if answer.code == 200 and isinstance(body, dict):
            judge_success_data(self.tally, operation.label, body, where)
            if operation.label not in self.tally.probed:
                self.tally.probed.add(operation.label)
                self._auth(operation, kwargs)
        return answer

    def _auth(self, operation: _openapi.Operation, kwargs: dict[str, Any]) -> None:
        response = self._send(operation, WRONG_KEY, **kwargs)
        if response is None:
            return
        judge_wrong_key(self.tally, operation.label, response.status_code, response.content)


def judge_success_data(tally: Tally, label: str, body: Any, where: str = "") -> None:
    """An answer that says success (code 200) carries `data` (uploads say success their own way)."""
    if not isinstance(body, dict) or body_code(body) != 200 or "success" in body:
        return
    tally.apply(DATA_CHECK)
    if body.get("data") is None:
        seen = "missing" if "data" not in body else "null"
        tally.add(Finding(DATA_CHECK, label, "data", "present on success (code 200)", seen, where=where))


def judge_wrong_key(tally: Tally, label: str, status: int, content: bytes) -> None:
    """A wrong key must be refused (401/403, as HTTP status or body code)."""
    import json

    try:
        body = json.loads(content)
    except ValueError:
        body = None
    code = body_code(body)
    if status in AUTH_REJECTIONS or code in AUTH_REJECTIONS:
        tally.apply(AUTH_CHECK)
        return
    looks_served = code == 200 or (code is None and status == 200 and isinstance(body, dict) and body.get("data"))
    if not looks_served:
        return  # an answer that cannot be read as success or refusal: the answer check has said why
    tally.apply(AUTH_CHECK)
    seen = f"served: code {code}" if code is not None else f"served: HTTP {status}, data {shown(body.get('data'))}"
    tally.add(Finding(AUTH_CHECK, label, "code", "401 for a wrong key", seen))


def _peek_code(content: bytes) -> int | None:
    import json

    try:
        return body_code(json.loads(content))
    except ValueError:
        return None
