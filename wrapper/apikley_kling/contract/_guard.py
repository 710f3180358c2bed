"""The checker's limits on the requests schemathesis sends.

Schemathesis sends through `requests` sessions it makes itself, in many places
(a session per worker thread, a fresh one for a check's extra request, one for
its probes), and no hook of its own hands over the session or the body read.
Every one of them sends through `requests.adapters.HTTPAdapter.send`, so while
`bounded_requests` is active that method runs each exchange under the checker's
`_bounds.exchange`: one wall deadline over headers and body, and a cap on the
body, which is read there (in chunks) and stored as the response's content, so
that nothing later reads the socket again. A body cut at a limit goes to
`on_answer` (the run makes it a finding); an answer that never started is the
`requests.ReadTimeout` schemathesis already handles. Schemathesis's own
`request-timeout` stays set too (it bounds each socket read).

The patch is undone when the last active `bounded_requests` exits; sessions
mounted with another adapter (schemathesis's in-process ASGI client) are not
touched.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ._bounds import BOUND_CHECK, Breach, NoAnswer, exchange
from ._findings import Tally

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    seconds: float
    max_bytes: int
    on_answer: Callable[[str, str, Breach | None], None]  # method, URL, the limit passed (None: whole)


_lock = threading.Lock()
_active: list[Limits] = []
_original: list[Any] = []


def _bounded_send(self: Any, request: Any, stream: bool = False, timeout: Any = None, **kwargs: Any) -> Any:
    import requests

    send = _original[0]
    limits = _active[-1] if _active else None
    if limits is None:  # a thread that looked the method up while the run was ending
        return send(self, request, stream=stream, timeout=timeout, **kwargs)
    try:
        got = exchange(
            lambda: send(self, request, stream=True, timeout=timeout, **kwargs),
            lambda response: response.iter_content(_CHUNK),
            lambda response: response.close(),
            seconds=limits.seconds,
            max_bytes=limits.max_bytes,
        )
    except NoAnswer as exc:
        raise requests.exceptions.ReadTimeout(str(exc), request=request) from exc
    response = got.response
    response._content = got.content
    response._content_consumed = True
    limits.on_answer(str(request.method), str(request.url), got.breach)
    return response


@contextlib.contextmanager
def bounded_requests(limits: Limits) -> Iterator[None]:
    """Every `requests` exchange in this process runs within `limits` until the block ends."""
    from requests.adapters import HTTPAdapter

    with _lock:
        if not _active:
            _original[:] = _original or [HTTPAdapter.send]
            HTTPAdapter.send = _bounded_send  # type: ignore[method-assign,assignment]
        _active.append(limits)
    try:
        yield
    finally:
        with _lock:
            _active.remove(limits)
            if not _active:
                HTTPAdapter.send = _original[0]  # type: ignore[method-assign]


def label_for(method: str, url: str) -> str:
    """The operation a request URL is for, labelled as the report labels it (its own method and path if none)."""
    from urllib.parse import urlsplit

    from . import _openapi

    path = urlsplit(url).path
    for operation in _openapi.operations().values():
        if operation.method.upper() == method.upper() and path.endswith(operation.path):
            return operation.label
    return f"{method.upper()} {path}"


def judged_into(tally: Tally) -> Callable[[str, str, Breach | None], None]:
    """An `on_answer` that counts each answer against the limits in `tally` and files each breach as a finding."""

    def on_answer(method: str, url: str, breach: Breach | None) -> None:
        tally.apply(BOUND_CHECK)
        if breach is not None:
            tally.add(breach.finding(label_for(method, url)))

    return on_answer
