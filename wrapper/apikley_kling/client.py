"""Kling and AsyncKling: thin shells that perform the core's effects (send, sleep, stream).

Everything that decides anything lives in _core.py and is shared; this file
only turns effects into httpx calls and clock sleeps, once blocking and once
with await.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import os
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx

from ._logging import protect
from ._version import __version__ as _version
from .clock import Clock, SystemClock
from .errors import KlingError
from .events import DownloadProgress, TaskUpdate, UploadProgress
from .models import Task
from .polling import DEFAULT_TIMEOUT, CallbackInbox, Pacer, RequestBudget

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from apikley_kling_api.inputs import CreateTask, Generate

    from ._core import Effect, Fetch, Op, Secret, SleepOrWake
    from ._validate import CreatePlan
    from .catalog import Models
    from .downloads import FetchResult
    from .retry import RetryPolicy
    from .watch import AsyncWatch, Watch

# The engine (_core: validation, decoding, retries, downloads) loads when the
# first client is built, like the generated client and the spec: `import
# apikley_kling` stays about as cheap as `import httpx`.

__all__ = ["AsyncKling", "Kling"]

T = TypeVar("T")
FileSource = str | os.PathLike[str] | bytes
ImageSource = FileSource | Sequence[FileSource]


# Result files live on other hosts: no Authorization header, ever. Videos gain nothing from
# compression in transit, and identity keeps Content-Length and Range in the file's own bytes.
_DOWNLOAD_HEADERS = {"User-Agent": f"apikley-kling/{_version}", "Accept-Encoding": "identity"}


P = TypeVar("P", httpx.HTTPTransport, httpx.AsyncHTTPTransport)


def _proxy_mounts(make: type[P]) -> dict[str, P | None]:
    """HTTP(S)_PROXY, ALL_PROXY and NO_PROXY from the environment, read as httpx reads them.

    httpx applies them only to a client that builds its own transport; ours share one pool, so the same
    mounts are built here, one transport per proxy, shared by the three clients. With a proxy, an https
    request is a CONNECT tunnel: the proxy sees the host, never the Authorization header.
    """
    from httpx._utils import get_environment_proxies  # how httpx itself reads the environment

    by_url: dict[str, P] = {}
    mounts: dict[str, P | None] = {}
    for pattern, url in get_environment_proxies().items():
        mounts[pattern] = None if url is None else by_url.setdefault(url, make(proxy=url))
    return mounts


@functools.cache
def _endpoint(name: str) -> Any:
    return importlib.import_module(f"apikley_kling_api.api.default.{name}")


class _Base:
    """Configuration shared by both shells; builds the core."""

    def __init__(
        self,
        key: Secret,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int | RetryPolicy,
        clock: Clock | None,
        allow_insecure_http: bool,
        rng: random.Random | None,
        inbox: CallbackInbox | None,
        rate_limit: float | RequestBudget | None,
    ) -> None:
        from ._core import DEFAULT_BASE_URL, ENV_BASE_URL, Core, Decoder, check_base_url, default_timeout
        from .retry import RetryPolicy

        protect(key.reveal())
        self._key: Secret = key
        self.base_url = check_base_url(
            base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL, allow_insecure_http=allow_insecure_http
        )
        if timeout is None:
            self._timeout = default_timeout()
        elif isinstance(timeout, httpx.Timeout):
            self._timeout = timeout
        else:
            self._timeout = httpx.Timeout(timeout)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self.callbacks: CallbackInbox = inbox if inbox is not None else CallbackInbox()
        the_rng = rng if rng is not None else random.Random()
        budget: RequestBudget | None
        if rate_limit is None or isinstance(rate_limit, RequestBudget):
            budget = rate_limit
        elif isinstance(rate_limit, (int, float)) and not isinstance(rate_limit, bool) and rate_limit > 0:
            budget = Pacer(rate_limit, self._clock.monotonic())
        else:
            raise ValueError(
                f"rate_limit: must be a positive number of requests per second or a RequestBudget, not {rate_limit!r}"
            )
        self._core = Core(
            clock=self._clock,
            retry=max_retries if isinstance(max_retries, RetryPolicy) else RetryPolicy(max_retries, rng=the_rng),
            decoder=Decoder(secrets=frozenset({key.reveal()}), now=self._clock.time),
            inbox=self.callbacks,
            rng=the_rng,
            pacer=budget,
        )

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key.reveal()}", "User-Agent": f"apikley-kling/{_version}"}

    def _api_clients(self, http: Any, upload_http: Any) -> tuple[Any, Any]:
        from apikley_kling_api import AuthenticatedClient  # type: ignore[import-untyped, unused-ignore]

        from ._core import RedactedToken

        token = RedactedToken(self._key.reveal())
        api = AuthenticatedClient(base_url=self.base_url, token=token, timeout=self._timeout)
        uploads = AuthenticatedClient(base_url=f"{self.base_url}/file-upload", token=token, timeout=self._timeout)
        if isinstance(http, httpx.AsyncClient):
            return api.set_async_httpx_client(http), uploads.set_async_httpx_client(upload_http)
        return api.set_httpx_client(http), uploads.set_httpx_client(upload_http)

    @property
    def models(self) -> Models:
        """Every model of the bundled spec: its input fields, types, limits, defaults and required fields."""
        from .catalog import models

        return models()

    @staticmethod
    def _plan(
        prompt: str | None,
        model: str | None,
        input: Mapping[str, Any] | None,
        image: ImageSource | None,
        callback_url: str | None,
        fields: dict[str, Any],
    ) -> CreatePlan:
        """A create checked against its model's schema (local files read and checked too): before any request."""
        from ._validate import plan_create

        if prompt is not None:
            fields = {"prompt": prompt, **fields}
        return plan_create(model=model, input=input, fields=fields, image=image, callback_url=callback_url)

    def _generate_op(
        self,
        plan: CreatePlan,
        output: str | os.PathLike[str],
        timeout: float,
        on_progress: Callable[[Any], object] | None,
        inbox: CallbackInbox | None,
        expect_callbacks: bool,
    ) -> Op[Task]:
        return self._core.generate(
            plan, output, timeout=timeout, on_progress=on_progress, inbox=inbox, expect_callbacks=expect_callbacks
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={getattr(self, 'base_url', None)!r})"


