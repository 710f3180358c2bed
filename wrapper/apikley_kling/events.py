"""Progress events passed to `on_progress` / `on_update` callables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Task

__all__ = ["DownloadProgress", "ProgressEvent", "TaskUpdate", "UploadProgress"]


@dataclass(frozen=True)
class UploadProgress:
    sent: int
    total: int | None


@dataclass(frozen=True)
class TaskUpdate:
    """A task query's answer during a wait; `elapsed` and `deadline` in seconds since the wait began."""

    task: Task
    elapsed: float
    deadline: float


@dataclass(frozen=True)
class DownloadProgress:
    received: int
    total: int | None


ProgressEvent = UploadProgress | TaskUpdate | DownloadProgress
