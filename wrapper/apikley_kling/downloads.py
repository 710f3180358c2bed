"""Result downloads: where to write, and what a fetch reported. The IO itself is in the shells."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final, Self

import httpx

from ._net import host_problem
from ._text import for_terminal
from .errors import UnsafeURL
from .events import DownloadProgress

if TYPE_CHECKING:
    from ._engine.effects import Fetch

__all__ = ["MAX_REDIRECTS", "FetchResult", "Route", "Sink", "expected_total", "mp4_problem", "target_path", "temp_path"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Redirects one fetch follows (each hop checked like the first URL).
MAX_REDIRECTS: Final = 5
_REDIRECTS = (301, 302, 303, 307, 308)


class Route:
    """Where one fetch may go. Every hop (the result URL, each redirect) must be http(s) to a public address,
    checked after DNS resolution on every address the name has, with no step down from https to http;
    loopback only when the API itself is on loopback (the simulator). The shells call check() before each
    GET and follow() on each answer: redirects are followed here, not by httpx.

    Residual risk: the check resolves the name, then httpx resolves it again to connect; a resolver that
    answers differently the second time (DNS rebinding) is not caught. The key is never sent on downloads.
    """

    def __init__(self, url: str, *, allow_loopback: bool) -> None:
        self.url = url
        self._allow_loopback = allow_loopback
        self._hops = 0

    def check(self) -> None:
        """UnsafeURL when the current URL may not be fetched; httpx.ConnectError when its name cannot be resolved
        (a transient failure, retried like any connect error). Blocking: it may ask the resolver."""
        url = httpx.URL(self.url)
        # The name httpx connects to (IDNA 2008, ASCII), not its Unicode form: the system resolver would encode
        # that one by IDNA 2003, where `faß.example` is `fass.example`, another host.
        host = url.raw_host.decode("ascii", "replace")
        if url.scheme not in ("http", "https") or not host:
            raise UnsafeURL(f"download refused: {for_terminal(self.url, 80)} is not an http(s) URL", host=host)
        try:
            problem = host_problem(
                host, url.port or (443 if url.scheme == "https" else 80), allow_loopback=self._allow_loopback
            )
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {for_terminal(host, 80)}: {exc}") from None
        if problem is not None:
            raise UnsafeURL(f"download refused: host {for_terminal(host, 80)} {problem}", host=host)

    def follow(self, status: int, headers: Mapping[str, str]) -> bool:
        """True when the answer is a redirect: `url` is now its target, to check() and fetch next."""
        location = headers.get("location")
        if status not in _REDIRECTS or not location:
            return False
        here = httpx.URL(self.url)
        there = here.join(location)
        self._hops += 1
        if self._hops > MAX_REDIRECTS:
            raise UnsafeURL(f"download refused: more than {MAX_REDIRECTS} redirects", host=there.host)
        if here.scheme == "https" and there.scheme != "https":
            raise UnsafeURL(
                f"download refused: a redirect from https down to {for_terminal(there.scheme, 20)} "
                f"(host {for_terminal(there.host, 80)})",
                host=there.host,
            )
        self.url = str(there)
        return True


def target_path(path: str | os.PathLike[str], task_id: str | None) -> Path:
    """The file to write. A directory (existing, or a name ending in a separator) gets "<task id>.mp4";
    a name is never taken from the URL. Missing parent folders are the caller's to create."""
    p = Path(path)
    if p.is_dir() or os.fspath(path).endswith(("/", os.sep)):
        stem = _SAFE.sub("_", task_id).strip("._") if task_id else ""
        return p / f"{stem or 'kling-video'}.mp4"
    return p


