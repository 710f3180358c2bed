"""Stored files: uploads, result videos, the simulator's own URLs and temporary download tokens.

`Base` declares the state the Simulator's parts share (set in `Simulator.__init__`);
`Files` is the part that stores and serves files. Its public methods are part of
the Simulator's API that the routes call (see `Simulator`).
"""

from __future__ import annotations

import mimetypes
import random
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import anyio.to_thread

from apikley_kling.clock import Clock
from apikley_kling.uploads import sniff_type

from ._config import Limits
from ._state import INFINITY, Counters, SimulatedTask, StoredFile
from ._validation import Refused
from ._video import VideoCache


class Base:
    """What every part of the Simulator reads; the values are set by `Simulator.__init__`."""

    clock: Clock
    base_url: str
    counters: Counters
    video_cache: VideoCache
    limits: Limits
    servers: dict[int, Any]
    _lock: threading.RLock
    _rng: random.Random
    _tasks: dict[str, SimulatedTask]
    _files: dict[str, StoredFile]
    _by_path: dict[tuple[str, str], str]
    _tokens: dict[str, tuple[str, float]]
    _hosts: set[str]

    def _new_id(self) -> str:
        return f"{self._rng.getrandbits(48):012x}"

    def _encode(self, task: SimulatedTask) -> bytes:
        before = self.video_cache.encodes
        data = self.video_cache.get(task.image, task.duration, task.size, task.caption, sound=task.sound)
        if self.video_cache.encodes != before:
            self.counters.encodes += 1
        return data


class Files(Base):
    def files(self) -> list[StoredFile]:
        """Every stored file: uploads (`task_id` None) and the results of tasks that succeed."""
        with self._lock:
            return list(self._files.values())

    def result_url(self, task: SimulatedTask) -> str | None:
        """Where the task's video is served (served only once the task has succeeded); None without a result."""
        if task.result_file_id is None:
            return None
        return f"{self.base_url}/sim/files/{task.result_file_id}/{quote(task.task_id)}.mp4"

    def _file_url(self, stored: StoredFile) -> str:
        return f"{self.base_url}/sim/files/{stored.file_id}/{quote(stored.name)}"

    def own_file(self, url: str) -> StoredFile | None:
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
        return self.served_file(segments[3], unquote("/".join(segments[4:])), None)

    def served_file(self, file_id: str, name: str, token: str | None) -> StoredFile | None:
        """The file /sim/files/<file_id>/<name> serves now (with `token`, one a download URL granted), or None."""
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

    def _stored_bytes(self, stored: StoredFile) -> bytes:
        """The file's bytes; a result video is encoded now if it never was."""
        return stored.data if stored.data is not None else self._encode(self._tasks[stored.task_id or ""])

    async def file_bytes(self, stored: StoredFile) -> bytes:
        """The file's bytes; a result video never downloaded is encoded now, in a worker thread."""
        if stored.data is not None:
            return stored.data
        return await anyio.to_thread.run_sync(lambda: self._stored_bytes(stored))

    def download_url(self, url: str) -> str | None:
        """A temporary URL (valid `limits.download_url_ttl`) of a file this simulator serves, else None."""
        stored = self.own_file(url.split("?", 1)[0])
        if stored is None:
            return None
        token = self._new_id() + self._new_id()
        with self._lock:
            self._tokens[token] = (stored.file_id, self.clock.time() + self.limits.download_url_ttl)
        return f"{self._file_url(stored)}?token={token}"

    def _prune(self, now: float) -> None:
        """The retention policy (the Simulator's docstring states it); call with the lock held."""
        for file_id in [f for f, stored in self._files.items() if stored.expired(now)]:
            self._drop_file(file_id)
        for token in [t for t, (_, until) in self._tokens.items() if now >= until]:
            del self._tokens[token]
        limits = self.limits
        gone = limits.result_ttl if limits.result_ttl is not None else INFINITY
        ended = sorted((t.done_at, t.task_id) for t in self._tasks.values() if t.done_at <= now)
        excess = len(self._tasks) - limits.max_tasks
        for i, (done_at, task_id) in enumerate(ended):
            if done_at + gone > now and i >= excess:
                break
            self._drop_task(task_id)
        uploads = sorted((f.created, f.file_id) for f in self._files.values() if f.task_id is None)
        for _, file_id in uploads[: max(0, len(self._files) - limits.max_files)]:
            self._drop_file(file_id)

    def _drop_file(self, file_id: str) -> None:
        stored = self._files.pop(file_id)
        upload_path = stored.path[: -len(stored.name) - 1]
        if self._by_path.get((upload_path, stored.name)) == file_id:
            del self._by_path[(upload_path, stored.name)]

    def _drop_task(self, task_id: str) -> None:
        task = self._tasks.pop(task_id)
        if task.result_file_id is not None:
            self._files.pop(task.result_file_id, None)

    def store_upload(
        self, key: str, data: bytes, upload_path: str, name: str | None, declared: str | None
    ) -> dict[str, Any]:
        """The `data` of an upload answer. Any file up to `limits.upload_max_bytes` is stored, as the generic
        upload API does (else Refused 422); whether a model's field takes it (type and size, from the spec) is
        decided when a create names it. `declared`: the MIME type the client claimed, used when the bytes and
        the name tell nothing."""
        limit = self.limits.upload_max_bytes
        if len(data) > limit:
            raise Refused(422, f"file: larger than {limit} bytes")
        # The bytes first; then the name (what the service keeps) over the part's Content-Type, both the client's word.
        mime = sniff_type(data[:16]) or (mimetypes.guess_type(name)[0] if name else None) or declared
        mime = mime or "application/octet-stream"
        if not name:
            name = self._new_id() + (mimetypes.guess_extension(mime) or ".bin")
        name = name.replace("/", "_")
        now = self.clock.time()
        ttl = self.limits.file_ttl
        expires = now + ttl if ttl is not None else INFINITY
        with self._lock:
            self._prune(now)
            file_id = self._by_path.get((upload_path, name)) or self._new_id()
            self._by_path[(upload_path, name)] = file_id
            stored = StoredFile(file_id, name, f"{upload_path}/{name}", mime, data, now, expires, api_key=key)
            self._files[file_id] = stored
        uploaded = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {
            "fileName": name,
            "filePath": stored.path,
            "downloadUrl": self._file_url(stored),
            "fileSize": len(data),
            "mimeType": mime,
            "uploadedAt": uploaded,
        }
