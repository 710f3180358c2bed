"""Kling: the engine's effects performed blocking."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx

from .._engine.drive import Finished, advance
from ..clock import SystemClock
from ..models import Task
from .base import Base, OnDownload, StrPath
from .calls import answer
from .options import CAPTURE, WithRawResponse, options
from .options import fetch_timeout as _timeout
from .resources import Files, Tasks

if TYPE_CHECKING:
    from apikley_kling_api.inputs import Generate

    from .._engine.effects import Call, Emit, Fetch, Op, Sleep, SleepOrWake
    from ..downloads import FetchResult
    from .streaming import WithStreamingResponse

__all__ = ["Kling"]

T = TypeVar("T")


class Kling(Base[httpx.BaseTransport, httpx.Client]):
    """The blocking client. `with Kling() as kling: ...` closes its connections on exit.

    api_key and base_url default to APIKLEY_API_KEY and APIKLEY_BASE_URL. rate_limit caps
    every API call of this client together (requests per second, evenly spaced; a 429
    pauses them all), or is a RequestBudget to draw from (one shared by several clients).
    retry replaces the default RetryPolicy (max_retries attempts, jittered backoff); the
    rules of what is retried stay the engine's. clock and transport are for tests: a
    VirtualClock, a simulator. prices, max_spend and price_book: see the README's Money section
    (price_book: a SQLite file in which what this account really pays is learned, first over the card).
    journal (a path: a SQLite file) lets `generate(..., key=)` and `tasks.create(..., key=)` survive a
    crash or a re-run without paying twice.
    """

    _client_cls, _transport_cls = httpx.Client, httpx.HTTPTransport

    def _connect(self, transport: httpx.BaseTransport | None) -> None:
        super()._connect(transport)
        self._bind()

    def _bind(self) -> None:
        self.tasks, self.files = Tasks(self, self._run), Files(self, self._run)

    def _raw(self, target: object) -> WithRawResponse:
        return WithRawResponse(target)

    @property
    def with_raw_response(self) -> WithRawResponse:
        """`kling.with_raw_response.credits()`: the client's own methods, giving a RawResponse (status, headers,
        `.parse()`); `kling.tasks.with_raw_response` and `kling.files.with_raw_response` for theirs."""
        return WithRawResponse(self)

    @property
    def with_streaming_response(self) -> WithStreamingResponse:
        """`kling.with_streaming_response.download(task)`: the result file as an open response (see streaming)."""
        from .streaming import WithStreamingResponse

        return WithStreamingResponse(self)

    # -- performing the engine's effects --------------------------------------
    def _run(self, op: Op[T]) -> T:
        value: Any = None
        error: BaseException | None = None
        while not isinstance(step := advance(op, value, error), Finished):
            try:
                value, error = self._perform[type(step)](step), None
            except BaseException as exc:  # KeyboardInterrupt, cancellation too: the op cleans up
                value, error = None, exc
        return step.value

    def _call(self, effect: Call) -> Any:
        module, api, http, kwargs = self._request(effect)
        response = http.request(**kwargs)
        if (sink := CAPTURE.get()) is not None:  # inside with_raw_response
            sink.append(response)
        return answer(effect, module, api, response)

    def _sleep(self, effect: Sleep) -> None:
        self._clock.sleep(effect.seconds)

    def _sleep_or_wake(self, effect: SleepOrWake) -> bool:
        if effect.inbox.pending(effect.task_id):
            return True
        if isinstance(self._clock, SystemClock):
            return effect.inbox.wait(effect.task_id, effect.seconds)
        self._clock.sleep(effect.seconds)
        return effect.inbox.pending(effect.task_id)

    def _emit(self, effect: Emit) -> None:
        effect.callback(effect.event)

    def _files(self, work: Callable[[Any], Any], effect: Any) -> Any:
        return work(effect)

    def _fetch(self, effect: Fetch) -> FetchResult:
        from ..downloads import Route, Sink

        route = Route(effect.url, allow_loopback=self._loopback_api)
        with Sink(effect) as sink:
            while True:
                route.check()
                with self._dl_http.stream("GET", route.url, headers=sink.headers, **_timeout(effect)) as r:
                    if route.follow(r.status_code, r.headers):
                        continue
                    if sink.refused(r.status_code):
                        return sink.finish(r.status_code, r.headers, _excerpt(r.iter_bytes()))
                    if sink.begin(r.status_code, r.headers):
                        sink.open()
                        for chunk in r.iter_bytes():
                            sink.write(chunk)
                    return sink.finish(r.status_code, r.headers, b"")

    # -- public ---------------------------------------------------------------
    def credits(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
    ) -> float:
        """Remaining credits. timeout/extra_headers/extra_query: this request's own (see README)."""
        return self._run(self._core.credits(options(timeout, extra_headers, extra_query)))

    def download(
        self,
        task_or_url: Task | str,
        path: StrPath,
        *,
        on_progress: OnDownload | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Path:
        """Stream a task's video (or a result URL) to path (a file, or a directory: <task id>.mp4).

        Resumes with Range after a cut, asks for a fresh URL once if the result URL has expired, and
        the file appears at its name only when whole. timeout: each GET's (seconds or an httpx.Timeout).
        """
        return self._run(self._core.files.download(task_or_url, path, on_progress=on_progress, timeout=timeout))

    if TYPE_CHECKING:  # the same function, typed per model (generated from the spec)
        generate: Generate[Task]
    else:
        generate = Base._generate

    def close(self) -> None:
        """Close the connections (the API's, uploads', downloads')."""
        for c in (self._http, self._upload_http, self._dl_http):
            c.close()
        self._close_journal()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _excerpt(chunks: Iterator[bytes], limit: int = 4096) -> bytes:
    """The start of a refused download's body (what the error quotes); the rest is never read."""
    got = b""
    for chunk in chunks:
        got += chunk
        if len(got) >= limit:
            break
    return got[:limit]
