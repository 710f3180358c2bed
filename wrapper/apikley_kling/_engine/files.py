"""File operations: upload (paced like every call), a fresh download URL, and the resumable download."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx

from .._logging import logger
from ..catalog import check_url
from ..downloads import FetchResult, mp4_problem, target_path, temp_path
from ..errors import KlingError, TransportError, ValidationError, error_for_code
from ..events import DownloadProgress, UploadProgress
from ..models import Task
from ..uploads import UPLOAD_PATH, LocalFile, ProgressReader, load_file
from .effects import Call, Emit, Fetch, Op, transport_error
from .loop import Engine
from .retry import Kind, parse_retry_after

__all__ = ["FileOps"]

_EXPIRED = (401, 403, 404, 410)  # a result URL that answers these may have expired: ask for a fresh one, once


class FileOps(Engine):
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
        from ..catalog import models

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

    def download(
        self,
        source: Task | str,
        path: str | os.PathLike[str],
        *,
        on_progress: Callable[[DownloadProgress], object] | None,
        refresh: bool = True,
    ) -> Op[Path]:
        """Stream into `<target>.part`, resuming with Range; the file appears at its name only when whole."""
        task_id, original = _source(source)
        target = target_path(path, task_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(target)
        url, refreshed, attempt = original, not refresh, 0
        try:
            while True:
                offset = tmp.stat().st_size if tmp.exists() else 0
                if on_progress is not None:
                    # Before the first byte: a server may take a while to start sending (the view shows it).
                    yield Emit(on_progress, DownloadProgress(received=offset, total=None))
                err: KlingError
                try:
                    res: FetchResult = yield Fetch(url, tmp, offset, on_progress)
                except httpx.TransportError as exc:
                    err = transport_error(exc, "downloading", task_id)
                else:
                    if res.status in _EXPIRED and not refreshed:
                        logger.info("result URL answered %d: asking for a fresh download URL", res.status)
                        url, refreshed = (yield from self.download_url(original)), True
                        tmp.unlink(missing_ok=True)
                        continue
                    problem = self._fetch_problem(res, tmp, task_id)
                    if problem is None:
                        os.replace(tmp, target)
                        logger.info("downloaded %d bytes", res.written)
                        return target
                    err = problem
                yield from self.wait_to_retry(self.retry.decide(Kind.QUERY, err, attempt), err, attempt, "download")
                attempt += 1
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _fetch_problem(self, res: FetchResult, tmp: Path, task_id: str | None) -> KlingError | None:
        """None when `tmp` now holds the whole video; otherwise why not (a partial file kept only to resume)."""
        if res.status in (200, 206):
            complete = res.total is None or res.written == res.total
            problem = mp4_problem(tmp) if complete else None
            if complete and problem is None:
                return None
            if problem is not None:
                # Complete by its headers but not as a video (cut short with no Content-Length): fetch it again.
                tmp.unlink(missing_ok=True)
                return TransportError(
                    f"download is not a whole MP4 ({problem})", kind="IncompleteBody", task_id=task_id
                )
            if res.total is not None and res.written > res.total:
                tmp.unlink(missing_ok=True)  # more than announced: start over
            return TransportError(
                f"download ended at {res.written} of {res.total} bytes", kind="IncompleteRead", task_id=task_id
            )
        if res.status == 416:
            tmp.unlink(missing_ok=True)  # our partial file is not a prefix any more
            return TransportError("range not satisfiable; restarting", kind="RangeNotSatisfiable", task_id=task_id)
        return error_for_code(res.status)(
            f"download answered HTTP {res.status}",
            status=res.status,
            task_id=task_id,
            excerpt=self.decoder.excerpt(res.excerpt.encode()) or None,
            retry_after=parse_retry_after(res.retry_after, self.clock.time()),
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
