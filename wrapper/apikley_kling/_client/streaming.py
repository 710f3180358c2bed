"""`kling.with_streaming_response.download(task_or_url)`: a result file as an open HTTP response.

For a caller that wants the headers, or the bytes somewhere other than a file. Each hop (the result URL, each
redirect) is checked as `download` checks it (downloads.Route) and no credential is sent; unlike `download`
there is no retry, no resume and no MP4 check: the caller reads what the server sends.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import KlingError, error_for_code
from ..models import Task
from .base import DOWNLOAD_HEADERS
from .options import HTTPView, as_timeout

if TYPE_CHECKING:
    from .async_ import AsyncKling
    from .sync import Kling

__all__ = ["AsyncStreamedResponse", "AsyncWithStreamingResponse", "StreamedResponse", "WithStreamingResponse"]


def _start(task_or_url: Task | str) -> tuple[str | None, str]:
    """(task id or None, the URL): a Task's first result URL, checked as download() checks it."""
    from ..catalog import check_url

    if not isinstance(task_or_url, Task):
        check_url(task_or_url, "url")
        return None, task_or_url
    if not task_or_url.result_urls:
        raise KlingError("task has no result URL to download", task_id=task_or_url.id)
    check_url(task_or_url.result_urls[0], "url")
    return task_or_url.id, task_or_url.result_urls[0]


def _refused(response: httpx.Response, task_id: str | None) -> KlingError:
    status = response.status_code
    return error_for_code(status)(f"download answered HTTP {status}", status=status, task_id=task_id)


def _request_args(timeout: float | httpx.Timeout | None, extra_headers: Mapping[str, str] | None) -> dict[str, Any]:
    args: dict[str, Any] = {"headers": {**DOWNLOAD_HEADERS, **(extra_headers or {})}}
    if timeout is not None:
        args["timeout"] = as_timeout(timeout)
    return args


class StreamedResponse(HTTPView):
    """An open download response: `status_code`, `headers`, `url`, and its body through `iter_bytes()`."""

    def __init__(self, response: httpx.Response) -> None:
        self.http_response = response

    @property
    def url(self) -> str:
        return str(self.http_response.url)

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        """The body, chunk by chunk, as it arrives."""
        return self.http_response.iter_bytes(chunk_size)


class AsyncStreamedResponse(StreamedResponse):
    """StreamedResponse on AsyncKling: `async for chunk in r.iter_bytes()`."""

    def iter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:  # type: ignore[override]
        """The body, chunk by chunk, as it arrives."""
        return self.http_response.aiter_bytes(chunk_size)


class WithStreamingResponse:
    """kling.with_streaming_response: methods whose answer is read as a stream."""

    def __init__(self, kling: Kling) -> None:
        self._k = kling

    @contextlib.contextmanager
    def download(
        self,
        task_or_url: Task | str,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Iterator[StreamedResponse]:
        """`with kling.with_streaming_response.download(task) as r:` r.headers, `for chunk in r.iter_bytes()`.

        A 4xx/5xx answer raises its KlingError (nothing read); redirects are followed, each hop checked.
        """
        from ..downloads import Route

        task_id, url = _start(task_or_url)
        route = Route(url, allow_loopback=self._k._loopback_api)
        args = _request_args(timeout, extra_headers)
        while True:
            route.check()
            with self._k._dl_http.stream("GET", route.url, **args) as r:
                if route.follow(r.status_code, r.headers):
                    continue
                if r.status_code >= 400:
                    raise _refused(r, task_id)
                yield StreamedResponse(r)
                return


class AsyncWithStreamingResponse:
    """akling.with_streaming_response: `async with` these."""

    def __init__(self, kling: AsyncKling) -> None:
        self._k = kling

    @contextlib.asynccontextmanager
    async def download(
        self,
        task_or_url: Task | str,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[AsyncStreamedResponse]:
        """`async with akling.with_streaming_response.download(task) as r:` `async for c in r.iter_bytes()`."""
        import anyio.to_thread

        from ..downloads import Route

        task_id, url = _start(task_or_url)
        route = Route(url, allow_loopback=self._k._loopback_api)
        args = _request_args(timeout, extra_headers)
        while True:
            await anyio.to_thread.run_sync(route.check)  # the resolver blocks
            async with self._k._dl_http.stream("GET", route.url, **args) as r:
                if route.follow(r.status_code, r.headers):
                    continue
                if r.status_code >= 400:
                    raise _refused(r, task_id)
                yield AsyncStreamedResponse(r)
                return
