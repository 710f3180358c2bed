"""What both shells share: configuration, connections, and turning a Call into a generated-client request."""

from __future__ import annotations

import copy
import functools
import os
import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

import httpx

from .._config import DEFAULT_TIMEOUT, resolve_key
from .._engine.inbox import CallbackInbox
from .._logging import protect
from .._net import is_loopback_url
from .._version import __version__ as _version
from ..clock import Clock, SystemClock
from ..errors import ConfigurationError
from ..events import DownloadProgress
from .calls import URLs, endpoint, import_generated_client, request_url
from .journal import open_journal
from .money import call_limit, learn, money
from .options import apply, as_timeout

if TYPE_CHECKING:
    from .._config import Secret
    from .._engine.core import Core
    from .._engine.effects import Call, Op
    from .._engine.journal import Journal
    from .._engine.retry import RetryPolicy
    from .._engine.schedule import RequestBudget
    from ..catalog import CreatePlan, Models
    from ..ledger import BaseLedger
    from ..pricing import Estimate, Observation, PriceBook, PriceCard, SpendGuard

__all__ = ["Base", "FileSource", "ImageSource", "OnDownload", "StrPath"]

FileSource = str | os.PathLike[str] | bytes
ImageSource = FileSource | Sequence[FileSource]
StrPath = str | os.PathLike[str]
OnDownload = Callable[[DownloadProgress], object]
TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)
HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)
T = TypeVar("T")

# Result files live on other hosts: no Authorization header, ever. Videos gain nothing from
# compression in transit, and identity keeps Content-Length and Range in the file's own bytes.
DOWNLOAD_HEADERS = {"User-Agent": f"apikley-kling/{_version}", "Accept-Encoding": "identity"}


def _proxy_mounts(make: Callable[..., Any]) -> dict[str, Any]:
    """HTTP(S)_PROXY, ALL_PROXY and NO_PROXY from the environment, read as httpx reads them.

    httpx applies them only to a client that builds its own transport; ours share one pool, so the same
    mounts are built here, one transport per proxy, shared by the three clients. With a proxy, an https
    request is a CONNECT tunnel: the proxy sees the host, never the Authorization header.
    """
    from .._config import environment_proxies

    by_url: dict[str, Any] = {}
    mounts: dict[str, Any] = {}
    for pattern, url in environment_proxies().items():
        mounts[pattern] = None if url is None else by_url.setdefault(url, make(proxy=url))
    return mounts


