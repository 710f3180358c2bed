"""Progress events passed to `on_progress` / `on_update` callables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Task

__all__ = ["DownloadProgress", "PriceDifference", "ProgressEvent", "TaskUpdate", "UploadProgress"]


@dataclass(frozen=True)
class UploadProgress:
    """How much of a file upload has been sent (`total`: None when unknown)."""

    sent: int
    total: int | None


@dataclass(frozen=True)
class TaskUpdate:
    """A task's state during a wait (in `generate`, the first is the create's own answer, before any query);
    `elapsed` and `deadline` in seconds since the wait began."""

    task: Task
    elapsed: float
    deadline: float


@dataclass(frozen=True)
class DownloadProgress:
    """How much of a video download has arrived (`total`: None when unknown)."""

    received: int
    total: int | None


@dataclass(frozen=True)
class PriceDifference:
    """A create cost `credits` on this account where the card says `card` (None: the card has no price) for
    `model` with these price-setting `fields`; told once per (model, fields) of a price book (`Kling(price_book=)`),
    and later estimates use the observed price."""

    model: str
    fields: Mapping[str, Any]
    credits: float
    card: float | None


ProgressEvent = UploadProgress | TaskUpdate | DownloadProgress | PriceDifference
