"""Versioned schema migrations, one list per backend, applied on start inside one transaction.

The version lives in a one-row table, ``ledger_schema``. A ledger written by a newer
release (a higher version than this release knows) is refused with one line, never
used: an older release could break rules it does not know about.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._version import __version__
from ._types import Exec, LedgerUnavailable

#: Each entry is one version: the statements that bring the previous version to it.
Migrations = Sequence[Sequence[str]]


class SchemaTooNew(LedgerUnavailable):
    """The ledger was written by a newer apikley-kling: refused rather than risk breaking its rules."""


def migrate(ex: Exec, migrations: Migrations, where: str) -> int:
    """Bring the schema to the latest version this release knows; return it. Call inside a transaction
    that excludes other migrators (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock)."""
    ex("CREATE TABLE IF NOT EXISTS ledger_schema (version INTEGER NOT NULL)")
    found = ex("SELECT version FROM ledger_schema")
    current = int(found[0][0]) if found else 0
    latest = len(migrations)
    if current > latest:
        raise SchemaTooNew(
            f"the ledger {where} has schema version {current}, newer than this apikley-kling {__version__} "
            f"knows ({latest}): upgrade apikley-kling (pip install -U apikley-kling) to use it"
        )
    for version in range(current + 1, latest + 1):
        for statement in migrations[version - 1]:
            ex(statement)
    if not found:
        ex("INSERT INTO ledger_schema (version) VALUES (?)", (latest,))
    elif current != latest:
        ex("UPDATE ledger_schema SET version = ?", (latest,))
    return latest