# ---------------------------------------------------------------------------
# sync


class Kling(_Base):
    """The blocking client. `with Kling() as kling: ...` closes its connections on exit.

    api_key and base_url default to APIKLEY_API_KEY and APIKLEY_BASE_URL. rate_limit caps
    every API call of this client together (requests per second, evenly spaced; a 429
    pauses them all), or is a RequestBudget to draw from (one shared by several clients). retry replaces the default RetryPolicy (max_retries attempts, jittered
    backoff); the rules of what is retried stay the engine's. clock and transport are for
    tests: a VirtualClock, a simulator.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 4,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
        allow_insecure_http: bool = False,
        rng: random.Random | None = None,
        inbox: CallbackInbox | None = None,
        rate_limit: float | RequestBudget | None = None,
    ) -> None:
        from ._core import resolve_key

        secret = resolve_key(api_key)
        api_key = None  # from here on no frame local holds the bare key (tracebacks with locals)
        policy = retry if retry is not None else max_retries
        super().__init__(secret, base_url, timeout, policy, clock, allow_insecure_http, rng, inbox, rate_limit)
        mounts = _proxy_mounts(httpx.HTTPTransport) if transport is None else {}
        if transport is None:  # one pool (and one TLS context) for the API, uploads and downloads
            transport = httpx.HTTPTransport()
        headers = self._headers()
        common: dict[str, Any] = {"timeout": self._timeout, "transport": transport, "mounts": mounts}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, **common)
        self._upload_http = httpx.Client(base_url=f"{self.base_url}/file-upload", headers=headers, **common)
        del headers
        self._dl_http = httpx.Client(follow_redirects=True, headers=_DOWNLOAD_HEADERS, **common)
        self._api, self._upload_api = self._api_clients(self._http, self._upload_http)
        self.tasks = Tasks(self)
        self.files = Files(self)

    # -- driving the core ----------------------------------------------------
    def _run(self, op: Op[T]) -> T:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = op.throw(error) if error is not None else op.send(value)
            except StopIteration as stop:
                result: T = stop.value
                return result
            value, error = None, None
            try:
                value = self._perform(effect)
            except Exception as exc:
                error = exc

    def _perform(self, effect: Effect) -> Any:
        from ._core import Call, Emit, Fetch, Sleep, SleepOrWake

        if isinstance(effect, Call):
            client = self._upload_api if effect.upload else self._api
            return _endpoint(effect.endpoint).sync_detailed(client=client, **effect.kwargs)
        if isinstance(effect, Sleep):
            self._clock.sleep(effect.seconds)
            return None
        if isinstance(effect, SleepOrWake):
            if effect.inbox.pending(effect.task_id):
                return True
            if isinstance(self._clock, SystemClock):
                return effect.inbox.wait(effect.task_id, effect.seconds)
            self._clock.sleep(effect.seconds)
            return effect.inbox.pending(effect.task_id)
        if isinstance(effect, Fetch):
            return self._fetch(effect)
        if isinstance(effect, Emit):
            effect.callback(effect.event)
            return None
        raise AssertionError(f"unknown effect {effect!r}")

    def _fetch(self, eff: Fetch) -> FetchResult:
        from .downloads import FetchResult, fetch_plan

        headers = {"Range": f"bytes={eff.offset}-"} if eff.offset else {}
        with self._dl_http.stream("GET", eff.url, headers=headers) as r:
            if r.status_code not in (200, 206):
                r.read()
                return FetchResult(
                    r.status_code,
                    eff.offset,
                    None,
                    r.content[:200].decode("utf-8", "replace"),
                    r.headers.get("retry-after"),
                )
            plan = fetch_plan(r.status_code, eff.offset, dict(r.headers))
            if plan is None:
                return FetchResult(416, eff.offset, None)
            start, total = plan
            written = start
            with open(eff.path, "ab" if start else "wb") as f:
                for chunk in r.iter_bytes():
                    f.write(chunk)
                    written += len(chunk)
                    if eff.on_progress is not None:
                        eff.on_progress(DownloadProgress(received=written, total=total))
            return FetchResult(r.status_code, written, total)

    # -- public --------------------------------------------------------------
    def credits(self) -> float:
        """Remaining credits."""
        return self._run(self._core.credits())

    def download(
        self,
        task_or_url: Task | str,
        path: str | os.PathLike[str],
        *,
        on_progress: Callable[[DownloadProgress], object] | None = None,
    ) -> Path:
        """Stream a task's video (or a result URL) to path (a file, or a directory: <task id>.mp4)."""
        return self._run(self._core.download(task_or_url, path, on_progress=on_progress))

    def _generate(
        self,
        prompt: str | None = None,
        /,
        *,
        output: str | os.PathLike[str],
        model: str | None = None,
        input: Mapping[str, Any] | None = None,
        image: ImageSource | None = None,
        callback_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        on_progress: Callable[[Any], object] | None = None,
        inbox: CallbackInbox | None = None,
        expect_callbacks: bool = False,
        **fields: Any,
    ) -> Task:
        """Upload local files + create + wait + download, for any model; on_progress gets Upload/Task/Download events.

        The input is checked (fields, types, limits, local files) before anything is sent; see `tasks.create`.
        """
        plan = self._plan(prompt, model, input, image, callback_url, fields)
        return self._run(self._generate_op(plan, output, timeout, on_progress, inbox, expect_callbacks))

    if TYPE_CHECKING:  # the same function, typed per model (generated from the spec)
        generate: Generate[Task]
    else:
        generate = _generate

    def close(self) -> None:
        for c in (self._http, self._upload_http, self._dl_http):
            c.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Tasks:
    def __init__(self, kling: Kling) -> None:
        self._k = kling

    def _create(
        self,
        prompt: str | None = None,
        /,
        *,
        model: str | None = None,
        input: Mapping[str, Any] | None = None,
        image: ImageSource | None = None,
        callback_url: str | None = None,
        on_progress: Callable[[UploadProgress], object] | None = None,
        **fields: Any,
    ) -> Task:
        """Create a task with `model` (default: the spec's default model); local files are uploaded first.

        Input fields are the model's own, as keywords or as `input={...}` (see `kling.models`); `image=` fills
        the model's first image field. Everything is checked against the model's schema before anything is
        sent (ValidationError names the model and the field); only the fields given are sent. The returned
        Task is built from the create answer (state `waiting`, params = the body sent).
        """
        plan = self._k._plan(prompt, model, input, image, callback_url, fields)
        return self._k._run(self._k._core.create(plan, on_progress=on_progress))

    if TYPE_CHECKING:  # the same function, typed per model (generated from the spec)
        create: CreateTask[Task]
    else:
        create = _create

    def get(self, task_id: str) -> Task:
        return self._k._run(self._k._core.get(task_id))

    def wait(
        self,
        task_id: str,
        timeout: float = DEFAULT_TIMEOUT,
        on_update: Callable[[TaskUpdate], object] | None = None,
        *,
        inbox: CallbackInbox | None = None,
        expect_callbacks: bool = False,
    ) -> Task:
        """Poll until success (returns the Task) or fail (GenerationFailed); TaskTimeout after `timeout` s."""
        return self._k._run(
            self._k._core.wait(
                task_id, timeout=timeout, on_update=on_update, inbox=inbox, expect_callbacks=expect_callbacks
            )
        )

    def watch(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        rate: float = 5.0,
        interval: float | None = None,
        on_update: Callable[[TaskUpdate], object] | None = None,
        inbox: CallbackInbox | None = None,
        expect_callbacks: bool = False,
    ) -> Watch:
        """A watcher for tasks that arrive over time: `with kling.tasks.watch() as w: w.add(id) ...`.

        Each added task is queried until it settles or `timeout` seconds after its add(); at most `rate`
        queries per second in all (on top of the client's rate_limit). `interval` fixes the seconds between
        queries of one task instead of the provider's schedule. `for task_id, outcome in w.results()` sends
        the queries in the calling thread; outcome is a Task (success) or a KlingError (GenerationFailed,
        TaskTimeout, ...). add/close/cancel may be called from any thread.
        """
        from .watch import Watch

        k = self._k
        return Watch(
            lambda task_id: k._run(k._core.get(task_id, retries=False)),  # the waiter retries, under its budget
            clock=k._clock,
            timeout=timeout,
            rate=rate,
            interval=interval,
            on_update=on_update,
            inbox=inbox if inbox is not None else k.callbacks,
            expect_callbacks=expect_callbacks,
            retry=k._core.retry,
            rng=k._core.rng,
        )

    def wait_many(
        self,
        task_ids: Iterable[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        rate: float = 5.0,
        on_update: Callable[[TaskUpdate], object] | None = None,
        inbox: CallbackInbox | None = None,
        expect_callbacks: bool = False,
    ) -> dict[str, Task | KlingError]:
        """Wait on many tasks, one query at a time, at most `rate` queries per second overall.

        Returns {task_id: Task (success) | KlingError (GenerationFailed, TaskTimeout, ...)} in input order.
        """
        ids = list(dict.fromkeys(task_ids))
        with self.watch(
            timeout=timeout, rate=rate, on_update=on_update, inbox=inbox, expect_callbacks=expect_callbacks
        ) as watch:
            for task_id in ids:
                watch.add(task_id)
            watch.close()
            results = dict(watch.results())
        return {tid: results[tid] for tid in ids}


class Files:
    def __init__(self, kling: Kling) -> None:
        self._k = kling

    def upload(
        self,
        path_or_bytes: FileSource,
        *,
        file_name: str | None = None,
        on_progress: Callable[[UploadProgress], object] | None = None,
    ) -> str:
        """Upload a local file that some model takes (type and size checked first); returns its URL."""
        return self._k._run(self._k._core.upload(path_or_bytes, file_name=file_name, on_progress=on_progress))

    def download_url(self, url: str) -> str:
        """A fresh temporary (20 min) download URL for a file the service generated."""
        return self._k._run(self._k._core.download_url(url))


# ---------------------------------------------------------------------------
# async


class AsyncKling(_Base):
    """The asyncio client; mirrors Kling with await. `async with AsyncKling() as kling: ...`."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 4,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        allow_insecure_http: bool = False,
        rng: random.Random | None = None,
        inbox: CallbackInbox | None = None,
        rate_limit: float | RequestBudget | None = None,
    ) -> None:
        from ._core import resolve_key

        secret = resolve_key(api_key)
        api_key = None  # from here on no frame local holds the bare key (tracebacks with locals)
        policy = retry if retry is not None else max_retries
        super().__init__(secret, base_url, timeout, policy, clock, allow_insecure_http, rng, inbox, rate_limit)
        mounts = _proxy_mounts(httpx.AsyncHTTPTransport) if transport is None else {}
        if transport is None:
            transport = httpx.AsyncHTTPTransport()
        headers = self._headers()
        common: dict[str, Any] = {"timeout": self._timeout, "transport": transport, "mounts": mounts}
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=headers, **common)
        self._upload_http = httpx.AsyncClient(base_url=f"{self.base_url}/file-upload", headers=headers, **common)
        del headers
        self._dl_http = httpx.AsyncClient(follow_redirects=True, headers=_DOWNLOAD_HEADERS, **common)
        self._api, self._upload_api = self._api_clients(self._http, self._upload_http)
        self.tasks = AsyncTasks(self)
        self.files = AsyncFiles(self)

    async def _run(self, op: Op[T]) -> T:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = op.throw(error) if error is not None else op.send(value)
            except StopIteration as stop:
                result: T = stop.value
                return result
            value, error = None, None
            try:
                value = await self._perform(effect)
            except Exception as exc:
                error = exc

    async def _perform(self, effect: Effect) -> Any:
        from ._core import Call, Emit, Fetch, Sleep, SleepOrWake

        if isinstance(effect, Call):
            client = self._upload_api if effect.upload else self._api
            return await _endpoint(effect.endpoint).asyncio_detailed(client=client, **effect.kwargs)
        if isinstance(effect, Sleep):
            await self._clock.asleep(effect.seconds)
            return None
        if isinstance(effect, SleepOrWake):
            return await self._sleep_or_wake(effect)
        if isinstance(effect, Fetch):
            return await self._fetch(effect)
        if isinstance(effect, Emit):
            result = effect.callback(effect.event)
            if inspect.isawaitable(result):
                await result
            return None
        raise AssertionError(f"unknown effect {effect!r}")

    async def _sleep_or_wake(self, eff: SleepOrWake) -> bool:
        if eff.inbox.pending(eff.task_id):
            return True
        import asyncio

        loop = asyncio.get_running_loop()
        event = asyncio.Event()

        def on_notify(tid: str) -> None:
            if tid == eff.task_id:
                with contextlib.suppress(RuntimeError):  # the loop may be closed by now
                    loop.call_soon_threadsafe(event.set)

        unsubscribe = eff.inbox.subscribe(on_notify)
        try:
            if eff.inbox.pending(eff.task_id):
                return True
            await _race(self._clock.asleep(eff.seconds), event.wait())
            return eff.inbox.pending(eff.task_id)
        finally:
            unsubscribe()

    async def _fetch(self, eff: Fetch) -> FetchResult:
        from .downloads import FetchResult, fetch_plan

        headers = {"Range": f"bytes={eff.offset}-"} if eff.offset else {}
        async with self._dl_http.stream("GET", eff.url, headers=headers) as r:
            if r.status_code not in (200, 206):
                await r.aread()
                return FetchResult(
                    r.status_code,
                    eff.offset,
                    None,
                    r.content[:200].decode("utf-8", "replace"),
                    r.headers.get("retry-after"),
                )
            plan = fetch_plan(r.status_code, eff.offset, dict(r.headers))
            if plan is None:
                return FetchResult(416, eff.offset, None)
            start, total = plan
            written = start
            with open(eff.path, "ab" if start else "wb") as f:
                async for chunk in r.aiter_bytes():
                    f.write(chunk)
                    written += len(chunk)
                    if eff.on_progress is not None:
                        eff.on_progress(DownloadProgress(received=written, total=total))
            return FetchResult(r.status_code, written, total)

    # -- public --------------------------------------------------------------
    async def credits(self) -> float:
        return await self._run(self._core.credits())

    async def download(
        self,
        task_or_url: Task | str,
        path: str | os.PathLike[str],
        *,
        on_progress: Callable[[DownloadProgress], object] | None = None,
    ) -> Path:
        return await self._run(self._core.download(task_or_url, path, on_progress=on_progress))

    async def _generate(
        self,
        prompt: str | None = None,
        /,
        *,
        output: str | os.PathLike[str],
        model: str | None = None,
        input: Mapping[str, Any] | None = None,
        image: ImageSource | None = None,
        callback_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        on_progress: Callable[[Any], object] | None = None,
        inbox: CallbackInbox | None = None,
        expect_callbacks: bool = False,
        **fields: Any,
    ) -> Task:
        """Upload local files + create + wait + download, for any model; on_progress gets Upload/Task/Download events.

        The input is checked (fields, types, limits, local files) before anything is sent; see `tasks.create`.
        """
        plan = self._plan(prompt, model, input, image, callback_url, fields)
        return await self._run(self._generate_op(plan, output, timeout, on_progress, inbox, expect_callbacks))

    if TYPE_CHECKING:  # the same function, typed per model (generated from the spec)
        generate: Generate[Awaitable[Task]]
    else:
        generate = _generate

    async def aclose(self) -> None:
        for c in (self._http, self._upload_http, self._dl_http):
            await c.aclose()

    async def close(self) -> None:
        """Same as aclose()."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


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


class AsyncTasks:
    def __init__(self, kling: AsyncKling) -> None:
        self._k = kling

    async def _create(
        self,
        prompt: str | None = None,
        /,
        *,
        model: str | None = None,
        input: Mapping[str, Any] | None = None,
        image: ImageSource | None = None,
        callback_url: str | None = None,
        on_progress: Callable[[UploadProgress], object] | None = None,
        **fields: Any,
    ) -> Task:
        """Create a task with `model` (default: the spec's default model); local files are uploaded first.

        Input fields are the model's own, as keywords or as `input={...}` (see `kling.models`); `image=` fills
        the model's first image field. Everything is checked against the model's schema before anything is
        sent (ValidationError names the model and the field); only the fields given are sent. The returned
        Task is built from the create answer (state `waiting`, params = the body sent).
        """
        plan = self._k._plan(prompt, model, input, image, callback_url, fields)
        return await self._k._run(self._k._core.create(plan, on_progress=on_progress))

    if TYPE_CHECKING:  # the same function, typed per model (generated from the spec)
        create: CreateTask[Awaitable[Task]]
    else:
        create = _create

    async def get(self, task_id: str) -> Task:
        return await self._k._run(self._k._core.get(task_id))

    async def wait(
        self,
        task_id: str,
        timeout: float = DEFAULT_TIMEOUT,
        on_update: Callable[[TaskUpdate], object] | None = None,
        *,
        inbox: CallbackInbox | None = None,
        expect_callbacks: bool = False,
    ) -> Task:
        return await self._k._run(
            self._k._core.wait(
                task_id, timeout=timeout, on_update=on_update, inbox=inbox, expect_callbacks=expect_callbacks
            )
        )

    def watch(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        rate: float = 5.0,
        interval: float | None = None,
        on_update: Callable[[TaskUpdate], object] | None = None,
        inbox: CallbackInbox | None = None,
        expect_callbacks: bool = False,
        max_in_flight: int = 16,
    ) -> AsyncWatch:
        """A watcher for tasks that arrive over time: `async with kling.tasks.watch() as w: w.add(id) ...`.

        As `Kling.tasks.watch`, with up to `max_in_flight` queries at once; `async for task_id, outcome in
        w.results()`. add/close/cancel are plain methods, callable from any thread.
        """
        from .watch import AsyncWatch

        k = self._k
        return AsyncWatch(
            lambda task_id: k._run(k._core.get(task_id, retries=False)),  # the waiter retries, under its budget
            clock=k._clock,
            timeout=timeout,
            rate=rate,
            interval=interval,
            on_update=on_update,
            inbox=inbox if inbox is not None else k.callbacks,
            expect_callbacks=expect_callbacks,
            max_in_flight=max_in_flight,
            retry=k._core.retry,
            rng=k._core.rng,
        )

    async def wait_many(
        self,
        task_ids: Iterable[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        rate: float = 5.0,
        max_in_flight: int = 16,
        on_update: Callable[[TaskUpdate], object] | None = None,
        inbox: CallbackInbox | None = None,
        expect_callbacks: bool = False,
    ) -> dict[str, Task | KlingError]:
        """Wait on many tasks under one budget: at most `rate` queries/s and `max_in_flight` at once.

        Returns {task_id: Task (success) | KlingError (GenerationFailed, TaskTimeout, ...)} in input order.
        A 429 pauses the whole budget; a callback in the inbox moves that task to the front.
        """
        ids = list(dict.fromkeys(task_ids))
        results: dict[str, Task | KlingError] = {}
        async with self.watch(
            timeout=timeout,
            rate=rate,
            on_update=on_update,
            inbox=inbox,
            expect_callbacks=expect_callbacks,
            max_in_flight=max_in_flight,
        ) as watch:
            for task_id in ids:
                watch.add(task_id)
            watch.close()
            async for task_id, outcome in watch.results():
                results[task_id] = outcome
        return {tid: results[tid] for tid in ids}


class AsyncFiles:
    def __init__(self, kling: AsyncKling) -> None:
        self._k = kling

    async def upload(
        self,
        path_or_bytes: FileSource,
        *,
        file_name: str | None = None,
        on_progress: Callable[[UploadProgress], object] | None = None,
    ) -> str:
        return await self._k._run(self._k._core.upload(path_or_bytes, file_name=file_name, on_progress=on_progress))

    async def download_url(self, url: str) -> str:
        return await self._k._run(self._k._core.download_url(url))
