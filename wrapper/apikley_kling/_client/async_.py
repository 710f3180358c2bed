"""AsyncKling: the engine's effects performed with await."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx

from .._engine.drive import Finished, advance
from ..models import Task
from .base import Base, OnDownload, StrPath
from .calls import answer
from .options import CAPTURE, AsyncWithRawResponse, options
from .options import fetch_timeout as _timeout
from .resources import AsyncFiles, AsyncTasks

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from apikley_kling_api.inputs import Generate

    from .._engine.effects import Call, Emit, Fetch, Op, Sleep, SleepOrWake
    from ..downloads import FetchResult, Sink
    from .streaming import AsyncWithStreamingResponse

__all__ = ["AsyncKling"]

T = TypeVar("T")


class AsyncKling(Base[httpx.AsyncBaseTransport, httpx.AsyncClient]):
    """The asyncio client; Kling's methods, to await. `async with AsyncKling() as kling: ...`.

    Takes the same arguments as Kling (transport: an httpx.AsyncBaseTransport).
    """

    _client_cls, _transport_cls = httpx.AsyncClient, httpx.AsyncHTTPTransport

    def _connect(self, transport: httpx.AsyncBaseTransport | None) -> None:
        super()._connect(transport)
        self._bind()

    def _bind(self) -> None:
        self.tasks, self.files = AsyncTasks(self, self._run), AsyncFiles(self, self._run)

    def _raw(self, target: object) -> AsyncWithRawResponse:
        return AsyncWithRawResponse(target)

    @property
    def with_raw_response(self) -> AsyncWithRawResponse:
        """`kling.with_raw_response.credits()`: the client's own methods, giving a RawResponse (status, headers,
        `.parse()`); `kling.tasks.with_raw_response` and `kling.files.with_raw_response` for theirs."""
        return AsyncWithRawResponse(self)

    @property
    def with_streaming_response(self) -> AsyncWithStreamingResponse:
        """`kling.with_streaming_response.download(task)`: the result file as an open response (see streaming)."""
        from .streaming import AsyncWithStreamingResponse

        return AsyncWithStreamingResponse(self)

    # -- performing the engine's effects --------------------------------------
    async def _run(self, op: Op[T]) -> T:
        value: Any = None
        error: BaseException | None = None
        while not isinstance(step := advance(op, value, error), Finished):
            try:
                value, error = await self._perform[type(step)](step), None
            except BaseException as exc:  # KeyboardInterrupt, cancellation too: the op cleans up
                value, error = None, exc
        return step.value

    async def _call(self, effect: Call) -> Any:
        module, api, http, kwargs = self._request(effect)
        response = await http.request(**kwargs)
        if (sink := CAPTURE.get()) is not None:  # inside with_raw_response
            sink.append(response)
        return answer(effect, module, api, response)

    async def _sleep(self, effect: Sleep) -> None:
        await self._clock.asleep(effect.seconds)

    async def _sleep_or_wake(self, effect: SleepOrWake) -> bool:
        import asyncio

        if effect.inbox.pending(effect.task_id):
            return True
        loop = asyncio.get_running_loop()
        event = asyncio.Event()

        def on_notify(tid: str) -> None:
            if tid == effect.task_id:
                with contextlib.suppress(RuntimeError):  # the loop may be closed by now
                    loop.call_soon_threadsafe(event.set)

        unsubscribe = effect.inbox.subscribe(on_notify)
        try:
            if effect.inbox.pending(effect.task_id):
                return True
            await _race(self._clock.asleep(effect.seconds), event.wait())
            return effect.inbox.pending(effect.task_id)
        finally:
            unsubscribe()

    async def _emit(self, effect: Emit) -> None:
        result = effect.callback(effect.event)
        if inspect.isawaitable(result):
            await result

    async def _files(self, work: Callable[[Any], Any], effect: Any) -> Any:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(work, effect)

    async def _fetch(self, effect: Fetch) -> FetchResult:
        import anyio.to_thread

        from ..downloads import Route, Sink

        route = Route(effect.url, allow_loopback=self._loopback_api)
        with Sink(effect) as sink:
            while True:
                await anyio.to_thread.run_sync(route.check)  # the resolver blocks
                async with self._dl_http.stream("GET", route.url, headers=sink.headers, **_timeout(effect)) as r:
                    if route.follow(r.status_code, r.headers):
                        continue
                    if sink.refused(r.status_code):
                        return sink.finish(r.status_code, r.headers, await _aexcerpt(r.aiter_bytes()))
                    if sink.begin(r.status_code, r.headers):
                        await _store(sink, r)
                    return sink.finish(r.status_code, r.headers, b"")

    # -- public ---------------------------------------------------------------
    async def credits(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
    ) -> float:
        """Remaining credits. timeout/extra_headers/extra_query: this request's own (see README)."""
        return await self._run(self._core.credits(options(timeout, extra_headers, extra_query)))

    async def download(
        self,
        task_or_url: Task | str,
        path: StrPath,
        *,
        on_progress: OnDownload | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Path:
        """Stream a task's video (or a result URL) to path (a file, or a directory: <task id>.mp4); see Kling.download."""
        op = self._core.files.download(task_or_url, path, on_progress=on_progress, timeout=timeout)
        return await self._run(op)

    if TYPE_CHECKING:  # Kling.generate's function, typed per model (generated from the spec)
        generate: Generate[Awaitable[Task]]
    else:
        generate = Base._generate

    async def aclose(self) -> None:
        """Close the connections (the API's, uploads', downloads')."""
        for c in (self._http, self._upload_http, self._dl_http):
            await c.aclose()
        self._close_journal()

    async def close(self) -> None:
        """Same as aclose()."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


#: Bytes gathered on the loop before one write in a worker thread: a thread hop per network chunk (a few KiB)
#: would cost more than the write it moves; 1 MiB keeps hops rare and the memory held small.
WRITE_BATCH = 1 << 20


async def _store(sink: Sink, response: httpx.Response) -> None:
    """Stream the body into the sink's file with every disk step (open, write, close) in a worker thread."""
    import anyio.to_thread

    await anyio.to_thread.run_sync(sink.open)
    batch = bytearray()
    try:
        async for chunk in response.aiter_bytes():
            batch += chunk
            sink.count(len(chunk))
            if len(batch) >= WRITE_BATCH:
                await anyio.to_thread.run_sync(sink.store, bytes(batch))
                batch.clear()
    finally:  # what was received is kept, for a resume after a cut
        if batch:
            await anyio.to_thread.run_sync(sink.store, bytes(batch))
        await anyio.to_thread.run_sync(sink.close)


async def _race(*aws: Any) -> None:
    """Run awaitables until the first finishes; cancel the rest."""
    import asyncio

    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t


async def _aexcerpt(chunks: AsyncIterator[bytes], limit: int = 4096) -> bytes:
    """The start of a refused download's body (what the error quotes); the rest is never read."""
    got = b""
    async for chunk in chunks:
        got += chunk
        if len(got) >= limit:
            break
    return got[:limit]
