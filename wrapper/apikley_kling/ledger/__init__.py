"""The batch's write-ahead ledger: one interface, two backends.

- SQLite (`SqliteLedger`, the default): one file beside the outputs, one runner per folder.
- PostgreSQL (`PgLedger`, ``postgresql://`` URLs, the ``[postgres]`` extra): any number of
  workers on any number of machines share one batch; each job is claimed by exactly one.

The state machine and every rule of it (write-ahead ``submitting`` before the create,
``created`` with the task id right after, ambiguous never resent without permission,
claims as leases) live once, in ``_machine``; see its docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ._lock import FolderBusy, exclusive
from ._machine import LEASE_SECONDS, BaseLedger
from ._migrate import SchemaTooNew
from ._sqlite import LEDGER_NAME, SqliteLedger
from ._status import FleetStatus, fleet_status
from ._status import render as render_status
from ._types import (
    STATES,
    Claim,
    LedgerError,
    LedgerLost,
    LedgerUnavailable,
    Row,
    State,
    Worker,
)
from ._url import ENV_LEDGER_URL, INSTALL, is_postgres_url, redact_url, secrets_of, unencoded_password

if TYPE_CHECKING:
    from ._budget import PgBudget
    from ._postgres import PgLedger

__all__ = [
    "ENV_LEDGER_URL",
    "INSTALL",
    "LEASE_SECONDS",
    "LEDGER_NAME",
    "STATES",
    "BaseLedger",
    "Claim",
    "FleetStatus",
    "FolderBusy",
    "LedgerError",
    "LedgerLost",
    "LedgerUnavailable",
    "PgBudget",
    "PgLedger",
    "Row",
    "SchemaTooNew",
    "SqliteLedger",
    "State",
    "Worker",
    "exclusive",
    "fleet_status",
    "is_postgres_url",
    "open_ledger",
    "redact_url",
    "render_status",
    "secrets_of",
    "unencoded_password",
]


def open_ledger(url: str | None, out_dir: str | Path, *, clock: Callable[[], float] | None = None) -> BaseLedger:
    """The ledger a batch writing to `out_dir` uses: PostgreSQL at `url`, else SQLite in `out_dir`.

    LedgerUnavailable (one line, no password) when it cannot be opened: no driver, no server, a newer schema.
    """
    if not url:
        return SqliteLedger.in_dir(out_dir, clock=clock)
    if not is_postgres_url(url):
        raise LedgerUnavailable(
            f"a ledger URL starts with postgresql:// (got {redact_url(url)}); "
            f"without one the ledger is {Path(out_dir) / LEDGER_NAME}"
        )
    from ._postgres import PgLedger

    return PgLedger(url, clock=clock)


def __getattr__(name: str) -> object:
    # The PostgreSQL classes load psycopg's module chain only when asked for.
    if name == "PgLedger":
        from ._postgres import PgLedger

        return PgLedger
    if name == "PgBudget":
        from ._budget import PgBudget

        return PgBudget
    if name == "Ledger":  # this package's old name for the SQLite ledger, beside PgLedger and BaseLedger
        import warnings

        warnings.warn(
            "apikley_kling.ledger.Ledger is deprecated; use apikley_kling.ledger.SqliteLedger",
            DeprecationWarning,
            stacklevel=2,
        )
        return SqliteLedger
    raise AttributeError(name)
