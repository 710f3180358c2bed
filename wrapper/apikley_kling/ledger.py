"""A write-ahead record of batch jobs in SQLite, so that a crash never pays twice.

A create costs money and the API has no idempotency key, so the only way to
know, after a crash, whether a job was already paid for is to have written it
down *before* sending. Each job goes through::

    (absent) --mark_submitting--> submitting --mark_created--> created --mark_done--> done
                                      |                           |
                                      +--mark_ambiguous--> ambiguous  +--mark_failed--> failed
                                      +--mark_unsent----> (absent)

A row left in ``submitting`` by a killed process is a create that may or may
not have reached the service: it is ambiguous, and is never resent unless the
caller says so. Every transition is committed before the call returns (WAL
mode, ``synchronous=FULL``), so a SIGKILL right after a transition loses nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

State = Literal["submitting", "created", "done", "failed", "ambiguous"]
STATES: Final[tuple[State, ...]] = ("submitting", "created", "done", "failed", "ambiguous")

LEDGER_NAME: Final = "ledger.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
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
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
"""


@dataclass(frozen=True)
class Row:
    key: str
    line: int
    job: dict[str, Any]
    state: State
    task_id: str | None
    path: str | None
    error: str | None
    attempts: int


class LedgerError(Exception):
    """A transition that the state machine does not allow (a bug, or two runs on one folder)."""


