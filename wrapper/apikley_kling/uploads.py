"""Local images: type sniffed from the bytes, size checked, before anything is sent."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import ValidationError
from .events import UploadProgress

__all__ = ["UPLOAD_PATH", "ImageFile", "ProgressReader", "load_image", "sniff_image_type"]

UPLOAD_PATH = "apikley-kling/images"  # no leading or trailing slash, as the upload API asks

_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


def sniff_image_type(head: bytes) -> str | None:
    """The MIME type the magic bytes say (jpeg, png, webp), else None. The extension is never trusted."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class ImageFile:
    content: bytes
    mime_type: str
    file_name: str

    def __repr__(self) -> str:
        return f"ImageFile({self.file_name!r}, {self.mime_type}, {len(self.content)} bytes)"


def load_image(
    source: str | os.PathLike[str] | bytes,
    *,
    accepted: tuple[str, ...],
    max_bytes: int,
    file_name: str | None = None,
    field: str = "image",
) -> ImageFile:
    """Read and check a local image (or bytes) against the spec's accepted types and size limit."""
    if isinstance(source, bytes):
        content = source
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise ValidationError(f"{field}: cannot read {path.name!r}: {exc.strerror}", field=field) from None
        if not path.is_file():
            raise ValidationError(f"{field}: {path.name!r} is not a file", field=field)
        if size > max_bytes:
            raise ValidationError(f"{field}: {size} bytes is over the limit of {max_bytes} bytes", field=field)
        content = path.read_bytes()
    if len(content) > max_bytes:
        raise ValidationError(f"{field}: {len(content)} bytes is over the limit of {max_bytes} bytes", field=field)
    if not content:
        raise ValidationError(f"{field}: the image is empty", field=field)
    mime = sniff_image_type(content[:16])
    if mime is None or mime not in accepted:
        what = mime or "not a recognised image"
        raise ValidationError(f"{field}: {what}; accepted types are {', '.join(accepted)}", field=field)
    # A random name: on the service the same fileName overwrites, and local names collide.
    name = file_name or f"{uuid.uuid4().hex}{_EXTENSIONS.get(mime, '')}"
    return ImageFile(content=content, mime_type=mime, file_name=name)


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
