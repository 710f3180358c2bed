"""The IO-free core shared by Kling and AsyncKling (the sans-IO idea of h11).

Every operation is a generator that yields *effects* (Call: send this request
through the generated client; Sleep; SleepOrWake; Fetch: stream this URL into
this file; Emit: hand this event to a user callable) and receives their
results (or has their exceptions thrown into it). The generator decides
everything else: request bodies, validation, envelope decoding, error mapping,
retries, the polling schedule, download resume and URL refresh. The sync and
async shells in client.py only perform the effects.

The generated client (apikley_kling_api) is imported lazily here, so that
`import apikley_kling` stays about as cheap as `import httpx`.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._logging import logger, redact
from ._net import is_loopback_host
from ._validate import CreatePlan, build_request, check_url
from .clock import Clock
from .downloads import FetchResult, mp4_problem, target_path, temp_path
from .errors import (
    AmbiguousSubmit,
    APIError,
    ConfigurationError,
    KlingError,
    ProtocolError,
    RateLimitError,
    TaskTimeout,
    TransportError,
    ValidationError,
    error_for_code,
)
from .events import DownloadProgress, ProgressEvent, TaskUpdate, UploadProgress
from .models import Task, TaskState
from .polling import CallbackInbox, RequestBudget, fail_error, poll_interval
from .retry import Kind, RetryPolicy, parse_retry_after
from .uploads import UPLOAD_PATH, LocalFile, ProgressReader, load_file

if TYPE_CHECKING:
    from apikley_kling_api.types import Response  # type: ignore[import-untyped, unused-ignore]

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.apikley.ru"
ENV_KEY = "APIKLEY_API_KEY"
ENV_BASE_URL = "APIKLEY_BASE_URL"
EXCERPT = 200


def default_timeout() -> httpx.Timeout:
    return httpx.Timeout(connect=10.0, read=60.0, write=120.0, pool=30.0)


# ---------------------------------------------------------------------------
# Secrets and configuration


class Secret:
    """Holds the API key; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class RedactedToken(str):
    """The key as the generated client's `token` field: a real str, but repr() hides it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


def check_base_url(base_url: str, *, allow_insecure_http: bool) -> str:
    url = httpx.URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if url.scheme == "http" and not allow_insecure_http and not is_loopback_host(url.host):
        raise ConfigurationError(
            f"refusing plain http to {url.host!r}: the API key would travel in clear text "
            "(use https, a loopback address, or allow_insecure_http=True)"
        )
    return base_url.rstrip("/")


def resolve_key(api_key: str | None) -> Secret:
    key = api_key if api_key is not None else os.environ.get(ENV_KEY)
    if not key or not key.strip():
        raise ConfigurationError(f"no API key: pass api_key= or set {ENV_KEY}")
    return Secret(key.strip())


# ---------------------------------------------------------------------------
# Effects


@dataclass(frozen=True)
class Call:
    """Send one request through the generated client: `endpoint` names a module in apikley_kling_api.api.default."""

    endpoint: str
    kwargs: Mapping[str, Any]
    upload: bool = False


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class SleepOrWake:
    """Sleep, but return early (True) when the inbox gets a notification for task_id."""

    seconds: float
    task_id: str
    inbox: CallbackInbox


@dataclass(frozen=True)
class Fetch:
    """GET url without credentials into `path`, from byte `offset` (Range) when offset > 0."""

    url: str
    path: Path
    offset: int
    on_progress: Callable[[DownloadProgress], object] | None


@dataclass(frozen=True)
class Emit:
    callback: Callable[[Any], object]
    event: ProgressEvent


Effect = Call | Sleep | SleepOrWake | Fetch | Emit
Op = Generator[Effect, Any, T]


def _is_code(value: object) -> bool:
    """An envelope code the SDK can act on: an int (ErrorCode is an IntEnum), never a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def transport_error(exc: httpx.TransportError, doing: str, task_id: str | None) -> TransportError:
    """Our TransportError for an httpx one. Its cause is a copy without `.request`: the request's headers hold
    the API key, and nothing reachable from an error we raise may hold it."""
    name = type(exc).__name__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        message = (
            f"TLS certificate verification failed while {doing} ({text}); if a proxy or a private CA signs this "
            "host, point SSL_CERT_FILE (or SSL_CERT_DIR) at its CA bundle"
        )
    else:
        message = f"{name} while {doing}"
    err = TransportError(message, kind=name, task_id=task_id)
    try:
        err.__cause__ = type(exc)(text)
    except TypeError:  # an httpx subclass with another signature: keep only the words
        err.__cause__ = httpx.TransportError(text)
    return err


