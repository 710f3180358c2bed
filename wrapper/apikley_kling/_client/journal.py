"""The shell side of keyed creates: opening the journal a client was given (its file is opened here, not in the
engine; every later journal call is a JournalStep effect)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._engine.core import Core
    from .._engine.journal import Journal
    from ..ledger import BaseLedger

__all__ = ["open_journal"]


def open_journal(core: Core, journal: str | os.PathLike[str] | BaseLedger | None) -> Journal | None:
    """The journal of keyed creates: a ledger as given, or a SQLite one at a path (opened now, closed with the
    client)."""
    if journal is None:
        return None
    from .._engine.journal import Journal
    from ..ledger import BaseLedger, SqliteLedger

    if isinstance(journal, BaseLedger):
        return Journal(core, journal)
    return Journal(core, SqliteLedger(os.fspath(journal)), owned=True)
