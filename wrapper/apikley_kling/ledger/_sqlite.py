"""The ledger in one SQLite file beside the outputs: the default, for one machine and one runner per folder.

SQLite is embedded (nothing to run) and durable: WAL mode with ``synchronous=FULL``,
so a transition is on disk when it returns. Its write lock covers the whole file,
which makes each claim exclusive without row locks; the runner also holds a lock on
the output folder (`exclusive`), so one `kling batch` at a time uses a SQLite ledger.
For several workers, or several machines, use the PostgreSQL ledger.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from ._machine import BaseLedger
from ._migrate import Migrations, migrate
from ._types import Exec

LEDGER_NAME: Final = "ledger.sqlite3"

MIGRATIONS: Final[Migrations] = (
    # 1: the first ledger (its tables may exist already: ledgers written before versions were kept).
    (
        """CREATE TABLE IF NOT EXISTS jobs (
            key        TEXT PRIMARY KEY,
            line       INTEGER NOT NULL,
            job        TEXT NOT NULL,
            state      TEXT NOT NULL,
            task_id    TEXT,
            path       TEXT,
            error      TEXT,
            attempts   INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state)",
    ),
    # 2: claims (owner, lease), the host of each output, and the workers.
    (
        "ALTER TABLE jobs ADD COLUMN owner TEXT",
        "ALTER TABLE jobs ADD COLUMN lease_until REAL",
        "ALTER TABLE jobs ADD COLUMN host TEXT",
        """CREATE TABLE workers (
            id           TEXT PRIMARY KEY,
            host         TEXT NOT NULL,
            pid          INTEGER NOT NULL,
            out_dir      TEXT NOT NULL,
            started_at   REAL NOT NULL,
            heartbeat_at REAL NOT NULL,
            stopped_at   REAL,
            lease        REAL NOT NULL
        )""",
    ),
)


class SqliteLedger(BaseLedger):
    """One SQLite file per output folder; safe to share between threads of one process."""

    single_runner = True

    def __init__(self, path: str | Path, *, clock: Callable[[], float] | None = None) -> None:
        super().__init__(clock=clock)
        self.path = Path(path)
        self.where = str(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection guarded by a lock: SQLite serialises writers anyway, and
        # a single connection keeps each transition one short transaction.
        self._conn = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk when commit returns, even across a power cut;
            # the cost is one fsync per transition, small next to an HTTP round trip.
            self._conn.execute("PRAGMA synchronous=FULL")
            with self._tx() as ex:
                migrate(ex, MIGRATIONS, self.where)

    @classmethod
    def in_dir(cls, out_dir: str | Path, *, clock: Callable[[], float] | None = None) -> SqliteLedger:
        """The ledger of an output folder: `ledger.sqlite3` in it."""
        return cls(Path(out_dir) / LEDGER_NAME, clock=clock)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteLedger:
        return self

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(args)).fetchall()

    @contextmanager
    def _tx(self) -> Iterator[Exec]:
        with self._lock:
            # IMMEDIATE: the write lock from the first statement, so a claim's read and write are one step.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._exec
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:  # autocommit: one statement is its own transaction
            return self._exec(sql, args)


def sqlite_exists(out_dir: Path) -> bool:
    return (out_dir / LEDGER_NAME).exists()
