"""What the simulated service remembers: tasks, stored files, balances.

A task's state is never stepped by a timer: it is a pure function of the
clock, computed when someone asks (`SimulatedTask.state_at`). Ten thousand idle tasks
therefore cost nothing until queried; only tasks with a callback URL enter a
small heap so that their callbacks can be sent when due.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from apikley_kling.catalog import component_schema

INFINITY = math.inf
_ABSENT: Any = object()


@functools.cache
def record_keys() -> tuple[tuple[str, Any], ...]:
    """The spec's TaskRecord properties in order, each with what to send when the simulator has no value of its own.

    That is the property's example, else null; a property that admits no null and has no example is left out
    (a null there would break the spec's own schema) until the simulator has a value for it.
    """
    out: list[tuple[str, Any]] = []
    for name, prop in component_schema("TaskRecord").get("properties", {}).items():
        out.append((name, prop["example"] if "example" in prop else None if prop.get("nullable") else _ABSENT))
    return tuple(out)


@dataclass
class SimulatedTask:
    """A task the simulator keeps: its timeline on the simulator's clock, its input and its result."""

    task_id: str
    api_key: str
    model: str
    param: str  # the create request as the JSON string recordInfo hands back
    image: bytes | None  # the first frame's image (None: a drawn frame)
    duration: int  # seconds of video
    callback_url: str | None
    created: float  # Unix seconds on the simulator clock
    queued_at: float
    generating_at: float
    done_at: float  # math.inf when the task is stuck
    outcome: str  # "success" | "fail"
    fail_code: str | None = None
    fail_msg: str | None = None
    result_file_id: str | None = None
    size: tuple[int, int] = (1280, 720)  # the result's width and height
    caption: str | None = None  # words on a drawn first frame
    sound: bool = False  # the result has an audio track (the create asked for sound)
    # The last recordInfo answer as bytes, with the span of time (and base URL) it holds for:
    # a record changes only at the few phase boundaries, so polling rarely re-serialises.
    cached: tuple[float, float, str, bytes] | None = field(default=None, repr=False, compare=False)

    def phase_span(self, now: float) -> tuple[float, float]:
        """[start, end) of the phase `now` falls in: the record stays the same within it."""
        start, end = -INFINITY, INFINITY
        for edge in (self.created, self.queued_at, self.generating_at, self.done_at):
            if edge <= now:
                start = max(start, edge)
            else:
                end = min(end, edge)
        return start, end

    def state_at(self, now: float) -> str:
        if now >= self.done_at:
            return self.outcome
        if now >= self.generating_at:
            return "generating"
        if now >= self.queued_at:
            return "queuing"
        return "waiting"

    def record(self, now: float, result_url: str | None) -> dict[str, Any]:
        """The `data` of a recordInfo answer, as the provider shapes it."""
        ms = _ms
        if now >= self.done_at:
            state = self.outcome
            complete: int | None = ms(self.done_at)
            update = complete
            cost: int | None = ms(self.done_at) - ms(self.created)
        else:
            state = self.state_at(now)
            complete = None
            cost = None
            update = ms(
                self.generating_at if state == "generating" else self.queued_at if state == "queuing" else self.created
            )
        failed = state == "fail"
        result = (
            json.dumps({"resultUrls": [result_url]}, separators=(",", ":")) if state == "success" and result_url else ""
        )
        own = {
            "taskId": self.task_id,
            "model": self.model,
            "state": state,
            "param": self.param,
            "resultJson": result,
            # Real answers carry null (not the documented "") where nothing failed.
            "failCode": self.fail_code if failed else None,
            "failMsg": self.fail_msg if failed else None,
            "costTime": cost,
            "completeTime": complete,
            "createTime": ms(self.created),
            "updateTime": update,
        }
        # Keys in the spec's order; a property the spec adds reaches clients with its example or null.
        record: dict[str, Any] = {}
        for key, fallback in record_keys():
            if key in own:
                record[key] = own[key]
            elif fallback is not _ABSENT:
                record[key] = fallback
        record.update((k, v) for k, v in own.items() if k not in record)
        return record


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


@dataclass
class StoredFile:
    file_id: str
    name: str
    path: str  # uploadPath/fileName, as the upload answer reports it
    mime: str
    data: bytes | None  # None for a result video that is encoded on first download
    created: float
    expires: float  # math.inf: never
    task_id: str | None = None
    api_key: str | None = None

    def expired(self, now: float) -> bool:
        return now >= self.expires


@dataclass
class Counters:
    """What tests read to prove behaviour, e.g. that a retried create was not paid twice."""

    tasks_created: Counter[str] = field(default_factory=Counter)  # per API key
    credits_spent: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # per API key
    requests: Counter[str] = field(default_factory=Counter)  # per route name
    callbacks_sent: Counter[str] = field(default_factory=Counter)  # per task id
    callbacks_refused: Counter[str] = field(default_factory=Counter)  # per task id
    faults_injected: Counter[str] = field(default_factory=Counter)  # per fault kind
    rate_limited: Counter[str] = field(default_factory=Counter)  # per API key
    encodes: int = 0

    def reset(self) -> None:
        for value in vars(self).values():
            if isinstance(value, dict):
                value.clear()
        self.encodes = 0


class TokenBucket:
    """`rate` requests per second with bursts up to `burst`, on the simulator's clock."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = now

    def take(self, now: float) -> float:
        """0.0 when a request may pass, else the seconds until one token is back."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate
