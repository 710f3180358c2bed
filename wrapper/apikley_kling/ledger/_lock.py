"""One runner per output folder for the SQLite ledger: an advisory lock on the folder itself."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class FolderBusy(Exception):
    """Another batch holds this output folder: two runs would resend each other's in-flight creates."""


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an advisory lock for one run; FolderBusy at once (never a wait) if another run holds it.

    `path` is the output folder itself (or, for older callers, a lock file). A folder
    cannot be replaced by a file written into it, so no job's output can swap the
    lock from under a running batch, as a replaced lock file could be.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; one run per folder is then the user's care
        yield
        return
    where = path if path.is_dir() else path.parent
    fd = os.open(path, os.O_RDONLY) if path.is_dir() else os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(f"another `kling batch` is running on {where}") from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