class OutOfTime(Exception):
    """A retry inside a wait would sleep past the wait's deadline (wait() turns it into TaskTimeout).

    Not a KlingError: it never leaves the core. `__cause__` is the error that was to be retried.
    """


# ---------------------------------------------------------------------------
# Decoding


@dataclass
class Decoder:
    """Turns generated Responses into values or typed errors; redacts the key from every excerpt."""

    secrets: frozenset[str] = field(default_factory=frozenset, repr=False)
    now: Callable[[], float] = field(default=lambda: 0.0)

    def excerpt(self, content: bytes) -> str:
        text = content[:EXCERPT].decode("utf-8", errors="replace").strip()
        return redact(text, self.secrets)

    def api_error(
        self, code: int, status: int, msg: str | None, *, task_id: str | None, headers: Mapping[str, str] | None
    ) -> APIError:
        if code < 300:  # an error answer claiming success: trust the HTTP status instead
            code = status
        cls = error_for_code(code)
        retry_after = parse_retry_after((headers or {}).get("retry-after"), self.now())
        text = redact(msg[:500], self.secrets) if msg else f"error code {code}"
        return cls(text, code=code, status=status, task_id=task_id, retry_after=retry_after)

    def unexpected(
        self, status: int, content: bytes, headers: Mapping[str, str] | None, task_id: str | None
    ) -> KlingError:
        excerpt = self.excerpt(content)
        if status >= 400:
            cls = error_for_code(status)
            retry_after = parse_retry_after((headers or {}).get("retry-after"), self.now())
            what = "an empty answer" if not content.strip() else "a non-JSON answer"
            return cls(
                f"{what} with HTTP {status}",
                status=status,
                task_id=task_id,
                excerpt=excerpt or None,
                retry_after=retry_after,
            )
        what = "an empty body" if not content.strip() else "a body that is not the API's JSON"
        return ProtocolError(f"HTTP {status} with {what}", status=status, task_id=task_id, excerpt=excerpt or None)

    def envelope(self, resp: Response[Any], *, task_id: str | None = None) -> dict[str, Any]:
        """The success document ({code: 200, msg, data}) or a raised typed error."""
        from apikley_kling_api.models import ErrorEnvelope  # type: ignore[import-untyped, unused-ignore]

        parsed = resp.parsed
        headers = resp.headers
        if isinstance(parsed, ErrorEnvelope) and not _is_code(parsed.code):
            # The generated model lets an anyOf through when nothing matched (null, text, 12.5).
            raise ProtocolError(
                "the answer's envelope has no usable code",
                status=resp.status_code,
                task_id=task_id,
                excerpt=self.excerpt(resp.content),
            )
        if isinstance(parsed, ErrorEnvelope) and int(parsed.code) < 300:
            # The spec's success schemas require data; only an envelope that
            # matched none of them ends up here with a success code.
            raise ProtocolError(
                "the answer says success but carries no usable data",
                status=resp.status_code,
                task_id=task_id,
                excerpt=self.excerpt(resp.content),
            )
        if isinstance(parsed, ErrorEnvelope):
            msg = parsed.msg if isinstance(parsed.msg, str) and parsed.msg else None
            if msg is None and isinstance(parsed.message, str) and parsed.message:
                msg = parsed.message
            raise self.api_error(int(parsed.code), resp.status_code, msg, task_id=task_id, headers=headers)
        if parsed is None or not hasattr(parsed, "to_dict"):
            raise self.unexpected(resp.status_code, resp.content, headers, task_id)
        doc: dict[str, Any] = parsed.to_dict()
        if resp.status_code >= 400:
            # HTTP says error although the body says 200: believe neither blindly; report it.
            raise self.api_error(resp.status_code, resp.status_code, doc.get("msg"), task_id=task_id, headers=headers)
        return doc

    def task_id(self, resp: Response[Any]) -> str:
        doc = self.envelope(resp)
        data = doc.get("data")
        tid = data.get("taskId") if isinstance(data, Mapping) else None
        if not isinstance(tid, str) or not tid:
            raise ProtocolError(
                "createTask answered success without data.taskId",
                status=resp.status_code,
                excerpt=self.excerpt(resp.content),
            )
        return tid

    def task(self, resp: Response[Any], task_id: str) -> Task:
        doc = self.envelope(resp, task_id=task_id)
        data = doc.get("data")
        if data is None:
            raise ProtocolError("task query answered success without data", task_id=task_id, status=resp.status_code)
        task = Task.from_api(data, task_id=task_id)
        if task.id != task_id:
            raise ProtocolError(f"asked for task {task_id} but the answer is about {task.id}", task_id=task_id)
        return task

    def credits(self, resp: Response[Any]) -> float:
        data = self.envelope(resp).get("data")
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise ProtocolError("credits answer has no number in data", status=resp.status_code)
        return float(data)

    def download_url(self, resp: Response[Any]) -> str:
        data = self.envelope(resp).get("data")
        if not isinstance(data, str) or not data:
            raise ProtocolError("download-url answer has no URL in data", status=resp.status_code)
        return data

    def upload(self, resp: Response[Any]) -> str:
        from apikley_kling_api.models import ErrorEnvelope, FileUploadResult  # type: ignore[import-untyped, unused-ignore]
        from apikley_kling_api.types import Unset

        parsed = resp.parsed
        if isinstance(parsed, ErrorEnvelope):
            self.envelope(resp)  # raises
        if not isinstance(parsed, FileUploadResult):
            raise self.unexpected(resp.status_code, resp.content, resp.headers, None)
        code = parsed.code if isinstance(parsed.code, int) else resp.status_code
        msg = parsed.msg if isinstance(parsed.msg, str) else None
        if msg is None:
            extra = parsed.additional_properties.get("message")
            msg = extra if isinstance(extra, str) else None
        if code != 200 or parsed.success is False or resp.status_code >= 400:
            raise self.api_error(
                code if code != 200 else resp.status_code, resp.status_code, msg, task_id=None, headers=resp.headers
            )
        data = parsed.data
        url: object = None
        if data is not None and not isinstance(data, Unset):
            url = data.get("downloadUrl") if isinstance(data, Mapping) else getattr(data, "download_url", None)
        if not isinstance(url, str) or not url:
            raise ProtocolError(
                "upload answered success without data.downloadUrl",
                status=resp.status_code,
                excerpt=self.excerpt(resp.content),
            )
        return url


