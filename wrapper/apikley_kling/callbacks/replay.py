"""Replay protection for callbacks: in memory, or in a SQLite file that survives a restart."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

__all__ = ["ReplayGuard", "SqliteReplayGuard"]


class ReplayGuard:
    """Remembers (taskId, timestamp, signature) seen within the tolerance window; thread-safe, bounded."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._seen: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def check_and_remember(self, key: tuple[str, str, str], *, expires_at: float, now: float) -> bool:
        """True the first time key is seen (and remembers it until expires_at), False on a replay."""
        with self._lock:
            for old, exp in list(self._seen.items()):
                if exp > now:
                    break
                del self._seen[old]
            if key in self._seen and self._seen[key] > now:
                return False
            self._seen[key] = expires_at
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
            return True

    def forget(self, key: tuple[str, str, str]) -> None:
        """Drop key, so that the service's retry of a callback we failed to record is accepted."""
        with self._lock:
            self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)


class SqliteReplayGuard(ReplayGuard):
    """A ReplayGuard kept in a SQLite file, so that a restarted receiver still refuses replays.

    Only entries inside the tolerance window are kept: older ones are refused by the
    timestamp check anyway, so each check deletes them and the file stays small.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        import sqlite3  # here: importing the SDK loads neither sqlite3 nor asyncio

        super().__init__()
        # One connection shared under the lock: a receiver's threads take turns, as with the memory guard.
        self._db: sqlite3.Connection = sqlite3.connect(os.fspath(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS seen (task_id TEXT, ts TEXT, sig TEXT, expires_at REAL,"
            " PRIMARY KEY (task_id, ts, sig))"
        )

    def check_and_remember(self, key: tuple[str, str, str], *, expires_at: float, now: float) -> bool:
        with self._lock:
            self._db.execute("DELETE FROM seen WHERE expires_at <= ?", (now,))
            cur = self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?, ?, ?)", (*key, expires_at))
            return cur.rowcount == 1

    def forget(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._db.execute("DELETE FROM seen WHERE task_id = ? AND ts = ? AND sig = ?", key)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM seen").fetchone()[0])
