"""Task and TaskState: what a task query (or a callback) says about one task."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import ProtocolError

__all__ = ["Task", "TaskState"]


class TaskState(enum.StrEnum):
    """A task's state as the service reports it."""

    WAITING = "waiting"
    QUEUING = "queuing"
    GENERATING = "generating"
    SUCCESS = "success"
    FAIL = "fail"

    @property
    def is_final(self) -> bool:
        return self in (TaskState.SUCCESS, TaskState.FAIL)


def _opt_str(data: Mapping[str, Any], key: str, task_id: str | None) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # a failCode sent as a number
    if not isinstance(value, str):
        raise ProtocolError(f"{key} is {type(value).__name__}, expected a string", task_id=task_id)
    return value


_MAX_MS = 253_402_300_799_000  # 9999-12-31T23:59:59Z in milliseconds


def _opt_int(data: Mapping[str, Any], key: str, task_id: str | None) -> int | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError(f"{key} is {value!r:.40}, expected a finite number", task_id=task_id)
    if abs(value) > _MAX_MS:  # past year 9999: no datetime holds it (fromtimestamp would raise, not a KlingError)
        raise ProtocolError(f"{key} is {value:.4g}, out of range", task_id=task_id)
    return int(value)


def _ms_to_dt(ms: int | None) -> datetime | None:
    # The documented "waiting" answer carries completeTime: 0 for "not yet".
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _json_field(data: Mapping[str, Any], key: str, task_id: str | None) -> Any:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, (dict, list)):
        return value  # some answers send the object itself instead of a JSON string
    if not isinstance(value, str):
        raise ProtocolError(f"{key} is {type(value).__name__}, expected a JSON string", task_id=task_id)
    try:
        return json.loads(value)
    except ValueError as exc:
        raise ProtocolError(f"{key} is not valid JSON", task_id=task_id, excerpt=value[:120]) from exc


@dataclass(frozen=True)
class Task:
    """One task as the service last described it.

    Times are timezone-aware UTC datetimes (None while unknown); `cost_time`
    is the provider's processing time in seconds; `params` is the original
    create request (parsed from `param`: model, input, callBackUrl) and
    `input` its input; `raw` is the `data` object as received, every field of
    it, including those this version does not know (`task.raw["newField"]`).
    """

    id: str
    state: TaskState
    result_urls: tuple[str, ...] = ()
    fail_code: str | None = None
    fail_msg: str | None = None
    created_at: datetime | None = None
    completed_at: datetime | None = None
    updated_at: datetime | None = None
    cost_time: float | None = None
    params: Mapping[str, Any] | None = None
    model: str | None = None
    progress: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_final(self) -> bool:
        return self.state.is_final

    @property
    def input(self) -> Mapping[str, Any] | None:
        """The input the task was created with (from `param`), None when the answer did not carry it."""
        found = self.params.get("input") if self.params is not None else None
        return found if isinstance(found, Mapping) else None

    @property
    def video_url(self) -> str | None:
        return self.result_urls[0] if self.result_urls else None

    @classmethod
    def from_api(cls, data: Any, *, task_id: str | None = None) -> Task:
        """Parse a query answer's (or a callback's) `data` object.

        Accepts `taskId` or `task_id`; null/""/0 for "unknown"; an unknown
        state is a ProtocolError (so that a wait never spins on it).
        """
        if not isinstance(data, Mapping):
            raise ProtocolError(f"task data is {type(data).__name__}, expected an object", task_id=task_id)
        tid = data.get("taskId") or data.get("task_id") or task_id
        if not isinstance(tid, str) or not tid:
            raise ProtocolError("task data has no taskId", task_id=task_id)
        raw_state = data.get("state")
        try:
            state = TaskState(str(raw_state))
        except ValueError:
            raise ProtocolError(f"unknown task state {raw_state!r}", task_id=tid) from None
        result = _json_field(data, "resultJson", tid)
        urls: tuple[str, ...] = ()
        if isinstance(result, Mapping):
            found = result.get("resultUrls") or ()
            if not isinstance(found, list) or not all(isinstance(u, str) for u in found):
                raise ProtocolError("resultJson.resultUrls is not a list of strings", task_id=tid)
            urls = tuple(found)
        params = _json_field(data, "param", tid)
        cost_ms = _opt_int(data, "costTime", tid)
        progress = _opt_int(data, "progress", tid)
        model = data.get("model")
        return cls(
            id=tid,
            state=state,
            result_urls=urls,
            fail_code=_opt_str(data, "failCode", tid),
            fail_msg=_opt_str(data, "failMsg", tid),
            created_at=_ms_to_dt(_opt_int(data, "createTime", tid)),
            completed_at=_ms_to_dt(_opt_int(data, "completeTime", tid)),
            updated_at=_ms_to_dt(_opt_int(data, "updateTime", tid)),
            cost_time=cost_ms / 1000 if cost_ms else None,
            params=params if isinstance(params, Mapping) else None,
            model=model if isinstance(model, str) else None,
            progress=progress,
            raw=dict(data),
        )
