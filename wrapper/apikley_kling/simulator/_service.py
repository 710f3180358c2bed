"""The Simulator: configuration, state and the operations the routes call."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import heapq
import json
import random
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.types import Scope

from apikley_kling.clock import Clock, SystemClock, VirtualClock

from . import _callbacks as cb
from ._app import build_app
from ._config import GenerationTime, Limits, Money, Timings
from ._create import Creates, Due
from ._faults import FaultPlan
from ._state import Counters, SimulatedTask, TokenBucket
from ._transports import SimAsyncTransport, SimSyncTransport
from ._video import VideoCache

DEFAULT_API_KEY = "sk-sim-local"
# In-process the host is never resolved; it is `localhost` so that the one loopback rule allows plain http.
IN_PROCESS_URL = "http://localhost"
EXTERNAL_IMAGES = ("reject", "placeholder")
# The parts' defaults (set in `config`), as frozen singletons for the signature.
_TIMINGS, _LIMITS, _MONEY = Timings(), Limits(), Money()

__all__ = ["DEFAULT_API_KEY", "IN_PROCESS_URL", "GenerationTime", "Simulator"]


class Simulator(Creates):
    """A stateful stand-in for the Apikley Kling API: every model of the bundled spec.

        Simulator()                                             # the real clock, key "sk-sim-local"
        Simulator(clock=VirtualClock(), api_keys=("sk-mine",))
        Simulator(clock=clock, timings=Timings(generation=90), money=Money(credits=1e9))

    Time comes from `clock`; with a VirtualClock nothing happens until the
    clock moves (`advance()`), so tests of multi-minute generations take
    microseconds. Only `api_keys` (one key or several) are accepted. The configuration comes in three
    parts, each with its defaults and its documentation in `config`: `timings`
    (task phases, failures, callback manners), `limits` (body sizes, rate
    limit, retention) and `money` (balances and prices). Besides them:
    `webhook_key` signs callbacks; `sender` delivers them (default: an httpx
    POST to loopback URLs only); `external_images="placeholder"` accepts any
    image URL (a gradient stands in) instead of a 422; `mirror_http_status`
    makes an error answer's HTTP status follow its code; `seed` seeds every
    random choice (ids, failures, faults); `video_cache` may be shared between
    simulators to encode each clip once.

    The routes (`app`) call only the public methods: `authenticate`,
    `rate_wait`, `create_task`, `record_answer`, `credits`, `download_url`,
    `store_upload`, `own_file`, `served_file`, `file_bytes`; a served simulator
    also `attach_server`, `detach_server` and `abort_connection`. An operation
    that the service would refuse raises `validation.Refused(code, msg)`.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        api_keys: str | Iterable[str] = (DEFAULT_API_KEY,),
        timings: Timings = _TIMINGS,
        limits: Limits = _LIMITS,
        money: Money = _MONEY,
        webhook_key: str | None = None,
        sender: cb.Sender | None = None,
        external_images: str = "reject",
        mirror_http_status: bool = False,
        seed: int = 0,
        base_url: str = IN_PROCESS_URL,
        video_cache: VideoCache | None = None,
    ) -> None:
        if external_images not in EXTERNAL_IMAGES:
            raise ValueError(f"external_images must be 'reject' or 'placeholder', not {external_images!r}")
        self.clock = clock if clock is not None else SystemClock()
        self.api_keys = frozenset((api_keys,) if isinstance(api_keys, str) else api_keys)
        self.timings, self.limits, self.money = timings, limits, money
        self.webhook_key = webhook_key
        self.external_images = external_images
        self.mirror_http_status = mirror_http_status
        self._default_sender = cb.HttpxSender()
        self.sender: cb.Sender = sender if sender is not None else self._default_sender
        self.base_url = base_url.rstrip("/")
        self.video_cache = video_cache if video_cache is not None else VideoCache()
        self.faults = FaultPlan(seed=seed)
        self.counters = Counters()
        self.callback_log: list[cb.DeliveryResult] = []
        self.servers: dict[int, Any] = {}  # port -> the uvicorn server, while served
        self._urls: dict[int | None, str] = {None: self.base_url}  # port (None: in-process) -> URL, oldest first
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._tasks = {}
        self._files = {}
        self._by_path = {}
        self._tokens = {}
        self._balances = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._due = []
        self._seq = 0
        self._id_seq = 0
        self._hosts = {urlsplit(self.base_url).netloc}

    # ----- public surface -------------------------------------------------

    @functools.cached_property
    def app(self) -> Starlette:
        return build_app(self)

    def sync_transport(self) -> httpx.BaseTransport:
        return SimSyncTransport(self.app)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        return SimAsyncTransport(self.app)

    def serve(
        self, host: str = "127.0.0.1", port: int = 0, *, callback_interval: float = 0.05, allow_any_host: bool = False
    ) -> contextlib.AbstractContextManager[str]:
        """Serve on `host:port` (loopback only) in a background thread; the context yields the URL."""
        from ._serve import serve_in_thread

        return serve_in_thread(
            self, host=host, port=port, callback_interval=callback_interval, allow_any_host=allow_any_host
        )

    def set_callback_mode(self, mode: str, *, delay: float = 0.0) -> None:
        """How callbacks of tasks created from now on are delivered (see callbacks.CallbackMode)."""
        self.timings = dataclasses.replace(self.timings, callback_mode=mode, callback_delay=delay)

    def advance(self, seconds: float) -> list[cb.DeliveryResult]:
        """Move the VirtualClock on and deliver the callbacks that fell due."""
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("advance() needs a VirtualClock; a SystemClock moves by itself")
        self.clock.advance(seconds)
        return self.run_due()

    def credits(self, api_key: str = DEFAULT_API_KEY) -> float:
        with self._lock:
            return self._balances.get(api_key, self.money.credits)

    def set_credits(self, api_key: str, amount: float) -> None:
        with self._lock:
            self._balances[api_key] = amount

    def task(self, task_id: str) -> SimulatedTask:
        return self._tasks[task_id]

    def tasks(self) -> list[SimulatedTask]:
        with self._lock:
            return list(self._tasks.values())

    def record(self, task_id: str) -> dict[str, Any]:
        """What recordInfo would answer in `data` for this task now."""
        task = self._tasks[task_id]
        return task.record(self.clock.time(), self.result_url(task))

    def result_video(self, task_id: str) -> bytes:
        """The task's MP4 (encoded now if it was never downloaded)."""
        task = self._tasks[task_id]
        if task.outcome != "success":
            raise ValueError(f"task {task_id} does not succeed")
        return self._encode(task)

    def run_due(self) -> list[cb.DeliveryResult]:
        """Send every callback whose time has come; returns what happened to each."""
        now = self.clock.time()
        batch: list[tuple[float, Due]] = []
        with self._lock:
            while self._due and self._due[0][0] <= now:
                when, _, due = heapq.heappop(self._due)
                batch.append((when, due))
        if not batch:
            return []
        if any(d.mode == "out_of_order" for _, d in batch):
            batch.reverse()
        results = []
        for _, due in batch:
            task = self._tasks.get(due.task_id)
            if task is None or task.callback_url is None:  # None: dropped by the retention policy
                continue
            delivery = cb.build(
                task_id=task.task_id,
                url=task.callback_url,
                record=self.record(task.task_id),
                mode=due.mode,
                webhook_key=self.webhook_key,
                now=now,
            )
            for _ in range(2 if due.mode == "twice" else 1):
                results.append(self._deliver(delivery))
        return results

    def pending_callbacks(self) -> int:
        """How many callbacks are scheduled and not sent yet."""
        with self._lock:
            return len(self._due)

    def close(self) -> None:
        self._default_sender.close()

    # ----- called by the routes -------------------------------------------

    def authenticate(self, header: str | None) -> str | None:
        """The API key an Authorization header carries ("Bearer <key>"), if this simulator accepts it."""
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or key not in self.api_keys:
            return None
        return key

    def rate_wait(self, key: str) -> float:
        """0.0 when `key` may make a request now (counted), else the seconds until it may (a 429's Retry-After)."""
        rate = self.limits.rate
        if rate is None:
            return 0.0
        now = self.clock.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                burst = self.limits.burst if self.limits.burst is not None else max(1.0, rate)
                bucket = self._buckets[key] = TokenBucket(rate, burst, now)
            wait = bucket.take(now)
            if wait > 0:
                self.counters.rate_limited[key] += 1
            return wait

    def record_answer(self, key: str, task_id: str) -> bytes | None:
        """The whole recordInfo success envelope, serialised; None when the key has no such task."""
        task = self._tasks.get(task_id)
        if task is None or task.api_key != key:
            return None
        now = self.clock.time()
        cached = task.cached
        if cached is not None and cached[0] <= now < cached[1] and cached[2] == self.base_url:
            return cached[3]
        record = task.record(now, self.result_url(task))
        body = json.dumps({"code": 200, "msg": "success", "data": record}, ensure_ascii=False, separators=(",", ":"))
        start, end = task.phase_span(now)
        task.cached = (start, end, self.base_url, body.encode())
        return task.cached[3]

    def _deliver(self, delivery: cb.Delivery) -> cb.DeliveryResult:
        try:
            status = self.sender(delivery)
        except cb.LoopbackRefused as exc:
            self.counters.callbacks_refused[delivery.task_id] += 1
            result = cb.DeliveryResult(delivery, None, str(exc))
        except Exception as exc:  # a receiver that is down must not stop the others
            result = cb.DeliveryResult(delivery, None, f"{type(exc).__name__}: {exc}")
        else:
            self.counters.callbacks_sent[delivery.task_id] += 1
            result = cb.DeliveryResult(delivery, status)
        with self._lock:
            self.callback_log.append(result)
        return result

    # ----- served mode ------------------------------------------------------

    def attach_server(self, port: int, server: Any, url: str) -> None:
        """`server` (uvicorn) serves this simulator at `url` from now on: the base URL of the files it hands out."""
        with self._lock:
            self.servers[port] = server
            self._urls[port] = url
            self._hosts.add(urlsplit(url).netloc)
            self._hosts.add(f"localhost:{port}")
            self.base_url = url

    def detach_server(self, port: int) -> None:
        """The server on `port` stopped: the base URL is the latest server's still running, else the in-process one."""
        with self._lock:
            self.servers.pop(port, None)
            self._urls.pop(port, None)
            self.base_url = list(self._urls.values())[-1]

    def abort_connection(self, scope: Scope) -> bool:
        """Close the socket of the request `scope` describes when served by uvicorn; False in-process."""
        server = scope.get("server")
        found = self.servers.get(server[1]) if server else None
        if found is None:
            return False
        client = tuple(scope.get("client") or ())
        for protocol in list(found.server_state.connections):
            if tuple(getattr(protocol, "client", None) or ()) == client:
                protocol.transport.abort()
                return True
        return False