class Base(Generic[TransportT, HttpT]):
    """Configuration and connections shared by both shells; builds the engine."""

    _client_cls: ClassVar[Callable[..., Any]]
    _transport_cls: ClassVar[Callable[..., Any]]
    _call_timeout: httpx.Timeout | None = None  # with_options(timeout=...): every call's, over the pool's own

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 4,
        retry: RetryPolicy | None = None,
        transport: TransportT | None = None,
        clock: Clock | None = None,
        allow_insecure_http: bool = False,
        rng: random.Random | None = None,
        inbox: CallbackInbox | None = None,
        rate_limit: float | RequestBudget | None = None,
        prices: StrPath | Mapping[str, Any] | PriceCard | None = None,
        max_spend: float | None = None,
        allow_unknown_price: bool = False,
        price_book: StrPath | PriceBook | None = None,
        journal: StrPath | BaseLedger | None = None,
    ) -> None:
        from .._config import resolve_base_url

        secret = resolve_key(api_key)
        api_key = None  # from here on no frame local holds the bare key (tracebacks with locals)
        protect(secret.reveal())
        self._key: Secret = secret
        self.base_url: str = resolve_base_url(base_url, allow_insecure_http=allow_insecure_http)
        self._timeout: httpx.Timeout = timeout if isinstance(timeout, httpx.Timeout) else _timeout(timeout)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self.callbacks: CallbackInbox = inbox if inbox is not None else CallbackInbox()
        self._core: Core = self._engine(retry if retry is not None else max_retries, rng, rate_limit)
        self._core.tasks.prices, self._core.tasks.spend = money(prices, max_spend, allow_unknown_price)
        self._book: PriceBook | None = learn(self._core, price_book)
        self._journal: Journal | None = open_journal(self._core, journal)
        self._connect(transport)

    def _engine(self, retry: int | RetryPolicy, rng: random.Random | None, rate_limit: object) -> Core:
        from .._engine.core import Core
        from .._engine.decode import Decoder
        from .._engine.loop import Engine
        from .._engine.retry import RetryPolicy

        the_rng = rng if rng is not None else random.Random()
        engine = Engine(
            clock=self._clock,
            retry=retry if isinstance(retry, RetryPolicy) else RetryPolicy(retry, rng=the_rng),
            decoder=Decoder(secrets=frozenset({self._key.reveal()}), now=self._clock.time),
            inbox=self.callbacks,
            rng=the_rng,
            pacer=_budget(rate_limit, self._clock),
        )
        return Core(engine)

    def _connect(self, transport: TransportT | None) -> None:
        """One pool (and one TLS context) for the API, uploads and downloads; proxies from the environment."""
        import_generated_client()
        from apikley_kling_api import AuthenticatedClient  # type: ignore[import-untyped, unused-ignore]

        from .._config import RedactedToken, log_level
        from .._logging import configure

        configure(log_level())

        mounts = _proxy_mounts(self._transport_cls) if transport is None else {}
        common: dict[str, Any] = {
            "timeout": self._timeout,
            "transport": transport if transport is not None else self._transport_cls(),
            "mounts": mounts,
        }
        headers = {"Authorization": f"Bearer {self._key.reveal()}", "User-Agent": f"apikley-kling/{_version}"}
        self._http: HttpT = self._client_cls(base_url=self.base_url, headers=headers, **common)
        self._upload_http: HttpT = self._client_cls(base_url=f"{self.base_url}/file-upload", headers=headers, **common)
        del headers
        # Redirects are followed by downloads.Route, each hop checked; loopback targets only for a loopback API.
        self._dl_http: HttpT = self._client_cls(follow_redirects=False, headers=DOWNLOAD_HEADERS, **common)
        self._loopback_api = is_loopback_url(self.base_url)
        token = RedactedToken(self._key.reveal())
        api = AuthenticatedClient(base_url=self.base_url, token=token, timeout=self._timeout)
        uploads = AuthenticatedClient(base_url=f"{self.base_url}/file-upload", token=token, timeout=self._timeout)
        self._api, self._upload_api = self._attach(api, self._http), self._attach(uploads, self._upload_http)
        # Absolute URLs per path, made once: httpx then skips parsing and joining base_url on every call.
        self._urls: URLs = {}
        self._perform = _performers(self)

    def _attach(self, api: Any, http: HttpT) -> Any:
        if isinstance(http, httpx.AsyncClient):
            return api.set_async_httpx_client(http)
        return api.set_httpx_client(http)

    def _request(self, call: Call) -> tuple[Any, Any, HttpT, dict[str, Any]]:
        """(endpoint module, generated client, httpx client, request arguments) for `call`.

        The generated module builds the request and parses the answer; only the URL is ours, precomputed.
        """
        module = endpoint(call.endpoint)
        kwargs: dict[str, Any] = module.get_kwargs(**call.kwargs)
        if call.options is not None or self._call_timeout is not None:
            apply(kwargs, call.options, self._call_timeout)
        base = f"{self.base_url}/file-upload" if call.upload else self.base_url
        kwargs["url"] = request_url(self._urls, base, kwargs)
        if call.upload:
            return module, self._upload_api, self._upload_http, kwargs
        return module, self._api, self._http, kwargs

    def with_options(self, *, timeout: float | httpx.Timeout | None = None, max_retries: int | None = None) -> Self:
        """A copy of this client with another timeout (seconds, or an httpx.Timeout) and/or max_retries.

        The copy shares this client's connections, rate budget, spend caps and callbacks: closing either closes
        both. The original is unchanged. `kling.with_options(max_retries=0).tasks.get(task_id)`.
        """
        other = copy.copy(self)
        if timeout is not None:
            other._call_timeout = as_timeout(timeout)
        if max_retries is not None:
            other._core = self._core.with_retries(max_retries)
        other._perform = _performers(other)
        other._bind()
        return other

    def _bind(self) -> None:
        """Make the resources (tasks, files, ...) of this client object."""
        raise NotImplementedError

    def _raw(self, target: object) -> Any:
        """`target.with_raw_response`: its methods giving RawResponses (awaitable ones on AsyncKling)."""
        raise NotImplementedError

    @property
    def models(self) -> Models:
        """Every model of the bundled spec: its input fields, types, limits, defaults and required fields."""
        from ..catalog import models

        return models()

    @property
    def spend(self) -> SpendGuard:
        """This client's spending under its caps: max_spend, spent and reserved credits (by the card's estimates)."""
        assert self._core.tasks.spend is not None
        return self._core.tasks.spend

    @property
    def price_book(self) -> PriceBook | None:
        """Where this client learns prices (`price_book=`): what its creates really cost, first over the card."""
        return self._book

    def _record(self, observation: Observation) -> bool:
        """Perform a Record effect: the book's write (blocking here; in a worker thread in AsyncKling)."""
        return self._book.record(observation) if self._book is not None else False

    @property
    def prices(self) -> PriceCard:
        """The rate card this client estimates by (its own `prices=` first, then the bundled one)."""
        assert self._core.tasks.prices is not None
        return self._core.tasks.prices

    def estimate(
        self,
        prompt: str | None = None,
        /,
        *,
        model: str | None = None,
        input: Mapping[str, Any] | None = None,
        image: ImageSource | None = None,
        callback_url: str | None = None,
        **fields: Any,
    ) -> Estimate:
        """What `tasks.create` with these arguments would cost: the price this account was observed to pay
        (`price_book=`), else this client's card (`prices=`, else the bundled one). An Estimate, `credits` None
        when the price is unknown. Checked as a create is; nothing is sent (not awaited on AsyncKling either)."""
        from ..pricing import estimate_plan

        plan = self._plan(prompt, model, input, image, callback_url, fields)
        return estimate_plan(plan, self._core.tasks.prices, self._book.observed if self._book is not None else None)

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
        from ..catalog import plan_create

        if prompt is not None:
            fields = {"prompt": prompt, **fields}
        return plan_create(model=model, input=input, fields=fields, image=image, callback_url=callback_url)

    def _generate(
        self,
        prompt: str | None = None,
        /,
        *,
        output: StrPath,
        model: str | None = None,
        input: Mapping[str, Any] | None = None,
        image: ImageSource | None = None,
        callback_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        on_progress: Callable[[Any], object] | None = None,
        inbox: CallbackInbox | None = None,
        expect_callbacks: bool = False,
        max_credits: float | None = None,
        allow_unknown_price: bool | None = None,
        key: str | None = None,
        resubmit_ambiguous: bool = False,
        **fields: Any,
    ) -> Any:
        """Upload local files + create + wait + download, for any model; on_progress gets Upload/Task/Download events.

        The input is checked (fields, types, limits, local files) before anything is sent; see `tasks.create`.
        max_credits caps this call (SpendLimitExceeded before anything is sent when its estimate is higher, or
        its price unknown unless allow_unknown_price); the client's max_spend applies too.
        key (with `Kling(journal=PATH)`) makes the create durable: a re-run with the same key waits on and
        downloads the task already paid for; one whose answer was lost is AmbiguousSubmit unless
        resubmit_ambiguous=True (which may pay twice); the key used for another request is ConfigurationError.
        """
        plan = self._plan(prompt, model, input, image, callback_url, fields)
        how: dict[str, Any] = {"timeout": timeout, "on_progress": on_progress, "inbox": inbox}
        how.update(expect_callbacks=expect_callbacks, limit=call_limit(max_credits, allow_unknown_price))
        if key is not None:
            op = self._journaled(key).generate(plan, key, output, resubmit=resubmit_ambiguous, **how)
        else:
            op = self._core.generate(plan, output, **how)
        return self._run(op)  # the Task, or (AsyncKling) a coroutine of it

    def _journaled(self, key: str) -> Journal:
        """The client's journal for a keyed call; ConfigurationError when it has none."""
        if self._journal is None:
            raise ConfigurationError(
                f"key={key!r} needs a journal to remember the create across runs: pass Kling(journal=PATH)"
            )
        return self._journal

    def _close_journal(self) -> None:
        if self._journal is not None and self._journal.owned:
            self._journal.ledger.close()
            if self._journal.lock is not None:
                self._journal.lock.close()

    def _run(self, op: Op[T]) -> Any:
        raise NotImplementedError

    def _files(self, work: Callable[[Any], Any], effect: Any) -> Any:
        """Perform one file effect with `work` (blocking here; off the event loop in AsyncKling)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={getattr(self, 'base_url', None)!r})"


def _performers(shell: Base[Any, Any]) -> dict[type, Callable[[Any], Any]]:
    """Which method of a shell performs which effect (file work: `_files`, given each file function)."""
    from .._engine.effects import Call, Emit, Fetch, Record, Sleep, SleepOrWake
    from .files import FILE_WORK

    named = ((Call, "_call"), (Sleep, "_sleep"), (SleepOrWake, "_sleep_or_wake"), (Fetch, "_fetch"), (Emit, "_emit"))
    performers: dict[type, Callable[[Any], Any]] = {kind: getattr(shell, name) for kind, name in named}
    for kind, work in FILE_WORK.items():
        performers[kind] = functools.partial(shell._files, work)
    performers[Record] = functools.partial(shell._files, lambda effect: shell._record(effect.observation))
    return performers


def _timeout(seconds: float | None) -> httpx.Timeout:
    from .._config import default_timeout

    return default_timeout() if seconds is None else httpx.Timeout(seconds)


def _budget(rate_limit: object, clock: Clock) -> RequestBudget | None:
    """rate_limit as a budget: None, a RequestBudget as given, or a positive rate for a local Pacer."""
    from .._engine.schedule import Pacer, RequestBudget

    if rate_limit is None or isinstance(rate_limit, RequestBudget):
        return rate_limit
    if isinstance(rate_limit, (int, float)) and not isinstance(rate_limit, bool) and rate_limit > 0:
        return Pacer(rate_limit, clock.monotonic())
    raise ValueError(
        f"rate_limit: must be a positive number of requests per second or a RequestBudget, not {rate_limit!r}"
    )
