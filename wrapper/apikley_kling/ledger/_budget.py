"""One request budget for a fleet: a token bucket kept in the PostgreSQL ledger's database.

Every worker's client draws from the same bucket (``Kling(rate_limit=budget)``:
creates, uploads, queries), so N workers together stay under the account's rate
instead of each pacing itself as if alone. A 429 seen by any worker pauses all.

Each draw is one UPDATE of the bucket's row: refill since the last draw, take a
token if one is there, say whether it did. PostgreSQL re-reads a row that another
transaction changed meanwhile before applying the UPDATE, so concurrent draws
never share a token. Times are the database's clock (the `now` the client passes
is its own monotonic clock, meaningless on another machine).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ._pgconn import Sql
from ._postgres import migrate_pg

_EPS: Final = 1e-9

# The bucket refills from the later of its last draw and the end of a pause (no tokens accrue while paused).
_AVAILABLE = "LEAST(b.burst, b.tokens + GREATEST(0, t.now - GREATEST(b.updated, b.paused_until)) * b.rate)"
_GRANT = f"(b.paused_until <= t.now AND {_AVAILABLE} >= 1 - {_EPS})"
_NOW = "(SELECT COALESCE(?::float8, extract(epoch FROM clock_timestamp())::float8) AS now)"

_DRAW = f"""
WITH t AS {_NOW}
UPDATE budget b SET
    tokens = CASE WHEN {_GRANT} THEN GREATEST(0, {_AVAILABLE} - 1) ELSE {_AVAILABLE} END,
    granted = {_GRANT},
    updated = GREATEST(b.updated, t.now)
FROM t WHERE b.name = ?
RETURNING b.granted, b.tokens, b.paused_until, b.rate, t.now
"""

_PAUSE = f"""
WITH t AS {_NOW}
UPDATE budget b SET tokens = 0, paused_until = GREATEST(b.paused_until, t.now + ?), updated = GREATEST(b.updated, t.now)
FROM t WHERE b.name = ?
"""


class PgBudget:
    """A `RequestBudget` shared through PostgreSQL: `rate` requests per second for every client that uses it.

    ``burst`` defaults to 1: requests evenly spaced, as the SDK's own budget does, so a fleet never drains
    the service's bucket in one go. Workers that disagree on `rate` leave the last one started in force.
    """

    def __init__(
        self,
        url: str,
        *,
        rate: float,
        burst: float = 1.0,
        name: str = "default",
        clock: Callable[[], float] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.name = name
        self._clock = clock
        self._sql = Sql(url)
        self._sql.call(lambda: self._setup(max(1.0, burst)))

    def _setup(self, burst: float) -> None:
        with self._sql.tx() as ex:
            migrate_pg(ex, self._sql.where)
            ex(
                "INSERT INTO budget (name, rate, burst, tokens, updated)"
                " VALUES (?, ?, ?, ?, COALESCE(?::float8, extract(epoch FROM clock_timestamp())::float8))"
                " ON CONFLICT (name) DO UPDATE SET rate = EXCLUDED.rate, burst = EXCLUDED.burst",
                (self.name, float(self.rate), burst, burst, self._now()),
            )

    def set_notice(self, notice: Callable[[str], None]) -> None:
        """Where reconnect attempts are told (default: the `apikley_kling.ledger` logger)."""
        self._sql.notice = notice

    def _now(self) -> float | None:
        return self._clock() if self._clock is not None else None

    def wait_time(self, now: float) -> float:
        """0.0 when a request may go now (a token was taken); otherwise seconds to wait before asking again."""
        [(granted, tokens, paused_until, rate, at)] = self._sql.query(_DRAW, (self._now(), self.name))
        if granted:
            return 0.0
        if paused_until > at:
            return float(paused_until - at)
        return max(_EPS, (1.0 - float(tokens)) / float(rate))

    def pause(self, now: float, seconds: float) -> None:
        """A 429 came back: no client sharing this budget sends for `seconds`."""
        self._sql.query(_PAUSE, (self._now(), float(seconds), self.name))

    def close(self) -> None:
        """Close the budget's connection (the bucket stays, for the other workers)."""
        self._sql.close()

    def __enter__(self) -> PgBudget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
