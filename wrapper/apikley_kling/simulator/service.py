"""The Simulator: configuration, state and the operations the routes call."""

from __future__ import annotations

import contextlib
import functools
import heapq
import json
import random
import threading
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.types import Scope

from apikley_kling.clock import Clock, SystemClock, VirtualClock

from . import callbacks as cb
from .app import build_app
from .create import Creates, Due, GenerationTime
from .faults import FaultPlan
from .state import Counters, Task, TokenBucket
from .transports import SimAsyncTransport, SimSyncTransport
from .video import VideoCache

DEFAULT_API_KEY = "sk-sim-local"
# In-process the host is never resolved; it is `localhost` so that the one loopback rule allows plain http.
IN_PROCESS_URL = "http://localhost"

_DAY = 86_400.0

__all__ = ["DEFAULT_API_KEY", "IN_PROCESS_URL", "GenerationTime", "Simulator"]


class Simulator(Creates):
    """A stateful stand-in for the Apikley Kling API: every model of the bundled spec.

    Time comes from `clock`; with a VirtualClock nothing happens until the
    clock moves (`advance()`), so tests of multi-minute generations take
    microseconds.

    Credits: the provider's pages state no prices, so a task costs
    `credits_per_second` times the seconds of video it asks for (the model's
    length field, else 5 s), whatever the model; the default, 5 credits a
    second, keeps 25 for the default model's 5 s clip.

    Limits, enforced before a body is read (on Content-Length, then on the
    running count as it streams): JSON requests `json_max_bytes` (1 MiB), file
    uploads `upload_max_bytes` (the spec's "about 100 MB"), a base64 upload the
    base64 size of that. Retention, applied at each create and upload: an upload
    goes `file_ttl` after it arrived (3 days), a task and its video `result_ttl`
    after it ended (1 day; recordInfo then answers as for an unknown task),
    expired download tokens go; past `max_tasks` ended tasks or `max_files`
    uploads (10,000 each) the oldest go first. Running tasks are never dropped.
    """

    @property
    def base64_max_bytes(self) -> int:
        """A base64 upload's JSON may carry the base64 of upload_max_bytes (4 bytes per 3), plus its fields."""
        return 4 * -(-self.upload_max_bytes // 3) + 64 * 1024

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        api_keys: tuple[str, ...] | list[str] = (DEFAULT_API_KEY,),
        credits: float = 1000.0,
        webhook_key: str | None = None,
        credits_per_second: float = 5.0,
        waiting_time: float = 1.0,
        queuing_time: float = 3.0,
        generation_time: GenerationTime = 20.0,
        fail_probability: float = 0.0,
        mirror_http_status: bool = False,
        rate_limit: float | None = None,
        rate_burst: float | None = None,
        file_ttl: float | None = 3 * _DAY,
        result_ttl: float | None = _DAY,
        download_url_ttl: float = 20 * 60.0,
        upload_max_bytes: int = 100 * 1024 * 1024,
        json_max_bytes: int = 1024 * 1024,
        max_tasks: int = 10_000,
        max_files: int = 10_000,
        external_images: str = "reject",
        callback_mode: str = "normal",
        callback_delay: float = 0.0,
        sender: cb.Sender | None = None,
        seed: int = 0,
        base_url: str = IN_PROCESS_URL,
        video_cache: VideoCache | None = None,
    ) -> None:
        if external_images not in ("reject", "placeholder"):
            raise ValueError(f"external_images must be 'reject' or 'placeholder', not {external_images!r}")
        self.clock = clock if clock is not None else SystemClock()
        self.api_keys = frozenset(api_keys)
        self.initial_credits = credits
        self.webhook_key = webhook_key
        self.credits_per_second = credits_per_second
        self.waiting_time = waiting_time
        self.queuing_time = queuing_time
        self.generation_time = generation_time
        self.fail_probability = fail_probability
        self.mirror_http_status = mirror_http_status
        self.rate_limit = rate_limit
        self.rate_burst = rate_burst
        self.file_ttl = file_ttl
        self.result_ttl = result_ttl
        # "valid for 20 minutes" is prose in the spec's download-url description, not a schema value.
        self.download_url_ttl = download_url_ttl
        # "files up to about 100 MB" likewise comes from the url-upload description.
        self.upload_max_bytes = upload_max_bytes
        # The spec states no limit for a JSON request; 1 MiB is far above any model's fields.
        self.json_max_bytes = json_max_bytes
        self.max_tasks = max_tasks
        self.max_files = max_files
        self.external_images = external_images
        self.set_callback_mode(callback_mode, delay=callback_delay)
        self._default_sender = cb.HttpxSender()
        self.sender: cb.Sender = sender if sender is not None else self._default_sender
        self.base_url = base_url.rstrip("/")
        self.video_cache = video_cache if video_cache is not None else VideoCache()

        self.faults = FaultPlan(seed=seed)
        self.counters = Counters()
        self.callback_log: list[cb.DeliveryResult] = []
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
        self._servers = {}

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
        from .serve import serve_in_thread

        return serve_in_thread(
            self, host=host, port=port, callback_interval=callback_interval, allow_any_host=allow_any_host
        )

    def set_callback_mode(self, mode: str, *, delay: float = 0.0) -> None:
        """How callbacks of tasks created from now on are delivered (see callbacks.CallbackMode)."""
        if mode not in cb.CALLBACK_MODES:
            raise ValueError(f"unknown callback mode {mode!r}; known: {', '.join(cb.CALLBACK_MODES)}")
        self.callback_mode = mode
        self.callback_delay = delay

    def advance(self, seconds: float) -> list[cb.DeliveryResult]:
        """Move the VirtualClock on and deliver the callbacks that fell due."""
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("advance() needs a VirtualClock; a SystemClock moves by itself")
        self.clock.advance(seconds)
        return self.run_due()

    def credits(self, api_key: str = DEFAULT_API_KEY) -> float:
        with self._lock:
            return self._balances.get(api_key, self.initial_credits)

    def set_credits(self, api_key: str, amount: float) -> None:
        with self._lock:
            self._balances[api_key] = amount

    def task(self, task_id: str) -> Task:
        return self._tasks[task_id]

    def tasks(self) -> list[Task]:
        with self._lock:
            return list(self._tasks.values())

    def record(self, task_id: str) -> dict[str, Any]:
        """What recordInfo would answer in `data` for this task now."""
        task = self._tasks[task_id]
        return task.record(self.clock.time(), self._result_url(task))

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

    def close(self) -> None:
        self._default_sender.close()

    # ----- used by the routes ---------------------------------------------

    def _authenticate(self, header: str | None) -> str | None:
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or key not in self.api_keys:
            return None
        return key

    def _rate_wait(self, key: str) -> float:
        if self.rate_limit is None:
            return 0.0
        now = self.clock.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                burst = self.rate_burst if self.rate_burst is not None else max(1.0, self.rate_limit)
                bucket = self._buckets[key] = TokenBucket(self.rate_limit, burst, now)
            wait = bucket.take(now)
            if wait > 0:
                self.counters.rate_limited[key] += 1
            return wait

    def _record_answer(self, key: str, task_id: str) -> bytes | None:
        """The whole recordInfo success envelope, serialised; None when the key has no such task."""
        task = self._tasks.get(task_id)
        if task is None or task.api_key != key:
            return None
        now = self.clock.time()
        cached = task.cached
        if cached is not None and cached[0] <= now < cached[1] and cached[2] == self.base_url:
            return cached[3]
        record = task.record(now, self._result_url(task))
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

    def _attach(self, port: int, server: Any, url: str) -> None:
        with self._lock:
            self._servers[port] = server
            self._hosts.add(urlsplit(url).netloc)
            self._hosts.add(f"localhost:{port}")
            self._in_process_url = self.base_url
            self.base_url = url

    def _detach(self, port: int) -> None:
        with self._lock:
            self._servers.pop(port, None)
            if not self._servers:
                self.base_url = getattr(self, "_in_process_url", self.base_url)

    def _abort_connection(self, scope: Scope) -> bool:
        """Close the client's socket when served by uvicorn; False in-process."""
        server = scope.get("server")
        found = self._servers.get(server[1]) if server else None
        if found is None:
            return False
        client = tuple(scope.get("client") or ())
        for protocol in list(found.server_state.connections):
            if tuple(getattr(protocol, "client", None) or ()) == client:
                protocol.transport.abort()
                return True
        return False
