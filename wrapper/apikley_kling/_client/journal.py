"""The shell side of keyed creates: opening the journal a client was given (its file is opened here, not in the
engine; every later journal call is a JournalStep effect)."""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING

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
    path = os.fspath(journal)
    held = _hold(path)
    try:
        opened = Journal(core, SqliteLedger(path), owned=True)
    except BaseException:
        held.close()
        raise
    opened.lock = held
    return opened


def _hold(path: str) -> IO[bytes]:
    """One client per journal file: an exclusive lock on `<path>.lock`, held until the client closes. A second
    client (another process: a cron run overlapping the last) would take the first one's create in flight for a
    lost answer; it is refused instead."""
    import fcntl

    from ..errors import ConfigurationError

    held = open(f"{path}.lock", "ab")  # noqa: SIM115 - held open with the client, closed by it
    try:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        held.close()
        raise ConfigurationError(f"journal {path} is in use by another client (one client per journal)") from None
    return held