def temp_path(target: Path) -> Path:
    """A temporary name in the target's own directory, so the final rename is atomic."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")


def _box(head: bytes, pos: int, size: int) -> tuple[bytes, int] | str:
    """(type, length) of the ISO BMFF box whose header is `head`, or why it cannot be one."""
    if len(head) < 8:
        return f"{size - pos} stray bytes at the end"
    length, kind = int.from_bytes(head[:4], "big"), head[4:8]
    if not all(chr(c).isalnum() or c in (0x20, 0xA9) for c in kind):  # box types: letters, digits, space, ©
        return f"no box at byte {pos}" if pos else "not an MP4 (no box at the start)"
    if length == 1:  # a 64-bit length follows the type
        if len(head) < 16:
            return f"box {kind.decode()} at byte {pos} is cut short"
        length = int.from_bytes(head[8:16], "big")
    elif length == 0:  # the box runs to the end of the file
        length = size - pos
    if length < 8 or pos + length > size:
        return f"box {kind.decode()} at byte {pos} needs {length} bytes, the file ends {size - pos} bytes later"
    return kind, length


def mp4_problem(path: Path) -> str | None:
    """None when the file is a whole MP4: top-level boxes that account for every byte, `ftyp` first, `moov` among
    them. Else what is wrong: a download cut short (a server that sends no Content-Length and closes early)
    still looks like the start of a video, so only its structure tells."""
    size = path.stat().st_size
    kinds: list[bytes] = []
    with path.open("rb") as f:
        pos = 0
        while pos < size:
            f.seek(pos)
            found = _box(f.read(16), pos, size)
            if isinstance(found, str):
                return found
            kinds.append(found[0])
            pos += found[1]
    if not kinds or kinds[0] != b"ftyp":
        return "not an MP4 (no ftyp box first)"
    if b"moov" not in kinds:
        return "no moov box: the video's index is missing"
    return None


@dataclass(frozen=True)
class FetchResult:
    """What one GET of a result URL did: `written` is the temp file's size afterwards."""

    status: int
    written: int
    total: int | None
    excerpt: str = ""
    retry_after: str | None = None


def expected_total(status: int, offset: int, content_length: str | None, content_range: str | None) -> int | None:
    """The full file size the answer announces (None if it does not say)."""
    if status == 206 and content_range:
        m = re.match(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", content_range.strip())
        if m and m.group(3) != "*":
            return int(m.group(3))
    if content_length is not None and content_length.strip().isdigit():
        length = int(content_length)
        return offset + length if status == 206 else length
    return None


def range_start(content_range: str | None) -> int | None:
    if not content_range:
        return None
    m = re.match(r"bytes\s+(\d+)-", content_range.strip())
    return int(m.group(1)) if m else None


def fetch_plan(status: int, offset: int, headers: dict[str, str]) -> tuple[int, int | None] | None:
    """For a 200/206 answer: (byte to start writing at, expected full size); None if a 206 does not
    start where we asked (then the partial file is useless)."""
    encoded = headers.get("content-encoding", "identity").lower() not in ("", "identity")
    if status == 206:
        start = range_start(headers.get("content-range"))
        if start != offset:
            return None
        total = expected_total(
            status, offset, None if encoded else headers.get("content-length"), headers.get("content-range")
        )
        return offset, total
    total = None if encoded else expected_total(status, 0, headers.get("content-length"), None)
    return 0, total


class Sink:
    """One GET of a result URL into the temp file: the Range to ask, where to write, what it did.

    The shells only move bytes: `with Sink(fetch) as sink` then, on the streamed answer, either
    read a refusal whole (refused) or begin() and write() each chunk; finish() says what happened.
    """

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self.headers = {"Range": f"bytes={fetch.offset}-"} if fetch.offset else {}
        self._file: BinaryIO | None = None
        self._written = fetch.offset
        self._start = 0
        self._total: int | None = None
        self._misplaced = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def refused(status: int) -> bool:
        return status not in (200, 206)

    def begin(self, status: int, headers: Mapping[str, str]) -> bool:
        """True: open() the temp file and write the body. False: a 206 that does not start where we asked (the
        partial file is useless)."""
        plan = fetch_plan(status, self._fetch.offset, dict(headers))
        if plan is None:
            self._misplaced = True
            return False
        start, self._total = plan
        self._written = start
        self._start = start
        return True

    def open(self) -> None:
        """Open the temp file: appended to when resuming, else started afresh (blocking: disk)."""
        self._file = open(self._fetch.path, "ab" if self._start else "wb")  # noqa: SIM115 (closed by close())

    def write(self, chunk: bytes) -> None:
        """store() then count(): one chunk, written as it comes."""
        self.store(chunk)
        self.count(len(chunk))

    def store(self, data: bytes) -> None:
        """Write bytes to the temp file (blocking: disk)."""
        assert self._file is not None
        self._file.write(data)

    def count(self, received: int) -> None:
        """Account for bytes received and report progress (no disk: the async shell calls it on its loop)."""
        self._written += received
        if self._fetch.on_progress is not None:
            self._fetch.on_progress(DownloadProgress(received=self._written, total=self._total))

    def close(self) -> None:
        """Close the temp file, flushing it (blocking: disk)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def finish(self, status: int, headers: Mapping[str, str], content: bytes) -> FetchResult:
        """What the GET did (the file closed first, if still open)."""
        self.close()
        if self.refused(status):
            excerpt = content[:200].decode("utf-8", "replace")
            return FetchResult(status, self._fetch.offset, None, excerpt, headers.get("retry-after"))
        if self._misplaced:
            return FetchResult(416, self._fetch.offset, None)
        return FetchResult(status, self._written, self._total)
