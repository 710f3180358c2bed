"""The shell side of files: the disk work the engine asks for (its file effects), each one blocking step.

Kling calls these directly; AsyncKling runs each in a worker thread, so that no disk access holds its event loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._engine.effects import CheckMp4, FileSize, JournalStep, ReadFile, Remove, Rename, Target
from ..downloads import mp4_problem, target_path
from ..uploads import read_local

__all__ = ["FILE_WORK"]


def _read(effect: ReadFile) -> bytes:
    return read_local(effect.path, effect.max_bytes)


def _target(effect: Target) -> Path:
    target = target_path(effect.path, effect.task_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _size(effect: FileSize) -> int:
    try:
        return effect.path.stat().st_size
    except FileNotFoundError:
        return 0


def _check_mp4(effect: CheckMp4) -> str | None:
    return mp4_problem(effect.path)


def _rename(effect: Rename) -> None:
    os.replace(effect.source, effect.target)


def _remove(effect: Remove) -> None:
    effect.path.unlink(missing_ok=True)


def _journal(effect: JournalStep) -> Any:
    return effect.call()


#: Which function performs which file effect.
FILE_WORK: dict[type, Callable[[Any], Any]] = {
    ReadFile: _read,
    Target: _target,
    FileSize: _size,
    CheckMp4: _check_mp4,
    Rename: _rename,
    Remove: _remove,
    JournalStep: _journal,
}
