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

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Final

from ._machine import BaseLedger
from ._migrate import Migrations, migrate
from ._types import Exec, LedgerUnavailable
from ._url import INSTALL, redact_url, secrets_of

if TYPE_CHECKING:
    import psycopg

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


def connect(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    """An autocommit connection, or LedgerUnavailable with one line (no password in it)."""
    try:
        import psycopg
    except ImportError:
        raise LedgerUnavailable(f"a postgresql:// ledger needs psycopg: {INSTALL}") from None
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10, application_name="kling")
    except psycopg.Error as exc:
        raise LedgerUnavailable(f"cannot open the ledger {redact_url(url)}: {scrub(str(exc), url)}") from None


def scrub(text: str, url: str) -> str:
    """One line of `text` with the URL's password removed."""
    for secret in secrets_of(url):
        text = text.replace(secret, "***")
    return " ".join(text.split())


def migrate_pg(ex: Exec, where: str) -> int:
    ex("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
    return migrate(ex, MIGRATIONS, where)


class Sql:
    """One connection, one lock, `?` placeholders: the executor both the ledger and the budget use."""

    def __init__(self, url: str) -> None:
        self.where = redact_url(url)
        self._conn = connect(url)
        self._lock = threading.RLock()
        self._converted: dict[str, str] = {}

    def _exec(self, cur: psycopg.Cursor[tuple[Any, ...]], sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        text = self._converted.get(sql)
        if text is None:
            text = self._converted[sql] = sql.replace("?", "%s")
        cur.execute(text, tuple(args))
        return cur.fetchall() if cur.description is not None else []

    @contextmanager
    def tx(self) -> Iterator[Exec]:
        """One transaction, under the lock: every statement of the block commits together or not at all."""
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            yield lambda sql, args=(): self._exec(cur, sql, args)

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement as its own transaction (autocommit), under the lock."""
        with self._lock, self._conn.cursor() as cur:
            return self._exec(cur, sql, args)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class PgLedger(BaseLedger):
    """The ledger in a PostgreSQL database (its own database, or its own schema via the URL's search_path)."""

    lock_row = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    single_runner = False

    def __init__(self, url: str, *, clock: Callable[[], float] | None = None) -> None:
        super().__init__(clock=clock)
        self._sql = Sql(url)
        self.where = self._sql.where
        self._sync: tuple[float, float] | None = None  # (database time, time.monotonic()) when last read
        with self._sql.tx() as ex:
            migrate_pg(ex, self.where)

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
