"""The Simulator: configuration, state and the operations the routes call."""

from __future__ import annotations

import contextlib
import functools
import heapq
import json
import mimetypes
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.types import Scope

from apikley_kling._spec import create_limits
from apikley_kling.clock import Clock, SystemClock, VirtualClock

from . import callbacks as cb
from .app import Answer, build_app, run_sync
from .faults import Fault, FaultPlan
from .state import INFINITY, Counters, StoredFile, Task, TokenBucket
from .transports import SimAsyncTransport, SimSyncTransport
from .video import VideoCache

DEFAULT_API_KEY = "sk-sim-local"
IN_PROCESS_URL = "http://sim.localhost"

# A generation time: seconds, or a function of (video seconds, seeded RNG) for a distribution.
GenerationTime = float | Callable[[int, random.Random], float]

_DAY = 86_400.0


@dataclass
class _Due:
    task_id: str
    mode: str
    delay: float


class Simulator:
    """A stateful stand-in for the Apikley Kling v2.1 Standard API.

    Time comes from `clock`; with a VirtualClock nothing happens until the
    clock moves (`advance()`), so tests of multi-minute generations take
    microseconds.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        api_keys: tuple[str, ...] | list[str] = (DEFAULT_API_KEY,),
        credits: float = 1000.0,
        webhook_key: str | None = None,
        cost_per_second: float = 5.0,
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
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.api_keys = frozenset(api_keys)
        self.initial_credits = credits
        self.webhook_key = webhook_key
        self.cost_per_second = cost_per_second
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
        self._limits = create_limits()
        self._tasks: dict[str, Task] = {}
        self._files: dict[str, StoredFile] = {}
        self._by_path: dict[tuple[str, str], str] = {}
        self._tokens: dict[str, tuple[str, float]] = {}
        self._balances: dict[str, float] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._due: list[tuple[float, int, _Due]] = []
        self._seq = 0
        self._hosts = {urlsplit(self.base_url).netloc}
        self._servers: dict[int, Any] = {}

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
        batch: list[tuple[float, _Due]] = []
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
            task = self._tasks[due.task_id]
            if task.callback_url is None:
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

    def _create_task(self, key: str, body: dict[str, Any], fault: Fault | None) -> str | Answer:
        inp: dict[str, Any] = body["input"]
        image_url: str = inp["image_url"]
        image: bytes | None
        own = self._own_file(image_url)
        if own is None:
            if self.external_images == "reject":
                return Answer(422, "input.image_url: cannot fetch (not a file this simulator serves, or expired)")
            image = None
        else:
            if own.mime not in self._limits.image_types:
                accepted = ", ".join(self._limits.image_types)
                return Answer(422, f"input.image_url: unsupported type {own.mime} (accepted: {accepted})")
            image = own.data or b""
            if len(image) > self._limits.image_max_bytes:
                return Answer(422, f"input.image_url: larger than {self._limits.image_max_bytes} bytes")
        duration = int(inp.get("duration", self._limits.default_duration))
        cost = self.cost_per_second * duration
        param = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            balance = self._balances.get(key, self.initial_credits)
            if balance < cost:
                return Answer(402, f"Insufficient credits: {cost:g} needed, {balance:g} left")
            self._balances[key] = balance - cost
            now = self.clock.time()
            task_id = self._new_task_id(now)
            gen = self.generation_time
            gen_s = gen(duration, self._rng) if callable(gen) else gen
            outcome, fail_code, fail_msg = "success", None, None
            done = now + self.waiting_time + self.queuing_time + gen_s
            if fault is not None and fault.kind == "stuck":
                done = INFINITY
            elif (fault is not None and fault.kind == "fail") or (
                self.fail_probability and self._rng.random() < self.fail_probability
            ):
                outcome = "fail"
                fail_code = fault.fail_code if fault else "500"
                fail_msg = fault.fail_msg if fault else "Internal server error"
            task = Task(
                task_id=task_id,
                api_key=key,
                model=body["model"],
                param=param,
                image=image,
                duration=duration,
                callback_url=body.get("callBackUrl"),
                created=now,
                queued_at=now + self.waiting_time,
                generating_at=now + self.waiting_time + self.queuing_time,
                done_at=done,
                outcome=outcome,
                fail_code=fail_code,
                fail_msg=fail_msg,
            )
            if outcome == "success" and done != INFINITY:
                expires = done + self.result_ttl if self.result_ttl is not None else INFINITY
                result = StoredFile(
                    file_id=self._new_id(),
                    name=f"{task_id}.mp4",
                    path=f"results/{task_id}.mp4",
                    mime="video/mp4",
                    data=None,
                    created=done,
                    expires=expires,
                    task_id=task_id,
                    api_key=key,
                )
                self._files[result.file_id] = result
                task.result_file_id = result.file_id
            self._tasks[task_id] = task
            self.counters.tasks_created[key] += 1
            self.counters.credits_spent[key] += cost
            if task.callback_url and done != INFINITY and self.callback_mode != "never":
                delay = 0.0
                if self.callback_mode == "late":
                    delay = self.callback_delay
                elif self.callback_mode == "out_of_order" and self.callback_delay:
                    # A random hold lets a later task's callback overtake an earlier one's.
                    delay = self._rng.uniform(0.0, self.callback_delay)
                self._seq += 1
                heapq.heappush(self._due, (done + delay, self._seq, _Due(task_id, self.callback_mode, delay)))
        return task_id

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

    def _result_url(self, task: Task) -> str | None:
        if task.result_file_id is None:
            return None
        return f"{self.base_url}/sim/files/{task.result_file_id}/{quote(task.task_id)}.mp4"

    def _file_url(self, stored: StoredFile) -> str:
        return f"{self.base_url}/sim/files/{stored.file_id}/{quote(stored.name)}"

    def _own_file(self, url: str) -> StoredFile | None:
        """The stored, unexpired, available file that `url` names, if this simulator made it."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or parts.netloc not in self._hosts:
            return None
        segments = parts.path.split("/")
        if len(segments) < 5 or segments[1:3] != ["sim", "files"]:
            return None
        return self._served_file(segments[3], unquote("/".join(segments[4:])), None)

    def _served_file(self, file_id: str, name: str, token: str | None) -> StoredFile | None:
        now = self.clock.time()
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None or stored.name != name or stored.expired(now):
                return None
            if stored.task_id is not None and self._tasks[stored.task_id].state_at(now) != "success":
                return None
            if token is not None:
                granted = self._tokens.get(token)
                if granted is None or granted[0] != file_id or now >= granted[1]:
                    return None
            return stored

    def _temporary_url(self, url: str) -> str | None:
        stored = self._own_file(url.split("?", 1)[0])
        if stored is None:
            return None
        token = self._new_id() + self._new_id()
        with self._lock:
            self._tokens[token] = (stored.file_id, self.clock.time() + self.download_url_ttl)
        return f"{self._file_url(stored)}?token={token}"

    def _store_upload(self, key: str, data: bytes, upload_path: str, name: str | None, declared: str | None) -> Answer:
        if len(data) > self.upload_max_bytes:
            return Answer(422, f"file: larger than {self.upload_max_bytes} bytes")
        mime = _sniff(data) or declared or (mimetypes.guess_type(name)[0] if name else None)
        mime = mime or "application/octet-stream"
        if not name:
            name = self._new_id() + (mimetypes.guess_extension(mime) or ".bin")
        name = name.replace("/", "_")
        now = self.clock.time()
        expires = now + self.file_ttl if self.file_ttl is not None else INFINITY
        with self._lock:
            file_id = self._by_path.get((upload_path, name)) or self._new_id()
            self._by_path[(upload_path, name)] = file_id
            stored = StoredFile(file_id, name, f"{upload_path}/{name}", mime, data, now, expires, api_key=key)
            self._files[file_id] = stored
        uploaded = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return Answer(
            200,
            "File uploaded successfully",
            {
                "fileName": name,
                "filePath": stored.path,
                "downloadUrl": self._file_url(stored),
                "fileSize": len(data),
                "mimeType": mime,
                "uploadedAt": uploaded,
            },
        )

    async def _file_bytes(self, stored: StoredFile) -> bytes:
        if stored.data is not None:
            return stored.data
        task = self._tasks[stored.task_id or ""]
        return await run_sync(lambda: self._encode(task))

    def _encode(self, task: Task) -> bytes:
        before = self.video_cache.encodes
        data = self.video_cache.get(task.image, task.duration)
        if self.video_cache.encodes != before:
            self.counters.encodes += 1
        return data

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

    def _new_id(self) -> str:
        return f"{self._rng.getrandbits(48):012x}"

    def _new_task_id(self, now: float) -> str:
        base = f"task_kling_{int(now * 1000)}"
        task_id = base
        while task_id in self._tasks:
            task_id = f"{base}{self._rng.randrange(1000):03d}"
        return task_id

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


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return None
