"""The ledger in PostgreSQL: any number of workers, on any number of machines, one batch.

Claims take the job's row with ``SELECT ... FOR UPDATE SKIP LOCKED`` inside the
transaction that records the intent to create, so two workers never send one
job's create, and a worker never waits on a row another is claiming (it moves on
and comes back). Every time in the ledger is the database's clock, so machines
whose clocks disagree still agree on when a lease runs out.

psycopg 3 is imported here only (the ``[postgres]`` extra): ``import apikley_kling``
never loads it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Final

from ._machine import BaseLedger
from ._migrate import Migrations, migrate
from ._pgconn import Sql, connect, scrub
from ._types import Exec

__all__ = ["MIGRATIONS", "PgLedger", "Sql", "connect", "migrate_pg", "scrub"]

#: Taken (for the transaction) by whoever migrates, so that workers starting together migrate once.
_MIGRATION_LOCK: Final = 0x6B6C696E67  # "kling"

MIGRATIONS: Final[Migrations] = (
    # 1: jobs with their claims, the workers, and the fleet's request budget.
    (
        """CREATE TABLE jobs (
            key         text PRIMARY KEY,
            line        integer NOT NULL,
            job         text NOT NULL,
            state       text NOT NULL,
            task_id     text,
            path        text,
            error       text,
            attempts    integer NOT NULL DEFAULT 0,
            created_at  double precision NOT NULL,
            updated_at  double precision NOT NULL,
            owner       text,
            lease_until double precision,
            host        text
        )""",
        "CREATE INDEX jobs_state ON jobs (state)",
        "CREATE INDEX jobs_owner ON jobs (owner)",
        """CREATE TABLE workers (
            id           text PRIMARY KEY,
            host         text NOT NULL,
            pid          integer NOT NULL,
            out_dir      text NOT NULL,
            started_at   double precision NOT NULL,
            heartbeat_at double precision NOT NULL,
            stopped_at   double precision,
            lease        double precision NOT NULL
        )""",
        """CREATE TABLE budget (
            name         text PRIMARY KEY,
            rate         double precision NOT NULL,
            burst        double precision NOT NULL,
            tokens       double precision NOT NULL,
            updated      double precision NOT NULL,
            paused_until double precision NOT NULL DEFAULT 0,
            granted      boolean NOT NULL DEFAULT false
        )""",
    ),
)

_CLOCK_RESYNC = 10.0  # seconds between readings of the database's clock


def migrate_pg(ex: Exec, where: str) -> int:
    ex("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
    return migrate(ex, MIGRATIONS, where)


class PgLedger(BaseLedger):
    """The ledger in a PostgreSQL database (its own database, or its own schema via the URL's search_path)."""

    lock_row = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    single_runner = False

    def __init__(
        self, url: str, *, clock: Callable[[], float] | None = None, reconnect_for: float | None = None
    ) -> None:
        """`reconnect_for`: seconds of outage ridden out by reconnecting (None: $APIKLEY_LEDGER_RECONNECT, 60)."""
        super().__init__(clock=clock)
        self._sql = Sql(url, reconnect_for=reconnect_for)
        self.where = self._sql.where
        self._sync: tuple[float, float] | None = None  # (database time, time.monotonic()) when last read
        self._sql.call(self._migrate)

    def _migrate(self) -> None:
        with self._sql.tx() as ex:
            migrate_pg(ex, self.where)

    def set_notice(self, notice: Callable[[str], None]) -> None:
        """Where reconnect attempts are told (default: the `apikley_kling.ledger` logger)."""
        self._sql.notice = notice

    def _tx(self) -> AbstractContextManager[Exec]:
        return self._sql.tx()

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._sql.query(sql, args)

    def _db_now(self) -> float:
        # One reading of the server's clock every few seconds, carried forward on this machine's monotonic
        # clock: leases compare times written by many machines, so they must all come from one clock.
        mono = time.monotonic()
        if self._sync is None or mono - self._sync[1] > _CLOCK_RESYNC:
            [(db,)] = self._sql.query("SELECT extract(epoch FROM clock_timestamp())::float8")
            self._sync = (float(db), time.monotonic())
            return self._sync[0]
        return self._sync[0] + (mono - self._sync[1])

    def close(self) -> None:
        """Close the connection."""
        self._sql.close()


# Every call of the state machine is one unit for the connection: when the connection breaks it is run again,
# whole, on a new one (see `_pgconn`). Nested calls (peek -> get) run inside the outer one's retry.
_RETRIED: Final = (
    "get", "rows", "counts", "workers", "register", "heartbeat", "retire", "claim", "peek", "mark_submitting",
    "mark_created", "mark_unsent", "mark_ambiguous", "mark_done", "mark_failed", "note_path", "note_error",
    "settle_interrupted", "now",
)  # fmt: skip


def _retried(name: str) -> Callable[..., Any]:
    base = getattr(BaseLedger, name)

    @functools.wraps(base)
    def method(self: PgLedger, *args: Any, **kwargs: Any) -> Any:
        return self._sql.call(lambda: base(self, *args, **kwargs))

    return method


for _name in _RETRIED:
    setattr(PgLedger, _name, _retried(_name))