class Ledger:
    """One SQLite file per output folder; safe to share between threads of one process."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
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
            self._conn.executescript(_SCHEMA)

    @classmethod
    def in_dir(cls, out_dir: str | Path) -> Ledger:
        return cls(Path(out_dir) / LEDGER_NAME)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------

    def get(self, key: str) -> Row | None:
        with self._lock:
            cur = self._conn.execute(
                "SELECT key, line, job, state, task_id, path, error, attempts FROM jobs WHERE key = ?", (key,)
            )
            found = cur.fetchone()
        return _row(found) if found else None

    def rows(self, state: State | None = None) -> list[Row]:
        sql = "SELECT key, line, job, state, task_id, path, error, attempts FROM jobs"
        args: tuple[str, ...] = ()
        if state is not None:
            sql += " WHERE state = ?"
            args = (state,)
        with self._lock:
            found = self._conn.execute(sql + " ORDER BY line, key", args).fetchall()
        return [_row(r) for r in found]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows())

    def counts(self) -> dict[str, int]:
        with self._lock:
            found = self._conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        return {str(s): int(n) for s, n in found}

    # -- transitions ---------------------------------------------------------

    def mark_submitting(self, key: str, line: int, job: dict[str, Any], *, resubmit: bool = False) -> Row:
        """Record, durably, that a create is about to be sent. Call this *before* sending.

        A new key is inserted; an ``ambiguous`` one (or a ``submitting`` one left by a
        crash) is taken again only with ``resubmit=True``, since that may pay twice.
        """
        now = time.time()
        with self._lock, self._tx():
            existing = self.get(key)
            if existing is None:
                self._conn.execute(
                    "INSERT INTO jobs (key, line, job, state, attempts, created_at, updated_at)"
                    " VALUES (?, ?, ?, 'submitting', 1, ?, ?)",
                    (key, line, json.dumps(job, sort_keys=True), now, now),
                )
            elif existing.state in ("ambiguous", "submitting") and resubmit:
                self._conn.execute(
                    "UPDATE jobs SET state = 'submitting', line = ?, error = NULL, attempts = attempts + 1,"
                    " updated_at = ? WHERE key = ?",
                    (line, now, key),
                )
            else:
                raise LedgerError(f"job {key} is {existing.state}; not submitting it again")
        found = self.get(key)
        assert found is not None
        return found

    def mark_created(self, key: str, task_id: str) -> None:
        """The service answered with a task id: from now on the job is waited on, never re-created."""
        self._transition(key, ("submitting", "ambiguous"), "created", task_id=task_id, error=None)

    def mark_unsent(self, key: str, error: str | None = None) -> None:
        """The create surely never reached the service (client-side check, connect failure, 4xx
        before any task): forget the row so that a re-run sends it as new."""
        with self._lock, self._tx():
            row = self.get(key)
            if row is None:
                return
            if row.state != "submitting":
                raise LedgerError(f"job {key} is {row.state}; cannot mark it unsent")
            if row.attempts > 1:
                # A resubmission that never left: the earlier attempt is still ambiguous.
                self._conn.execute(
                    "UPDATE jobs SET state = 'ambiguous', attempts = attempts - 1, error = ?, updated_at = ?"
                    " WHERE key = ?",
                    (error, time.time(), key),
                )
            else:
                self._conn.execute("DELETE FROM jobs WHERE key = ?", (key,))

    def mark_ambiguous(self, key: str, reason: str) -> None:
        self._transition(key, ("submitting",), "ambiguous", error=reason)

    def mark_done(self, key: str, path: str) -> None:
        self._transition(key, ("created",), "done", path=path, error=None)

    def mark_failed(self, key: str, error: str) -> None:
        self._transition(key, ("created",), "failed", error=error)

    def note_path(self, key: str, path: str) -> None:
        """Record, before a download starts, the file this job is about to write: a re-run after a crash
        mid-rename may then replace it, and nothing else in the folder."""
        with self._lock, self._tx():
            self._conn.execute("UPDATE jobs SET path = ?, updated_at = ? WHERE key = ?", (path, time.time(), key))

    def note_error(self, key: str, error: str) -> None:
        """Keep the latest error on a row without changing its state (a timeout, a failed download)."""
        with self._lock, self._tx():
            self._conn.execute("UPDATE jobs SET error = ?, updated_at = ? WHERE key = ?", (error, time.time(), key))

    def settle_interrupted(self) -> list[Row]:
        """Rows a killed run left in ``submitting``: their create may have been paid. Mark them
        ambiguous (at the start of a run, when no create of this process is in flight)."""
        with self._lock, self._tx():
            self._conn.execute(
                "UPDATE jobs SET state = 'ambiguous', error = COALESCE(error, ?), updated_at = ?"
                " WHERE state = 'submitting'",
                ("interrupted while the create was in flight", time.time()),
            )
        return self.rows("ambiguous")

    # -- internals -----------------------------------------------------------

    def _transition(
        self,
        key: str,
        allowed: tuple[State, ...],
        new: State,
        *,
        task_id: str | None = None,
        path: str | None = None,
        error: str | None = None,
    ) -> None:
        with self._lock, self._tx():
            row = self.get(key)
            if row is None:
                raise LedgerError(f"job {key} is not in the ledger")
            if row.state not in allowed:
                raise LedgerError(f"job {key} is {row.state}; cannot become {new}")
            self._conn.execute(
                "UPDATE jobs SET state = ?, task_id = COALESCE(?, task_id), path = COALESCE(?, path),"
                " error = ?, updated_at = ? WHERE key = ?",
                (new, task_id, path, error, time.time(), key),
            )

    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self._conn = conn

        def __enter__(self) -> None:
            self._conn.execute("BEGIN IMMEDIATE")

        def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
            self._conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")

    def _tx(self) -> Ledger._Tx:
        return Ledger._Tx(self._conn)


def _row(r: tuple[Any, ...]) -> Row:
    key, line, job, state, task_id, path, error, attempts = r
    return Row(
        key=str(key),
        line=int(line),
        job=json.loads(job),
        state=state,
        task_id=task_id,
        path=path,
        error=error,
        attempts=int(attempts),
    )


class FolderBusy(Exception):
    """Another batch holds this output folder: two runs would resend each other's in-flight creates."""


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an advisory lock for one run; FolderBusy at once (never a wait) if another run holds it.

    `path` is the output folder itself (or, for older callers, a lock file). A folder
    cannot be replaced by a file written into it, so no job's output can swap the
    lock from under a running batch, as a replaced lock file could be.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; one run per folder is then the user's care
        yield
        return
    where = path if path.is_dir() else path.parent
    fd = os.open(path, os.O_RDONLY) if path.is_dir() else os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(f"another `kling batch` is running on {where}") from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
