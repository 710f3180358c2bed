"""Fault injection: which answer a request gets instead of (or on top of) the normal one.

Faults are attached to a route name (see ROUTES, or "*" for every route) and
are either scripted (the next `times` requests, or an explicit sequence) or
random with a probability drawn from a seeded RNG, so a failing test replays.
The app asks `FaultPlan.decide(route)` once per request; the decision is cheap
when nothing is configured, which keeps the recordInfo path lean.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, get_args

FaultKind = Literal[
    "status_429",  # HTTP 429 + envelope code 429 + Retry-After
    "status_455",  # HTTP 455 + envelope code 455 (maintenance)
    "status_500",  # HTTP 500 + envelope code 500
    "http200_error",  # HTTP 200 whose envelope carries an error code (default 500)
    "html_502",  # HTTP 502 with an HTML page, as a proxy in front of the service sends
    "malformed_json",  # HTTP 200, application/json, body cut in the middle
    "slow",  # answer normally after `delay` seconds on the simulator's clock
    "drop_before_read",  # connection closed before the request is read: nothing happened
    "drop_after_record",  # createTask only: task recorded and paid, then the connection closes
    "stuck",  # createTask only: the task never leaves `generating`
    "fail",  # createTask only: the task ends in `fail` with fail_code/fail_msg
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

ROUTES: tuple[str, ...] = (
    "createTask",
    "recordInfo",
    "credit",
    "downloadUrl",
    "fileStreamUpload",
    "fileBase64Upload",
    "fileUrlUpload",
    "files",
)

# Kinds that shape the task a createTask makes rather than the HTTP answer.
TASK_KINDS = frozenset({"stuck", "fail", "drop_after_record"})


@dataclass(frozen=True)
class Fault:
    """A fault to inject on a route: its kind (`FAULT_KINDS`) and how it behaves."""

    kind: str
    delay: float = 0.0
    retry_after: float = 1.0
    code: int = 500
    msg: str | None = None
    fail_code: str = "500"
    fail_msg: str = "Internal server error"


@dataclass
class _Rule:
    fault: Fault
    remaining: int | None  # None: unlimited (probability rules)
    probability: float = 1.0


@dataclass
class FaultPlan:
    """Faults per route. Thread-safe: the served app and the test thread share it."""

    seed: int = 0
    _rules: dict[str, list[_Rule]] = field(default_factory=dict)
    _scripts: dict[str, deque[Fault | None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def add(
        self,
        route: str,
        kind: str,
        *,
        times: int | None = None,
        probability: float | None = None,
        delay: float = 0.0,
        retry_after: float = 1.0,
        code: int = 500,
        msg: str | None = None,
        fail_code: str = "500",
        fail_msg: str = "Internal server error",
    ) -> Fault:
        """Inject `kind` on `route`: for the next `times` requests (default 1), or with `probability` for ever."""
        _check(route, kind)
        fault = Fault(kind, delay, retry_after, code, msg, fail_code, fail_msg)
        if probability is not None:
            if not 0.0 <= probability <= 1.0:
                raise ValueError("probability must be within 0..1")
            rule = _Rule(fault, remaining=times, probability=probability)
        else:
            rule = _Rule(fault, remaining=1 if times is None else times)
        with self._lock:
            self._rules.setdefault(route, []).append(rule)
        return fault

    def script(self, route: str, sequence: Iterable[str | Fault | None]) -> None:
        """The next requests on `route` get these faults in order (None: a normal answer)."""
        items: deque[Fault | None] = deque()
        for item in sequence:
            if item is None or isinstance(item, Fault):
                if item is not None:
                    _check(route, item.kind)
                items.append(item)
            else:
                _check(route, item)
                items.append(Fault(item))
        with self._lock:
            self._scripts.setdefault(route, deque()).extend(items)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._scripts.clear()

    def __bool__(self) -> bool:
        return bool(self._rules or self._scripts)

    def decide(self, route: str) -> Fault | None:
        if not self._rules and not self._scripts:
            return None
        with self._lock:
            for name in (route, "*"):
                found = self._take(name, route)
                if found is not None:
                    return found
        return None

    def _take(self, name: str, route: str) -> Fault | None:
        script = self._scripts.get(name)
        if script:
            item = script.popleft()
            if not script:
                del self._scripts[name]
            if item is not None and (name != "*" or _applies(item.kind, route)):
                return item
            return None
        rules = self._rules.get(name)
        if not rules:
            return None
        for rule in list(rules):
            if name == "*" and not _applies(rule.fault.kind, route):
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    rules.remove(rule)
            if not rules:
                del self._rules[name]
            return rule.fault
        return None


def _applies(kind: str, route: str) -> bool:
    return kind not in TASK_KINDS or route == "createTask"


def _check(route: str, kind: str) -> None:
    if route != "*" and route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; known: {', '.join(ROUTES)} or '*'")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
    if kind in TASK_KINDS and route not in ("createTask", "*"):
        raise ValueError(f"fault {kind!r} only applies to createTask")
