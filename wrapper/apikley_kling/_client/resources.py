"""kling.tasks and kling.files: each method written once, for both shells.

A method runs an engine operation through its shell's runner: the blocking one returns
the value, the async one a coroutine of it. The type parameters say which (`Task` or
`Awaitable[Task]`), so a type checker sees `kling.tasks.get(...)` as a Task and
`akling.tasks.get(...)` as something to await.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Unpack

import httpx

from .._config import DEFAULT_TIMEOUT
from .._engine.inbox import CallbackInbox
from ..errors import KlingError
from ..events import PriceDifference, TaskUpdate, UploadProgress
from ..models import Task
from .base import Base, FileSource, ImageSource
from .money import call_limit
from .options import options

if TYPE_CHECKING:
    from apikley_kling_api.inputs import CreateTask

    from .._engine.effects import Op
    from ..watch import AsyncWatch, Watch, WatchOptions

__all__ = ["AsyncFiles", "AsyncTasks", "Files", "Tasks"]

TaskR = TypeVar("TaskR")  # Task, or Awaitable[Task]
StrR = TypeVar("StrR")  # str, or Awaitable[str]
ResultsR = TypeVar("ResultsR")  # {task_id: Task | KlingError}, or an Awaitable of it
WatchT = TypeVar("WatchT")  # Watch, or AsyncWatch
Results = dict[str, Task | KlingError]


class _Tasks(Generic[TaskR, WatchT, ResultsR]):
    def __init__(self, kling: Base[Any, Any], run: Callable[[Op[Task]], TaskR]) -> None:
        self._k = kling
        self._run = run

    def _create(
        self,
        prompt: str | None = None,
        /,
        *,
        model: str | None = None,
        input: Mapping[str, Any] | None = None,
        image: ImageSource | None = None,
        callback_url: str | None = None,
        on_progress: Callable[[UploadProgress | PriceDifference], object] | None = None,
        max_credits: float | None = None,
        allow_unknown_price: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        key: str | None = None,
        resubmit_ambiguous: bool = False,
        **fields: Any,
    ) -> TaskR:
        """Create a task with `model` (default: the spec's default model); local files are uploaded first.

        Input fields are the model's own, as keywords or as `input={...}` (see `kling.models`); `image=` fills
        the model's first image field. Everything is checked against the model's schema before anything is
        sent (ValidationError names the model and the field); only the fields given are sent. The returned
        Task is built from the create answer (state `waiting`, params = the body sent). max_credits caps this
        create, with the client's max_spend (SpendLimitExceeded before anything is sent; see `estimate`).

        timeout, extra_headers and extra_query are this request's own. extra_body is the escape hatch for an
        input field the bundled spec does not know yet: its fields are merged into the request's `input`
        (beside the checked ones, over them on a clash) and sent unvalidated, unpriced by the spec's rules.
        on_progress gets UploadProgress, and a PriceDifference when a price book learns a price unlike the card's.
        key (with `Kling(journal=PATH)`): a create made under this key before is not made again; its task is
        returned as the service reports it now (see `generate`, resubmit_ambiguous too).
        """
        plan = self._k._plan(prompt, model, input, image, callback_url, fields)
        limit = call_limit(max_credits, allow_unknown_price)
        opts = options(timeout, extra_headers, extra_query, extra_body)
        if key is not None:
            keyed = self._k._journaled(key).create(
                plan, key, resubmit=resubmit_ambiguous, on_progress=on_progress, limit=limit, options=opts
            )
            return self._run(keyed)
        return self._run(self._k._core.tasks.create(plan, on_progress=on_progress, limit=limit, options=opts))

    if TYPE_CHECKING:  # the same function, typed per model (generated from the spec)
        create: CreateTask[TaskR]
    else:
        create = _create

    @property
    def with_raw_response(self) -> Any:
        """`tasks.with_raw_response.get(id)` (create, wait too): a RawResponse (status_code, headers, .parse())."""
        return self._k._raw(self)

    def get(
        self,
        task_id: str,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
    ) -> TaskR:
        """The task as the service reports it now (one query; transient failures retried).

        timeout (seconds or an httpx.Timeout), extra_headers and extra_query: this request's own.
        """
        opts = options(timeout, extra_headers, extra_query)
        return self._run(self._k._core.tasks.get(task_id, options=opts))

    def wait(
        self,
        task_id: str,
        timeout: float = DEFAULT_TIMEOUT,
        on_update: Callable[[TaskUpdate], object] | None = None,
        *,
        inbox: CallbackInbox | None = None,
        expect_callbacks: bool = False,
        request_timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
    ) -> TaskR:
        """Poll until success (returns the Task) or fail (GenerationFailed); TaskTimeout after `timeout` s.

        Queries follow the provider's schedule; a callback in the inbox ends a sleep at once. With
        expect_callbacks (a receiver feeds the inbox), queries after the first are only a safety net.
        `timeout` is the whole wait's; request_timeout, extra_headers and extra_query apply to each query.
        """
        op = self._k._core.tasks.wait(
            task_id,
            timeout=timeout,
            on_update=on_update,
            inbox=inbox,
            expect_callbacks=expect_callbacks,
            options=options(request_timeout, extra_headers, extra_query),
        )
        return self._run(op)

    def watch(self, **options: Unpack[WatchOptions]) -> WatchT:
        """A watcher for tasks that arrive over time: `with kling.tasks.watch() as w: w.add(task_id) ...`.

        Options (all keywords): timeout=900.0 seconds per task from its add(); rate=5.0 queries per second
        in all (on top of the client's rate_limit); interval=None, or fixed seconds between queries of one
        task instead of the provider's schedule; on_update=None, called with a TaskUpdate after every
        answer; inbox (default: the client's callbacks) and expect_callbacks=False as for wait();
        max_in_flight: queries at once (default: one for Kling, sent from the thread that reads results();
        16 for AsyncKling); retry_until_deadline=False: a query that keeps failing (transport errors, 429,
        455, 5xx) is given up after the client's max_retries, or with True retried with capped backoff until
        the task's deadline (a TaskTimeout whose __cause__ is the last error). Iterating `w.results()`
        (`async for` with AsyncKling) gives (task_id, outcome):
        a Task (success) or a KlingError (GenerationFailed, TaskTimeout, ...). add/close/cancel may be
        called from any thread.
        """
        k = self._k
        if options.get("inbox") is None:
            options["inbox"] = k.callbacks
        return self._watcher(
            lambda task_id: self._run(
                k._core.tasks.get(task_id, retries=False)
            ),  # the watcher retries, under its budget
            clock=k._clock,
            retry=k._core.retry,
            rng=k._core.rng,
            **options,
        )

    def _watcher(self, query: Callable[[str], TaskR], **options: Any) -> WatchT:
        raise NotImplementedError

    def wait_many(self, task_ids: Iterable[str], **options: Unpack[WatchOptions]) -> ResultsR:
        """Wait on many tasks under one budget: watch(**options), every id added, collected.

        Returns {task_id: Task (success) | KlingError (GenerationFailed, TaskTimeout, ...)} in input order.
        A 429 pauses the whole budget; a callback in the inbox moves that task to the front.
        """
        return self._collect(list(dict.fromkeys(task_ids)), self.watch(**options))

    def _collect(self, ids: list[str], watch: WatchT) -> ResultsR:
        raise NotImplementedError


if TYPE_CHECKING:
    _SyncTasks = _Tasks[Task, Watch, Results]
    _AsyncTasks = _Tasks[Awaitable[Task], AsyncWatch, Awaitable[Results]]
else:  # the watcher loads with the first watch(), not with `import apikley_kling`
    _SyncTasks = _AsyncTasks = _Tasks


class Tasks(_SyncTasks):
    """kling.tasks: create, get, wait, watch and wait_many, blocking."""

    def _watcher(self, query: Callable[[str], Task], **options: Any) -> Watch:
        from ..watch import Watch

        return Watch(query, **options)

    def _collect(self, ids: list[str], watch: Watch) -> Results:
        with watch:
            for task_id in ids:
                watch.add(task_id)
            watch.close()
            results = dict(watch.results())
        return {tid: results[tid] for tid in ids}


class AsyncTasks(_AsyncTasks):
    """akling.tasks: the same methods as Kling's, to await; watch() is used with `async with`/`async for`."""

    def _watcher(self, query: Callable[[str], Awaitable[Task]], **options: Any) -> AsyncWatch:
        from ..watch import AsyncWatch

        return AsyncWatch(query, **options)

    async def _collect(self, ids: list[str], watch: AsyncWatch) -> Results:
        results: Results = {}
        async with watch:
            for task_id in ids:
                watch.add(task_id)
            watch.close()
            async for task_id, outcome in watch.results():
                results[task_id] = outcome
        return {tid: results[tid] for tid in ids}


class _Files(Generic[StrR]):
    def __init__(self, kling: Base[Any, Any], run: Callable[[Op[str]], StrR]) -> None:
        self._k = kling
        self._run = run

    @property
    def with_raw_response(self) -> Any:
        """`files.with_raw_response.upload(path)` (download_url too): a RawResponse (status_code, headers, .parse())."""
        return self._k._raw(self)

    def upload(
        self,
        path_or_bytes: FileSource,
        *,
        file_name: str | None = None,
        on_progress: Callable[[UploadProgress], object] | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
    ) -> StrR:
        """Upload a local file that some model takes (type and size checked first); returns its URL.

        timeout, extra_headers and extra_query: this request's own.
        """
        opts = options(timeout, extra_headers, extra_query)
        op = self._k._core.files.upload(path_or_bytes, file_name=file_name, on_progress=on_progress, options=opts)
        return self._run(op)

    def download_url(
        self,
        url: str,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> StrR:
        """A fresh temporary (20 min) download URL for a file the service generated.

        timeout, extra_headers, extra_query: this request's own; extra_body's fields join the JSON body, unvalidated.
        """
        return self._run(
            self._k._core.files.download_url(url, options(timeout, extra_headers, extra_query, extra_body))
        )


class Files(_Files[str]):
    """kling.files: upload and download_url, blocking."""


class AsyncFiles(_Files[Awaitable[str]]):
    """akling.files: upload and download_url, to await."""
