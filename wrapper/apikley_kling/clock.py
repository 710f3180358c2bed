"""Time, injectable: the SDK waits and the simulator ages tasks on a Clock.

`SystemClock` is the real one. `VirtualClock` moves only when told to, and
its sleep() advances it at once, so tests of multi-minute waits run in
microseconds and never sleep real seconds. One VirtualClock can be shared by
a client and an in-process simulator: the client's sleeps are then exactly
what ages the simulator's tasks.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What the SDK reads time from and sleeps on: `SystemClock`, or `VirtualClock` in tests."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (deadlines, schedules)."""
        ...

    def time(self) -> float:
        """Wall-clock Unix seconds (timestamps in records and signatures)."""
        ...

    def sleep(self, seconds: float) -> None: ...

    async def asleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: `time.monotonic`, `time.time` and `time.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        import asyncio  # here, not at the top: `import apikley_kling` should not pay for asyncio

        await asyncio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


class VirtualClock:
    """A clock that advances only through advance() or sleep()/asleep().

    asleep() yields to the event loop once (so other tasks interleave as they
    would) and then advances time; it never waits for real.
    """

    def __init__(self, start: float = 1_765_000_000.0) -> None:
        self._lock = threading.Lock()
        self._wall0 = start
        self._now = 0.0

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._wall0 + self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    async def asleep(self, seconds: float) -> None:
        import asyncio

        await asyncio.sleep(0)
        self.advance(max(0.0, seconds))

    def __repr__(self) -> str:
        return f"VirtualClock(t={self._now:.3f}s)"
