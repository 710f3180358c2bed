"""Learned prices: what creates really cost on this account, kept in a small SQLite file (a price book).

The book only stores what it is given and answers what it holds; whether a balance move may be
attributed to one create is decided on the create path (`_engine/learn.py`). A book is read once
when opened (bounded: at most MAX_KEYS prices, each row checked) into `ObservedPrices`, the in-memory
view estimates read without IO; each `record` writes one row and refreshes that view.

When observations of one (model, fields) differ, the latest wins: a price change on the service
then takes effect at once (the most common value would keep an old, lower price in the estimates,
and caps would let creates through that cost more than they say).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._logging import logger
from ..errors import ConfigurationError
from ._estimate import PriceSource

__all__ = ["BOOK_NAME", "Observation", "ObservedPrices", "ObservedSource", "PriceBook", "Seen"]

#: The price book's file name beside a batch's ledger (in its out folder).
BOOK_NAME = "prices.sqlite3"
SCHEMA_VERSION = 1
MAX_KEYS = 10_000  # (model, fields) read from a book: far more than the catalog can price
MAX_TEXT = 2_000  # a model id or a fields text longer than this is not ours: skipped

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS observations (id INTEGER PRIMARY KEY, model TEXT NOT NULL, fields TEXT NOT NULL,"
    " credits REAL NOT NULL, at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS observations_key ON observations (model, fields)",
    "CREATE TABLE IF NOT EXISTS reported (model TEXT NOT NULL, fields TEXT NOT NULL, at TEXT NOT NULL,"
    " PRIMARY KEY (model, fields))",
)
# Per (model, fields): the latest observation, and how many observations have that same price.
_LATEST = (
    "SELECT o.model, o.fields, o.credits, o.at, (SELECT COUNT(*) FROM observations c"
    " WHERE c.model = o.model AND c.fields = o.fields AND c.credits = o.credits)"
    " FROM observations o WHERE o.id IN (SELECT MAX(id) FROM observations {where} GROUP BY model, fields)"
    " ORDER BY o.id DESC LIMIT ?"
)


def fields_key(fields: Mapping[str, Any]) -> str:
    """The price-setting fields as one text (sorted JSON): how a book keys its rows."""
    return json.dumps(dict(fields), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Observation:
    """One create's real cost: `credits` the balance moved, for `model` with these price-setting `fields`,
    at `at` (seconds since the epoch); `card` the card's price for the same (None: unknown there)."""

    model: str
    fields: Mapping[str, Any]
    credits: float
    at: float
    card: float | None

    @property
    def differs(self) -> bool:
        """Whether the card says something else (or nothing)."""
        return self.card is None or self.card != self.credits


@dataclass(frozen=True)
class Seen:
    """What a book knows of one (model, fields): the latest price, how often that price was seen, when last."""

    credits: float
    times: int
    last: str


@dataclass(frozen=True)
class ObservedSource(PriceSource):
    """An estimate's source when it comes from a price book: `times` creates of this account cost this."""

    times: int = 1

    def __str__(self) -> str:
        return f"observed {self.times} time{'s' if self.times != 1 else ''} on this account (last {self.read})"


class ObservedPrices:
    """In memory, what a price book holds (read without IO, so the engine may estimate with it)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], Seen] = {}

    def get(self, model: str, fields: Mapping[str, Any]) -> Seen | None:
        with self._lock:
            return self._seen.get((model, fields_key(fields)))

    def source(self, seen: Seen) -> ObservedSource:
        return ObservedSource("observed", self.where, seen.last[:10], seen.times)

    def _put(self, model: str, key: str, seen: Seen) -> None:
        with self._lock:
            self._seen[(model, key)] = seen

    def __len__(self) -> int:
        return len(self._seen)


def _when(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat(timespec="seconds")


class PriceBook:
    """A price book at `path` (SQLite; made on the first observation, its folder too). Opening reads it;
    a file that is not a price book, or a newer one, is refused in one line (ConfigurationError)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.observed = ObservedPrices(str(self.path))
        self._lock = threading.Lock()
        self._warned = False
        if self.path.exists():
            try:
                with contextlib.closing(self._connect(read_only=True)) as db:
                    self._check_version(db)
                    self._refresh(db, None)
            except sqlite3.Error as exc:
                raise ConfigurationError(f"price book {self.path}: not a price book ({exc})") from None

    def _connect(self, *, read_only: bool = False) -> sqlite3.Connection:
        if read_only:
            return sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True, timeout=30)
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def _check_version(self, db: sqlite3.Connection) -> None:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise ConfigurationError(
                f"price book {self.path}: schema version {version} is newer than this SDK's ({SCHEMA_VERSION}); "
                "upgrade apikley-kling"
            )

    def _refresh(self, db: sqlite3.Connection, key: tuple[str, str] | None) -> None:
        """Read the latest price of every (model, fields), or of `key` only; rows that are not ours are skipped."""
        where, args = ("WHERE model = ? AND fields = ?", key) if key is not None else ("", ())
        for model, fields, credits, at, times in db.execute(_LATEST.format(where=where), (*args, MAX_KEYS)):
            if not all(isinstance(v, str) and len(v) <= MAX_TEXT for v in (model, fields, at)):
                continue
            if isinstance(credits, bool) or not isinstance(credits, (int, float)):
                continue
            if not (math.isfinite(credits) and credits >= 0) or not isinstance(times, int):
                continue
            self.observed._put(model, fields, Seen(float(credits), times, at))

    def record(self, observation: Observation) -> bool:
        """Store one observation; True when it differs from the card and no difference was reported yet for its
        (model, fields) in this book (the caller reports it). A write that fails is logged, never raised: the
        create it describes has happened and must not be lost over bookkeeping."""
        key = fields_key(observation.fields)
        at = _when(observation.at)
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = self._connect()
                try:
                    db.execute("BEGIN IMMEDIATE")
                    self._check_version(db)
                    for statement in _SCHEMA:
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    row = (observation.model, key, float(observation.credits), at)
                    db.execute("INSERT INTO observations (model, fields, credits, at) VALUES (?, ?, ?, ?)", row)
                    first = observation.differs and (
                        db.execute(
                            "INSERT OR IGNORE INTO reported (model, fields, at) VALUES (?, ?, ?)",
                            (observation.model, key, at),
                        ).rowcount
                        == 1
                    )
                    self._refresh(db, (observation.model, key))
                    db.execute("COMMIT")
                finally:
                    db.close()
            except (sqlite3.Error, OSError, ConfigurationError) as exc:
                if not self._warned:
                    self._warned = True
                    logger.warning("price book %s: cannot record an observed price: %s", self.path, exc)
                return False
            return first

    def __repr__(self) -> str:
        return f"PriceBook({str(self.path)!r}, {len(self.observed)} prices)"
