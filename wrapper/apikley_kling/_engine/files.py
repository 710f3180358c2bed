"""File operations: upload (paced like every call), a fresh download URL, and the resumable download.

Every touch of the disk is an effect (ReadFile, Target, FileSize, CheckMp4, Rename, Remove) the shell performs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from .._logging import logger
from ..catalog import check_url
from ..downloads import FetchResult, temp_path
from ..errors import KlingError, TransportError, ValidationError, error_for_code
from ..events import DownloadProgress, UploadProgress
from ..models import Task
from ..uploads import UPLOAD_PATH, LocalFile, ProgressReader, check_content
from .effects import (
    Call,
    CheckMp4,
    Emit,
    Fetch,
    FileSize,
    Op,
    ReadFile,
    Remove,
    Rename,
    RequestOptions,
    Target,
    transport_error,
)
from .loop import Engine
from .retry import Kind, parse_retry_after

__all__ = ["FileOps"]

_EXPIRED = (401, 403, 404, 410)  # a result URL that answers these may have expired: ask for a fresh one, once


@dataclass
class FileOps:
    """Uploads and downloads, on the engine's request loop and retry rules."""

    engine: Engine

    def download_url(self, url: str, options: RequestOptions | None = None) -> Op[str]:
        from apikley_kling_api.models import DownloadUrlRequest  # type: ignore[import-untyped, unused-ignore]

        check_url(url, "url")
        body = DownloadUrlRequest(url=url)
        if options is not None and options.extra_body:
            options = replace(options, json={**body.to_dict(), **options.extra_body})
        call = Call("get_download_url", {"body": body}, options=options)
        fresh: str = yield from self.engine.request(call, self.engine.decoder.download_url)
        return fresh

    def upload(
        self,
        source: str | os.PathLike[str] | bytes,
        *,
        file_name: str | None = None,
        on_progress: Callable[[UploadProgress], object] | None = None,
        options: RequestOptions | None = None,
    ) -> Op[str]:
        """Upload any file that some model's file field takes (type and size checked first)."""
        from ..catalog import models

        rules = [f.file for m in models().values() for f in m.file_fields if f.file is not None]
        accepted = tuple(dict.fromkeys(t for r in rules for t in r.accepted_types))
        sizes = [r.max_bytes for r in rules if r.max_bytes is not None]
        limit = max(sizes) if sizes else None
        try:
            content = source if isinstance(source, bytes) else (yield ReadFile(source, limit))
            local = check_content(content, accepted, limit, file_name=file_name)
        except ValueError as exc:
            raise ValidationError(f"file: {exc}", field="file") from None
        return (yield from self.upload_file(local, on_progress, options))

    def upload_file(
        self,
        local: LocalFile,
        on_progress: Callable[[UploadProgress], object] | None,
        options: RequestOptions | None = None,
    ) -> Op[str]:
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
            return Call("upload_file_stream", {"body": body}, upload=True, options=options)

        url: str = yield from self.engine.request(call, self.engine.decoder.upload)
        logger.debug("uploaded %d bytes", len(local.content))
        return url

    def download(
        self,
        source: Task | str,
        path: str | os.PathLike[str],
        *,
        on_progress: Callable[[DownloadProgress], object] | None,
        refresh: bool = True,
        timeout: float | httpx.Timeout | None = None,
    ) -> Op[Path]:
        """Stream into `<target>.part`, resuming with Range; the file appears at its name only when whole."""
        task_id, original = _source(source)
        target: Path = yield Target(path, task_id)
        tmp = temp_path(target)
        url, refreshed, attempt = original, not refresh, 0
        try:
            while True:
                offset: int = yield FileSize(tmp)
                if on_progress is not None:
                    # Before the first byte: a server may take a while to start sending (the view shows it).
                    yield Emit(on_progress, DownloadProgress(received=offset, total=None))
                err: KlingError
                try:
                    res: FetchResult = yield Fetch(url, tmp, offset, on_progress, timeout)
                except httpx.TransportError as exc:
                    err = transport_error(exc, "downloading", task_id)
                else:
                    if res.status in _EXPIRED and not refreshed:
                        logger.info("result URL answered %d: asking for a fresh download URL", res.status)
                        url, refreshed = (yield from self.download_url(original)), True
                        yield Remove(tmp)
                        continue
                    problem = yield from self._fetch_problem(res, tmp, task_id)
                    if problem is None:
                        yield Rename(tmp, target)
                        logger.info("downloaded %d bytes", res.written)
                        return target
                    err = problem
                decision = self.engine.retry.decide(Kind.QUERY, err, attempt)
                yield from self.engine.wait_to_retry(decision, err, attempt, "download")
                attempt += 1
        except GeneratorExit:  # closed unfinished: no effect may be asked any more (the shells never do this)
            raise
        except BaseException:
            yield Remove(tmp)  # the shells throw every failure in, KeyboardInterrupt and cancellation too
            raise

    def _fetch_problem(self, res: FetchResult, tmp: Path, task_id: str | None) -> Op[KlingError | None]:
        """None when `tmp` now holds the whole video; otherwise why not (a partial file kept only to resume)."""
        if res.status in (200, 206):
            complete = res.total is None or res.written == res.total
            problem: str | None = (yield CheckMp4(tmp)) if complete else None
            if complete and problem is None:
                return None
            if problem is not None:
                # Complete by its headers but not as a video (cut short with no Content-Length): fetch it again.
                yield Remove(tmp)
                return TransportError(
                    f"download is not a whole MP4 ({problem})", kind="IncompleteBody", task_id=task_id
                )
            if res.total is not None and res.written > res.total:
                yield Remove(tmp)  # more than announced: start over
            return TransportError(
                f"download ended at {res.written} of {res.total} bytes", kind="IncompleteRead", task_id=task_id
            )
        if res.status == 416:
            yield Remove(tmp)  # our partial file is not a prefix any more
            return TransportError("range not satisfiable; restarting", kind="RangeNotSatisfiable", task_id=task_id)
        return error_for_code(res.status)(
            f"download answered HTTP {res.status}",
            status=res.status,
            task_id=task_id,
            excerpt=self.engine.decoder.excerpt(res.excerpt.encode()) or None,
            retry_after=parse_retry_after(res.retry_after, self.engine.clock.time()),
        )


def _source(source: Task | str) -> tuple[str | None, str]:
    """(task id or None, the URL to fetch) of what download() was given."""
    if isinstance(source, Task):
        if not source.result_urls:
            raise KlingError(f"task has no result URL to download (state {source.state.value})", task_id=source.id)
        url, task_id = source.result_urls[0], source.id
    else:
        url, task_id = source, None
    check_url(url, "url")
    return task_id, url