# ---------------------------------------------------------------------------
# The operations


@dataclass
class Core:
    clock: Clock
    retry: RetryPolicy
    decoder: Decoder
    inbox: CallbackInbox
    rng: random.Random = field(default_factory=random.Random)
    pacer: RequestBudget | None = None  # Kling(rate_limit=...): one budget for every call of the client

    def _pace(self, pacer: RequestBudget, endpoint: str, deadline: float | None) -> Op[None]:
        """Wait for the client's request budget, never past a wait's deadline."""
        while (delay := pacer.wait_time(self.clock.monotonic())) > 0:
            if deadline is not None and self.clock.monotonic() + delay > deadline:
                raise OutOfTime(endpoint)
            yield Sleep(delay)

    # -- one request, with the retry rules of its kind ------------------------
    def request(
        self,
        call: Call | Callable[[], Call],
        decode: Callable[[Any], T],
        *,
        kind: Kind = Kind.QUERY,
        task_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        retries: bool = True,
        deadline: float | None = None,
    ) -> Op[T]:
        """Send `call` and decode the answer, retrying by the rules of `kind`: the one retry loop.

        `call` may be a factory, for a request whose body is read as it is sent (an upload): each attempt gets
        a fresh one.

        With a `deadline` (monotonic seconds, set by wait()), no retry sleep goes past it:
        a sleep that would is cut to the time left and then OutOfTime is raised.
        """
        from apikley_kling_api.errors import UnexpectedBody  # type: ignore[import-untyped, unused-ignore]

        attempt = 0
        while True:
            this = call() if callable(call) else call
            if self.pacer is not None:  # no generator on the hot path of a client without a budget
                yield from self._pace(self.pacer, this.endpoint, deadline)
            sent_at = self.clock.time()
            err: KlingError
            try:
                resp = yield this
            except httpx.TransportError as exc:
                err = transport_error(exc, f"calling {this.endpoint}", task_id)
            except UnexpectedBody as exc:
                err = self.decoder.unexpected(exc.status_code, exc.content, exc.headers, task_id)
                err.__cause__ = exc
            else:
                try:
                    return decode(resp)
                except KlingError as exc:
                    err = exc
            decision = self.retry.decide(kind, err, attempt)
            if isinstance(err, RateLimitError) and self.pacer is not None:
                self.pacer.pause(self.clock.monotonic(), self.retry.backoff(attempt, err.retry_after))
            if decision.ambiguous:
                logger.warning("createTask outcome unknown (%s): not resending", type(err).__name__)
                raise AmbiguousSubmit(body or {}, reason=str(err), sent_at=sent_at, status=err.status) from err
            if not retries or not decision.retry:
                raise err
            logger.info(
                "%s failed (%s), retry %d/%d in %.2fs",
                this.endpoint,
                type(err).__name__,
                attempt + 1,
                self.retry.max_retries,
                decision.delay,
            )
            if deadline is not None:
                left = deadline - self.clock.monotonic()
                if decision.delay > left:
                    if left > 0:
                        yield Sleep(left)
                    raise OutOfTime(this.endpoint) from err
            yield Sleep(decision.delay)
            attempt += 1

    # -- endpoints -----------------------------------------------------------
    def get(self, task_id: str, *, retries: bool = True, deadline: float | None = None) -> Op[Task]:
        if not isinstance(task_id, str) or not task_id.strip():
            raise ValidationError("task_id: required", field="task_id")
        call = Call("get_task_details", {"task_id": task_id})
        task: Task = yield from self.request(
            call, lambda r: self.decoder.task(r, task_id), task_id=task_id, retries=retries, deadline=deadline
        )
        logger.debug("task %s is %s", task.id, task.state.value)
        return task

    def credits(self) -> Op[float]:
        value: float = yield from self.request(Call("get_remaining_credits", {}), self.decoder.credits)
        return value

    def download_url(self, url: str) -> Op[str]:
        from apikley_kling_api.models import DownloadUrlRequest  # type: ignore[import-untyped, unused-ignore]

        check_url(url, "url")
        call = Call("get_download_url", {"body": DownloadUrlRequest(url=url)})
        fresh: str = yield from self.request(call, self.decoder.download_url)
        return fresh

    def upload(
        self,
        source: str | os.PathLike[str] | bytes,
        *,
        file_name: str | None = None,
        on_progress: Callable[[UploadProgress], object] | None = None,
    ) -> Op[str]:
        """Upload any file that some model's file field takes (type and size checked first)."""
        from .catalog import models

        rules = [f.file for m in models().values() for f in m.file_fields if f.file is not None]
        accepted = tuple(dict.fromkeys(t for r in rules for t in r.accepted_types))
        sizes = [r.max_bytes for r in rules if r.max_bytes is not None]
        try:
            local = load_file(source, accepted, max(sizes) if sizes else None, file_name=file_name)
        except ValueError as exc:
            raise ValidationError(f"file: {exc}", field="file") from None
        return (yield from self.upload_file(local, on_progress))

    def upload_file(self, local: LocalFile, on_progress: Callable[[UploadProgress], object] | None) -> Op[str]:
        from apikley_kling_api.models import FileStreamUploadRequest  # type: ignore[import-untyped, unused-ignore]
        from apikley_kling_api.types import File  # type: ignore[import-untyped, unused-ignore]

        def call() -> Call:
            # A fresh reader per attempt: a retry sends the whole file again.
            body = FileStreamUploadRequest(
                file=File(
                    payload=ProgressReader(local.content, on_progress),
                    file_name=local.file_name,
                    mime_type=local.mime_type,
                ),
                upload_path=UPLOAD_PATH,
                file_name=local.file_name,
            )
            return Call("upload_file_stream", {"body": body}, upload=True)

        url: str = yield from self.request(call, self.decoder.upload)
        logger.debug("uploaded %d bytes", len(local.content))
        return url

    def create(self, plan: CreatePlan, *, on_progress: Callable[[Any], object] | None = None) -> Op[Task]:
        """`plan` is checked already: its local files are uploaded, then the task is created."""
        urls: list[str] = []
        for up in plan.uploads:
            urls.append((yield from self.upload_file(up.file, on_progress)))
        body = build_request(plan, plan.with_urls(urls))
        body_dict: dict[str, Any] = body.to_dict()
        call = Call("create_task", {"body": body})
        task_id: str = yield from self.request(call, self.decoder.task_id, kind=Kind.CREATE, body=body_dict)
        logger.info("created task %s (%s)", task_id, plan.model.id)
        created = {"taskId": task_id, "model": plan.model.id, "state": "waiting", "param": json.dumps(body_dict)}
        return Task.from_api(created)

    # -- waiting -------------------------------------------------------------
    def wait(
        self,
        task_id: str,
        *,
        timeout: float,
        on_update: Callable[[TaskUpdate], object] | None,
        inbox: CallbackInbox | None,
        expect_callbacks: bool = False,
    ) -> Op[Task]:
        """Poll on the provider's schedule until final; a callback in the inbox ends a sleep at once.

        With expect_callbacks (a receiver feeds the inbox), queries after the first are only a safety net.
        """
        box = inbox if inbox is not None else self.inbox
        start = self.clock.monotonic()
        deadline = start + timeout
        last: Task | None = None
        while True:
            box.take(task_id)  # this query answers any callback received so far
            try:
                task = yield from self.get(task_id, deadline=deadline)
            except OutOfTime as exc:
                raise TaskTimeout(task_id, timeout=timeout, last=last) from exc.__cause__
            last = task
            now = self.clock.monotonic()
            if on_update is not None:
                yield Emit(on_update, TaskUpdate(task=task, elapsed=now - start, deadline=timeout))
            if task.state is TaskState.SUCCESS:
                return task
            if task.state is TaskState.FAIL:
                raise fail_error(task)
            if now >= deadline:
                raise TaskTimeout(task_id, timeout=timeout, last=task)
            delay = min(poll_interval(now - start, self.rng, expect_callbacks=expect_callbacks), deadline - now)
            woke = yield SleepOrWake(delay, task_id, box)
            if woke:
                logger.debug("callback for task %s: confirming with one query", task_id)

    # -- downloads -----------------------------------------------------------
    def download(
        self,
        source: Task | str,
        path: str | os.PathLike[str],
        *,
        on_progress: Callable[[DownloadProgress], object] | None,
        refresh: bool = True,
    ) -> Op[Path]:
        task_id = source.id if isinstance(source, Task) else None
        if isinstance(source, Task):
            if not source.result_urls:
                raise KlingError(f"task has no result URL to download (state {source.state.value})", task_id=task_id)
            original = source.result_urls[0]
        else:
            original = source
        check_url(original, "url")
        target = target_path(path, task_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(target)
        url = original
        refreshed = not refresh
        attempt = 0
        try:
            while True:
                offset = tmp.stat().st_size if tmp.exists() else 0
                err: KlingError | None = None
                if on_progress is not None:
                    # Before the first byte: a server may take a while to start sending (the view shows it).
                    yield Emit(on_progress, DownloadProgress(received=offset, total=None))
                try:
                    res: FetchResult = yield Fetch(url, tmp, offset, on_progress)
                except httpx.TransportError as exc:
                    err = transport_error(exc, "downloading", task_id)
                else:
                    if res.status in (200, 206):
                        complete = res.total is None or res.written == res.total
                        problem = mp4_problem(tmp) if complete else None
                        if complete and problem is None:
                            os.replace(tmp, target)
                            logger.info("downloaded %d bytes", res.written)
                            return target
                        if problem is not None:
                            # Complete by its headers but not as a video (cut short with no Content-Length):
                            # fetch it whole again.
                            tmp.unlink(missing_ok=True)
                            err = TransportError(
                                f"download is not a whole MP4 ({problem})", kind="IncompleteBody", task_id=task_id
                            )
                        else:
                            if res.total is not None and res.written > res.total:
                                tmp.unlink(missing_ok=True)  # more than announced: start over
                            err = TransportError(
                                f"download ended at {res.written} of {res.total} bytes",
                                kind="IncompleteRead",
                                task_id=task_id,
                            )
                    elif res.status == 416:
                        tmp.unlink(missing_ok=True)  # our partial file is not a prefix any more
                        err = TransportError(
                            "range not satisfiable; restarting", kind="RangeNotSatisfiable", task_id=task_id
                        )
                    elif res.status in (401, 403, 404, 410) and not refreshed:
                        # Result URLs expire: ask the service for a fresh one, once.
                        logger.info("result URL answered %d: asking for a fresh download URL", res.status)
                        url = yield from self.download_url(original)
                        refreshed = True
                        tmp.unlink(missing_ok=True)
                        continue
                    else:
                        cls = error_for_code(res.status)
                        err = cls(
                            f"download answered HTTP {res.status}",
                            status=res.status,
                            task_id=task_id,
                            excerpt=self.decoder.excerpt(res.excerpt.encode()) or None,
                            retry_after=parse_retry_after(res.retry_after, self.clock.time()),
                        )
                decision = self.retry.decide(Kind.QUERY, err, attempt)
                if not decision.retry:
                    raise err
                yield Sleep(decision.delay)
                attempt += 1
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    # -- everything at once --------------------------------------------------
    def generate(
        self,
        plan: CreatePlan,
        output: str | os.PathLike[str],
        *,
        timeout: float,
        on_progress: Callable[[Any], object] | None,
        inbox: CallbackInbox | None,
        expect_callbacks: bool = False,
    ) -> Op[Task]:
        task = yield from self.create(plan, on_progress=on_progress)
        done = yield from self.wait(
            task.id, timeout=timeout, on_update=on_progress, inbox=inbox, expect_callbacks=expect_callbacks
        )
        yield from self.download(done, output, on_progress=on_progress)
        return done
