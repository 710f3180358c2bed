"""Per-request options and raw responses: what Stainless SDKs (openai-python, runwayml) give every call.

A method's `timeout=`, `extra_headers=`, `extra_query=`, `extra_body=` become a `RequestOptions` the engine
carries in its `Call` effects; the shell applies them to the request it sends (`apply`). `with_raw_response`
runs a method with a capture list in a context variable: the shell appends every API response it receives,
and the method's value comes back wrapped with the last response's status and headers.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

if TYPE_CHECKING:
    from .._engine.effects import Fetch, RequestOptions

__all__ = [
    "CAPTURE",
    "AsyncWithRawResponse",
    "HTTPView",
    "RawResponse",
    "RequestInfo",
    "WithRawResponse",
    "apply",
    "fetch_timeout",
    "options",
]

T = TypeVar("T")

#: The responses of the running `with_raw_response` call (None outside one): one lookup per call otherwise.
CAPTURE: contextvars.ContextVar[list[httpx.Response] | None] = contextvars.ContextVar("apikley_raw", default=None)

_HIDDEN = frozenset({"authorization", "proxy-authorization", "cookie"})


def as_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout | None:
    return timeout if timeout is None or isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


def fetch_timeout(effect: Fetch) -> dict[str, Any]:
    """A download GET's own timeout as stream() arguments ({} for the pool's)."""
    return {} if effect.timeout is None else {"timeout": as_timeout(effect.timeout)}


def options(
    timeout: float | httpx.Timeout | None,
    extra_headers: Mapping[str, str] | None,
    extra_query: Mapping[str, Any] | None,
    extra_body: Mapping[str, Any] | None = None,
) -> RequestOptions | None:
    """A method's per-request options, None when it was given none (the common call stays as it was)."""
    if timeout is None and not extra_headers and not extra_query and not extra_body:
        return None
    from .._engine.effects import RequestOptions

    return RequestOptions(as_timeout(timeout), extra_headers, extra_query, extra_body)


def apply(kwargs: dict[str, Any], opts: RequestOptions | None, default_timeout: httpx.Timeout | None) -> None:
    """Put a call's options (and a with_options copy's timeout) into httpx request() arguments."""
    timeout = opts.timeout if opts is not None and opts.timeout is not None else default_timeout
    if timeout is not None:
        kwargs["timeout"] = as_timeout(timeout)
    if opts is None:
        return
    if opts.headers:
        kwargs["headers"] = {**(kwargs.get("headers") or {}), **opts.headers}
    if opts.query:
        kwargs["params"] = {**(kwargs.get("params") or {}), **opts.query}
    if opts.json is not None:
        kwargs["json"] = dict(opts.json)


@dataclass(frozen=True)
class RequestInfo:
    """The request that got a raw response: method, URL and headers (credentials shown as '***')."""

    method: str
    url: str
    headers: Mapping[str, str]

    @classmethod
    def of(cls, request: httpx.Request) -> RequestInfo:
        headers = {k: ("***" if k.lower() in _HIDDEN else v) for k, v in request.headers.items()}
        return cls(request.method, str(request.url), headers)


class HTTPView:
    """What the raw and the streamed responses both show of their HTTP response."""

    http_response: httpx.Response

    @property
    def status_code(self) -> int:
        """The HTTP status of the response."""
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response's headers, as received."""
        return self.http_response.headers


class RawResponse(HTTPView, Generic[T]):
    """A method's answer with its HTTP response: `status_code`, `headers`, `http_request`, `retries_taken`,
    `content`/`text`/`json()`, and `parse()` for the value the method returns.

    The response is the last one the method received (a wait's last query); the value is parsed already, so
    an error status raises as the plain method does.
    """

    def __init__(self, value: T, responses: list[httpx.Response]) -> None:
        if not responses:
            raise RuntimeError("with_raw_response: the method sent no API request")
        self._value = value
        self.http_response = responses[-1]
        self.retries_taken = len(responses) - 1

    @property
    def http_request(self) -> RequestInfo:
        return RequestInfo.of(self.http_response.request)

    @property
    def content(self) -> bytes:
        return self.http_response.content

    @property
    def text(self) -> str:
        return self.http_response.text

    def json(self) -> Any:
        return self.http_response.json()

    def parse(self) -> T:
        """The value the plain method returns (a Task, a URL, credits)."""
        return self._value

    def __repr__(self) -> str:
        return f"<RawResponse [{self.status_code}] {self.http_response.request.method} {self.http_response.url}>"


class WithRawResponse:
    """`x.with_raw_response.method(...)`: x's method, returning a RawResponse of its value."""

    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Callable[..., RawResponse[Any]]:
        method = getattr(self._target, name)

        def raw(*args: Any, **kwargs: Any) -> RawResponse[Any]:
            sink: list[httpx.Response] = []
            token = CAPTURE.set(sink)
            try:
                value = method(*args, **kwargs)
            finally:
                CAPTURE.reset(token)
            return RawResponse(value, sink)

        return raw


class AsyncWithRawResponse:
    """`x.with_raw_response.method(...)` on AsyncKling: to await, giving a RawResponse of the value."""

    def __init__(self, target: object) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Callable[..., Awaitable[RawResponse[Any]]]:
        method = getattr(self._target, name)

        async def raw(*args: Any, **kwargs: Any) -> RawResponse[Any]:
            sink: list[httpx.Response] = []
            token = CAPTURE.set(sink)  # the awaited coroutine runs in this task's context: it sees the list
            try:
                value = await method(*args, **kwargs)
            finally:
                CAPTURE.reset(token)
            return RawResponse(value, sink)

        return raw
