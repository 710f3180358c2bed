"""Plumbing for the live suite: configuration from the environment, a pacer, a budget."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from apikley_kling.clock import Clock, SystemClock

DEFAULT_BASE_URL = "https://api.apikley.ru"
SKIP_REASON = "APIKLEY_API_KEY is not set: the live contract tests talk to the real service and need a key"


@dataclass
class Pacer:
    """At most one request per `interval` seconds (the service rate-limits; we stay well below)."""

    interval: float = 1.0
    clock: Clock = field(default_factory=SystemClock)
    _last: float | None = None

    def wait(self) -> float:
        now = self.clock.monotonic()
        delay = 0.0 if self._last is None else max(0.0, self._last + self.interval - now)
        if delay:
            self.clock.sleep(delay)
        self._last = self.clock.monotonic()
        return delay


@dataclass
class Budget:
    """Paid createTask calls allowed in this session (--live-budget N); 0 by default."""

    limit: int
    spent: int = 0

    def take(self) -> bool:
        if self.spent >= self.limit:
            return False
        self.spent += 1
        return True


def base_url() -> str:
    return os.environ.get("APIKLEY_BASE_URL", DEFAULT_BASE_URL).rstrip("/")


def min_interval() -> float:
    # Only for pointing the suite at a local stand-in (the simulator), which needs no pacing.
    return float(os.environ.get("APIKLEY_LIVE_MIN_INTERVAL", "1.0"))
