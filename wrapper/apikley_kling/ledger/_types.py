"""The ledger's types: rows, workers, claims, errors, and the executor a backend hands the state machine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from .. import exit_codes

State = Literal["submitting", "created", "done", "failed", "ambiguous"]
STATES: Final[tuple[State, ...]] = ("submitting", "created", "done", "failed", "ambiguous")


@dataclass(frozen=True)
class Row:
    """One job's row in the ledger: its state, task, file, attempts and owner."""

    key: str
    line: int
    job: dict[str, Any]
    state: State
    task_id: str | None
    path: str | None
    error: str | None
    attempts: int
    owner: str | None = None  # the worker that holds (or last held) the job
    lease_until: float | None = None  # the owner's claim runs out then (ledger clock, seconds)
    host: str | None = None  # the machine `path` is on


@dataclass(frozen=True)
class Worker:
    """One `kling batch` process that registered with the ledger."""

    id: str
    host: str
    pid: int
    out_dir: str
    started_at: float
    heartbeat_at: float
    stopped_at: float | None
    lease: float

    def alive(self, now: float) -> bool:
        return self.stopped_at is None and self.heartbeat_at + self.lease > now


ClaimKind = Literal["submit", "watch", "busy", "settled"]


@dataclass(frozen=True)
class Claim:
    """What a claim gave this worker: a create to send (`submit`), a task to wait on (`watch`), nothing
    yet because another live worker holds the job (`busy`), or a job that is over (`settled`)."""

    kind: ClaimKind
    row: Row | None


class LedgerError(Exception):
    """A transition that the state machine does not allow (a bug, or a claim another worker took over)."""


class LedgerUnavailable(Exception):
    """The ledger cannot be opened or reached (no driver, server down, a newer schema); one line, exit 2."""


class LedgerLost(LedgerUnavailable):
    """The ledger's database stayed unreachable for longer than the reconnect window, mid-run: one line, and
    the exit code of a transport failure. What was committed stands; a re-run resumes from it."""

    exit_code: Final = exit_codes.API


class Exec(Protocol):
    """A cursor in a transaction: `?` placeholders, every row the statement returned."""

    def __call__(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
