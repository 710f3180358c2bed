"""Local files: type sniffed from the bytes, size checked, before anything is sent."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .events import UploadProgress

__all__ = [
    "UPLOAD_PATH",
    "LocalFile",
    "ProgressReader",
    "check_content",
    "load_file",
    "read_local",
    "sniff_type",
]

UPLOAD_PATH = "apikley-kling/images"  # no leading or trailing slash, as the upload API asks

_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/aac": ".aac",
    "audio/ogg": ".ogg",
    "audio/mp4": ".m4a",
    "video/mp4": ".mp4",
}
# Names the pages use for the same type.
_ALIASES = {"audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/mp3": "audio/mpeg", "image/jpg": "image/jpeg"}


def sniff_type(head: bytes) -> str | None:
    """The MIME type the magic bytes say (the first 16 are enough), else None. The extension is never trusted.

    An MP4 container (`ftyp`) is reported as video/mp4; a field that takes audio/mp4 accepts it too.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF":
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav"}.get(head[8:12])
    if head.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")):
        return "audio/mpeg"
    if head.startswith((b"\xff\xf1", b"\xff\xf9")):
        return "audio/aac"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if len(head) >= 8 and head[4:8] == b"ftyp":
        return "video/mp4"
    return None


def _accepts(accepted: tuple[str, ...], mime: str) -> bool:
    wanted = {_ALIASES.get(t, t) for t in accepted}
    return mime in wanted or (mime == "video/mp4" and "audio/mp4" in wanted)


@dataclass(frozen=True)
class LocalFile:
    content: bytes
    mime_type: str
    file_name: str

    def __repr__(self) -> str:
        return f"LocalFile({self.file_name!r}, {self.mime_type}, {len(self.content)} bytes)"


def _kinds(accepted: tuple[str, ...]) -> str:
    return ", ".join(accepted)


def load_file(
    source: str | os.PathLike[str] | bytes,
    accepted: tuple[str, ...],
    max_bytes: int | None,
    *,
    file_name: str | None = None,
) -> LocalFile:
    """Read and check a local file (or bytes) against a field's accepted types and size; ValueError says why not."""
    content = source if isinstance(source, bytes) else read_local(source, max_bytes)
    return check_content(content, accepted, max_bytes, file_name=file_name)


def read_local(source: str | os.PathLike[str], max_bytes: int | None) -> bytes:
    """The bytes of a local file, its size checked before it is read; ValueError says why not (the IO half)."""
    path = Path(source).expanduser()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ValueError(f"cannot read {path.name!r}: {exc.strerror}") from None
    if not path.is_file():
        raise ValueError(f"{path.name!r} is not a file")
    if max_bytes is not None and size > max_bytes:
        raise ValueError(f"{size} bytes is over the limit of {max_bytes} bytes")
    return path.read_bytes()


def check_content(
    content: bytes, accepted: tuple[str, ...], max_bytes: int | None, *, file_name: str | None = None
) -> LocalFile:
    """A file's bytes checked against accepted types and size, named; ValueError says why not (no IO)."""
    if max_bytes is not None and len(content) > max_bytes:
        raise ValueError(f"{len(content)} bytes is over the limit of {max_bytes} bytes")
    if not content:
        raise ValueError("the file is empty")
    mime = sniff_type(content[:16])
    if mime is None or not _accepts(accepted, mime):
        raise ValueError(f"{mime or 'not a recognised file type'}; accepted types are {_kinds(accepted)}")
    # A random name: on the service the same fileName overwrites, and local names collide.
    name = file_name or f"{uuid.uuid4().hex}{_EXTENSIONS.get(mime, '')}"
    return LocalFile(content=content, mime_type=mime, file_name=name)


class ProgressReader(io.BytesIO):
    """A BytesIO that reports how much httpx has read from it (multipart bodies are read in chunks)."""

    def __init__(self, content: bytes, on_progress: Callable[[UploadProgress], object] | None) -> None:
        super().__init__(content)
        self._total = len(content)
        self._on_progress = on_progress

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        if self._on_progress is not None and chunk:
            self._on_progress(UploadProgress(sent=self.tell(), total=self._total))
        return chunk
