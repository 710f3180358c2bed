"""The ledger's state machine, stated once; SQLite and PostgreSQL only supply a connection and a dialect.

A create costs money and the API has no idempotency key, so the only way to
know, after a crash, whether a job was already paid for is to have written it
down *before* sending. Each job goes through::

    (absent) --claim/mark_submitting--> submitting --mark_created--> created --mark_done--> done
                                            |                           |
                                            +--mark_ambiguous--> ambiguous  +--mark_failed--> failed
                                            +--mark_unsent----> (absent)

Claims make this safe for any number of workers on one ledger. The row that
records the intent to create is written in the same transaction that claims
the job, under a row lock (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the
database's single write lock), so exactly one worker ever sends a job's create.
A claim is a lease: the worker renews it (``heartbeat``) while it holds the job.
When a lease runs out its holder is taken for dead:

- ``submitting``: the create may or may not have reached the service: the job is
  ``ambiguous``, resent only with ``resubmit=True`` (which may pay twice);
- ``created``: the task exists and is paid; another worker takes the job over and
  waits on that task (and downloads its video again where it runs).

Every transition is one committed transaction before the call returns, so a
SIGKILL right after one loses nothing.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, Final

from ._types import Claim, ClaimKind, Exec, LedgerError, Row, State, Worker

#: The default lease of a claim, seconds: a worker silent for this long is taken for dead.
LEASE_SECONDS: Final = 30.0
_COLUMNS = "key, line, job, state, task_id, path, error, attempts, owner, lease_until, host"
_INTERRUPTED = "interrupted while the create was in flight"


class BaseLedger:
    """The state machine over SQL. A backend sets `where`, `lock_row`, `skip_locked` and implements `_tx`/`_query`."""

    #: Where the ledger is, for people (a file path, or a URL without its password).
    where: str = ""
    #: Appended to a SELECT of one row inside a transition / a claim (SQLite locks the whole file instead).
    lock_row: str = ""
    skip_locked: str = ""
    #: True when the backend lets one runner at a time use it (SQLite: a lock on the folder).
    single_runner: bool = True

    def __init__(self, *, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock
        self.worker: str | None = None
        self.lease = LEASE_SECONDS
        self.host = socket.gethostname()
        self._beat_lock = threading.Lock()

    # -- backend hooks ---------------------------------------------------------

    def _tx(self) -> AbstractContextManager[Exec]:
        raise NotImplementedError

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._tx() as ex:
            return ex(sql, args)

    def _db_now(self) -> float:
        """The ledger's clock: one clock for every worker of a fleet, whatever their machines say."""
        return time.time()

    def close(self) -> None:
        """Close the connection (the backend's own)."""
        raise NotImplementedError

    def set_notice(self, notice: Callable[[str], None]) -> None:
        """Where a backend that reconnects tells each attempt, one line each (SQLite never does)."""

    def __enter__(self) -> BaseLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> float:
        """The ledger's time (the database's clock, or an injected one): leases are judged on it."""
        return self._clock() if self._clock is not None else self._db_now()

    # -- reading -------------------------------------------------------------

    def get(self, key: str) -> Row | None:
        """The job's row, or None if no create of it was ever recorded."""
        found = self._query(f"SELECT {_COLUMNS} FROM jobs WHERE key = ?", (key,))
        return _row(found[0]) if found else None

    def rows(self, state: State | None = None) -> list[Row]:
        """Every row (or those in `state`), in job-file order."""
        sql = f"SELECT {_COLUMNS} FROM jobs"
        args: tuple[str, ...] = ()
        if state is not None:
            sql += " WHERE state = ?"
            args = (state,)
        return [_row(r) for r in self._query(sql + " ORDER BY line, key", args)]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows())

    def counts(self) -> dict[str, int]:
        """How many rows are in each state."""
        found = self._query("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        return {str(s): int(n) for s, n in found}

    def workers(self) -> list[Worker]:
        """Every worker that has run on this ledger, oldest first."""
        cols = "id, host, pid, out_dir, started_at, heartbeat_at, stopped_at, lease"
        found = self._query(f"SELECT {cols} FROM workers ORDER BY started_at, id")
        return [
            Worker(str(a), str(b), int(c), str(d), float(e), float(f), g, float(h)) for a, b, c, d, e, f, g, h in found
        ]

    # -- workers and leases --------------------------------------------------

    def register(self, out_dir: str, *, lease: float = LEASE_SECONDS) -> str:
        """Join the ledger as a worker whose videos go to `out_dir` on this host; claims from now on are leases
        of `lease` seconds, renewed by `heartbeat()`. A single-runner backend (SQLite, under its folder lock)
        first ends every claim of earlier runs: they are dead by definition."""
        self.lease = lease
        self.worker = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        now = self.now()
        with self._tx() as ex:
            if self.single_runner:
                ex("UPDATE jobs SET lease_until = NULL WHERE lease_until IS NOT NULL")
            ex(
                "INSERT INTO workers (id, host, pid, out_dir, started_at, heartbeat_at, lease) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.worker, self.host, os.getpid(), out_dir, now, now, lease),
            )
        return self.worker

    def heartbeat(self) -> None:
        """Renew this worker's claims: every job it holds stays its own for another lease."""
        if self.worker is None:
            return
        with self._beat_lock:
            now = self.now()
            with self._tx() as ex:
                ex("UPDATE workers SET heartbeat_at = ? WHERE id = ?", (now, self.worker))
                ex(
                    "UPDATE jobs SET lease_until = ? WHERE owner = ? AND state IN ('submitting', 'created')",
                    (now + self.lease, self.worker),
                )

    def retire(self) -> None:
        """A clean stop: this worker's claims end now, so another worker may take its tasks over at once."""
        if self.worker is None:
            return
        with self._tx() as ex:
            ex("UPDATE workers SET stopped_at = ? WHERE id = ?", (self.now(), self.worker))
            ex("UPDATE jobs SET lease_until = NULL WHERE owner = ?", (self.worker,))

    def _held_elsewhere(self, row: Row, now: float) -> bool:
        return row.owner not in (None, self.worker) and row.lease_until is not None and row.lease_until > now

    def _lease_until(self, now: float) -> float | None:
        return now + self.lease if self.worker is not None else None

    # -- claims --------------------------------------------------------------

    def claim(self, key: str, line: int, job: dict[str, Any], *, resubmit: bool = False) -> Claim:
        """Take the job if nobody alive holds it, in one transaction. `submit`: the intent to create is
        recorded (state submitting): send the create now. `watch`: its task exists; wait on it."""
        with self._tx() as ex:
            return self._claim(ex, key, line, job, resubmit)

    def peek(self, key: str, *, resubmit: bool = False) -> ClaimKind:
        """What `claim` would give now, without writing: lets a worker skip uploading for a job it will not send."""
        return decide(self.get(key), self._held_elsewhere, self.now(), resubmit)

    def _claim(self, ex: Exec, key: str, line: int, job: dict[str, Any], resubmit: bool) -> Claim:
        now = self.now()
        lease = self._lease_until(now)
        found = ex(f"SELECT {_COLUMNS} FROM jobs WHERE key = ?{self.skip_locked}", (key,))
        row = _row(found[0]) if found else None
        kind = decide(row, self._held_elsewhere, now, resubmit)
        if row is None:
            # Absent, or locked by a worker claiming it right now (SKIP LOCKED): insert unless it exists.
            inserted = ex(
                "INSERT INTO jobs (key, line, job, state, attempts, created_at, updated_at, owner, lease_until)"
                " VALUES (?, ?, ?, 'submitting', 1, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING key",
                (key, line, json.dumps(job, sort_keys=True), now, now, self.worker, lease),
            )
            return Claim("submit", self._locked(ex, key)) if inserted else Claim("busy", None)
        if kind == "busy":
            return Claim("busy", row)
        if row.state == "submitting":
            # Its holder is gone: that create may have been paid. The one rule: ambiguous.
            ex(
                "UPDATE jobs SET state = 'ambiguous', error = COALESCE(error, ?), lease_until = NULL, updated_at = ?"
                " WHERE key = ?",
                (_INTERRUPTED, now, key),
            )
            row = replace(row, state="ambiguous", error=row.error or _INTERRUPTED, lease_until=None)
        if kind == "submit":
            ex(
                "UPDATE jobs SET state = 'submitting', line = ?, error = NULL, attempts = attempts + 1, owner = ?,"
                " lease_until = ?, updated_at = ? WHERE key = ?",
                (line, self.worker, lease, now, key),
            )
            return Claim("submit", self._locked(ex, key))
        if kind == "watch":
            ex(
                "UPDATE jobs SET owner = ?, lease_until = ?, updated_at = ? WHERE key = ?",
                (self.worker, lease, now, key),
            )
            return Claim("watch", self._locked(ex, key))
        return Claim("settled", row)

    def _locked(self, ex: Exec, key: str) -> Row:
        found = ex(f"SELECT {_COLUMNS} FROM jobs WHERE key = ?", (key,))
        return _row(found[0])

    # -- transitions ---------------------------------------------------------

    def mark_submitting(self, key: str, line: int, job: dict[str, Any], *, resubmit: bool = False) -> Row:
        """Record, durably, that a create is about to be sent. Call this *before* sending.

        A new key is inserted; an ``ambiguous`` one (or a ``submitting`` one whose holder is gone) is taken
        again only with ``resubmit=True``, since that may pay twice. Anything else: LedgerError, nothing changed.
        """
        with self._tx() as ex:
            got = self._claim(ex, key, line, job, resubmit)
            if got.kind != "submit":
                state = got.row.state if got.row is not None else "claimed elsewhere"
                raise LedgerError(f"job {key} is {state}; not submitting it again")  # rolls the claim back
        assert got.row is not None
        return got.row

    def mark_created(self, key: str, task_id: str, *, attempt: int | None = None) -> None:
        """The service answered with a task id: from now on the job is waited on, never re-created.

        `attempt`: the claim's attempt; when another worker has resent the job since, this answer is not its own.
        """
        self._transition(key, ("submitting", "ambiguous"), "created", task_id=task_id, error=None, attempt=attempt)

    def mark_unsent(self, key: str, error: str | None = None, *, attempt: int | None = None) -> None:
        """The create surely never reached the service (client-side check, connect failure, 4xx
        before any task): forget the row so that a re-run sends it as new.

        With `attempt` (the claim's): a row another worker judged ambiguous meanwhile (this worker was silent
        past its lease) is that same unsent attempt, and is forgotten too; a row resent since is left alone.
        """
        with self._tx() as ex:
            found = ex(f"SELECT {_COLUMNS} FROM jobs WHERE key = ?{self.lock_row}", (key,))
            if not found:
                return
            row = _row(found[0])
            if attempt is not None and row.attempts != attempt:
                return  # another worker's attempt now: this one's failure says nothing about it
            if row.state != "submitting" and not (attempt is not None and row.state == "ambiguous"):
                raise LedgerError(f"job {key} is {row.state}; cannot mark it unsent")
            if row.attempts > 1:
                # A resubmission that never left: the earlier attempt is still ambiguous.
                ex(
                    "UPDATE jobs SET state = 'ambiguous', attempts = attempts - 1, error = ?, lease_until = NULL,"
                    " updated_at = ? WHERE key = ?",
                    (error, self.now(), key),
                )
            else:
                ex("DELETE FROM jobs WHERE key = ?", (key,))

    def mark_ambiguous(self, key: str, reason: str, *, attempt: int | None = None) -> None:
        """The create was sent and its answer lost. With `attempt`: a row already judged ambiguous by another
        worker (this one was silent past its lease) just takes the reason; a row resent since is refused."""
        allowed: tuple[State, ...] = ("submitting", "ambiguous") if attempt is not None else ("submitting",)
        self._transition(key, allowed, "ambiguous", error=reason, attempt=attempt)

    def mark_done(self, key: str, path: str) -> None:
        """The video is on disk at `path` (on this worker's host): the job is over."""
        self._transition(key, ("created",), "done", path=path, error=None)

    def mark_failed(self, key: str, error: str) -> None:
        """The task ended in state fail (it was paid): the job is over, never resent by itself."""
        self._transition(key, ("created",), "failed", error=error)

    def note_path(self, key: str, path: str) -> None:
        """Record, before a download starts, the file (and host) this job is about to write: a re-run after a
        crash mid-rename may then replace it, and nothing else in the folder."""
        self._query(
            "UPDATE jobs SET path = ?, host = ?, updated_at = ? WHERE key = ?", (path, self.host, self.now(), key)
        )

    def note_error(self, key: str, error: str) -> None:
        """Keep the latest error on a row without changing its state (a timeout, a failed download)."""
        self._query("UPDATE jobs SET error = ?, updated_at = ? WHERE key = ?", (error, self.now(), key))

    def settle_interrupted(self) -> list[Row]:
        """Rows left in ``submitting`` by a worker that is gone (no live lease): their create may have been
        paid. Mark them ambiguous. Never touches a create another live worker has in flight."""
        now = self.now()
        with self._tx() as ex:
            ex(
                "UPDATE jobs SET state = 'ambiguous', error = COALESCE(error, ?), lease_until = NULL, updated_at = ?"
                " WHERE state = 'submitting' AND (owner IS NULL OR owner = ? OR lease_until IS NULL OR lease_until <= ?)",
                (_INTERRUPTED, now, self.worker or "", now),
            )
        return self.rows("ambiguous")

    def _transition(
        self,
        key: str,
        allowed: tuple[State, ...],
        new: State,
        *,
        task_id: str | None = None,
        path: str | None = None,
        error: str | None = None,
        attempt: int | None = None,
    ) -> None:
        now = self.now()
        with self._tx() as ex:
            found = ex(f"SELECT {_COLUMNS} FROM jobs WHERE key = ?{self.lock_row}", (key,))
            if not found:
                raise LedgerError(f"job {key} is not in the ledger")
            row = _row(found[0])
            if _already(row, new, task_id, path, attempt):
                return  # made by an earlier try whose answer the connection lost (PostgreSQL runs calls again)
            if row.state not in allowed:
                raise LedgerError(f"job {key} is {row.state}; cannot become {new}")
            if attempt is not None and row.attempts != attempt:
                raise LedgerError(f"job {key} was sent again (attempt {row.attempts}) since attempt {attempt}")
            # A settled job holds no lease; a created one stays this worker's.
            lease = self._lease_until(now) if new == "created" else None
            ex(
                "UPDATE jobs SET state = ?, task_id = COALESCE(?, task_id), path = COALESCE(?, path),"
                " host = COALESCE(?, host), error = ?, lease_until = ?, owner = COALESCE(?, owner), updated_at = ?"
                " WHERE key = ?",
                (new, task_id, path, self.host if path is not None else None, error, lease, self.worker, now, key),
            )


def decide(row: Row | None, held_elsewhere: Callable[[Row, float], bool], now: float, resubmit: bool) -> ClaimKind:
    """The claim rules, once: a new job is sent; a job another live worker holds is left to it; a create whose
    sender is gone is ambiguous, sent again only with `resubmit`; a created task is waited on; the rest is over."""
    if row is None:
        return "submit"
    if held_elsewhere(row, now):
        return "busy"
    if row.state in ("submitting", "ambiguous"):
        return "submit" if resubmit else "settled"
    return "watch" if row.state == "created" else "settled"


def _already(row: Row, new: State, task_id: str | None, path: str | None, attempt: int | None) -> bool:
    """Whether `row` already is what this final transition would make it (the same task, file and attempt)."""
    return (
        new in ("created", "done", "failed")
        and row.state == new
        and (task_id is None or row.task_id == task_id)
        and (path is None or row.path == path)
        and (attempt is None or row.attempts == attempt)
    )


def _row(r: tuple[Any, ...]) -> Row:
    key, line, job, state, task_id, path, error, attempts, owner, lease_until, host = r
    return Row(
        key=str(key),
        line=int(line),
        job=json.loads(job),
        state=state,
        task_id=task_id,
        path=path,
        error=error,
        attempts=int(attempts),
        owner=owner,
        lease_until=None if lease_until is None else float(lease_until),
        host=host,
    )
