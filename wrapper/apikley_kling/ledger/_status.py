"""The fleet's progress from the ledger alone: what is done, in flight, ambiguous, failed, and where each video is."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from ._machine import BaseLedger
from ._types import Row

Phase = Literal["done", "in flight", "waiting", "ambiguous", "failed", "pending"]
#: In the order a person reads them. `waiting`: the task exists but its worker is gone; the next worker takes it.
PHASES: Final[tuple[Phase, ...]] = ("done", "in flight", "waiting", "ambiguous", "failed", "pending")


@dataclass(frozen=True)
class JobStatus:
    line: int
    key: str
    phase: Phase
    task_id: str | None = None
    host: str | None = None
    file: str | None = None  # where the video is, on `host`
    worker: str | None = None
    attempts: int = 0
    error: str | None = None


@dataclass(frozen=True)
class WorkerStatus:
    id: str
    host: str
    out_dir: str
    pid: int
    alive: bool
    seconds_since_heartbeat: float
    holds: int
    stopped: bool = False  # ended cleanly (gave its claims up); not alive and not stopped: went silent


@dataclass(frozen=True)
class FleetStatus:
    """What `kling ledger` shows: every job's state and where its video is, and the workers (alive, stopped, silent)."""

    ledger: str
    jobs: list[JobStatus]
    workers: list[WorkerStatus] = field(default_factory=list)

    @property
    def counts(self) -> dict[Phase, int]:
        return {p: sum(1 for j in self.jobs if j.phase == p) for p in PHASES}

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        for w in doc["workers"]:
            w["seconds_since_heartbeat"] = round(w["seconds_since_heartbeat"], 1)
        return {"ledger": self.ledger, "counts": self.counts, "workers": doc["workers"], "jobs": doc["jobs"]}


def _phase(row: Row, now: float) -> Phase:
    live = row.lease_until is not None and row.lease_until > now
    if row.state == "submitting":
        return "in flight" if live else "ambiguous"  # a create whose sender is gone may have been paid
    if row.state == "created":
        return "in flight" if live else "waiting"
    return row.state


def fleet_status(ledger: BaseLedger, jobs: list[tuple[int, str]] | None = None) -> FleetStatus:
    """Every row of the ledger (or only `jobs`, as (line, key), with those not in it yet as pending)."""
    now = ledger.now()
    rows = {r.key: r for r in ledger.rows()}
    wanted = jobs if jobs is not None else [(r.line, r.key) for r in rows.values()]
    out: list[JobStatus] = []
    for line, key in wanted:
        row = rows.get(key)
        if row is None:
            out.append(JobStatus(line, key, "pending"))
            continue
        phase = _phase(row, now)
        done = phase == "done"
        out.append(
            JobStatus(
                line,
                key,
                phase,
                task_id=row.task_id,
                host=row.host if done else None,
                file=row.path if done else None,
                worker=row.owner,
                attempts=row.attempts,
                error=None if done else row.error,
            )
        )
    held: dict[str, int] = {}
    for r in rows.values():
        if r.owner and r.lease_until is not None and r.lease_until > now:
            held[r.owner] = held.get(r.owner, 0) + 1
    workers = [
        WorkerStatus(
            w.id,
            w.host,
            w.out_dir,
            w.pid,
            w.alive(now),
            max(0.0, now - w.heartbeat_at),
            held.get(w.id, 0),
            stopped=w.stopped_at is not None,
        )
        for w in ledger.workers()
    ]
    return FleetStatus(ledger.where, out, workers)


def render(status: FleetStatus, *, show_gone: int = 5) -> list[str]:
    """The status as plain lines for a person: counts, live workers, videos, then what needs a look."""
    counts = status.counts
    lines = [f"ledger {status.ledger}", ", ".join(f"{n} {p}" for p, n in counts.items())]
    alive = [w for w in status.workers if w.alive]
    gone = [w for w in status.workers if not w.alive]
    stopped = sum(1 for w in gone if w.stopped)
    lines.append(f"workers: {len(alive)} alive, {stopped} stopped, {len(gone) - stopped} silent (dead?)")
    for w in alive + gone[-show_gone:]:
        ago = f"{w.seconds_since_heartbeat:.0f} s ago"
        state = f"alive, holds {w.holds}" if w.alive else (f"stopped {ago}" if w.stopped else f"silent since {ago}")
        lines.append(f"  {w.host}:{w.out_dir} pid {w.pid}: {state}")
    for j in status.jobs:
        if j.phase == "done":
            lines.append(f"  line {j.line}: {j.host}:{j.file} (task {j.task_id})")
        elif j.phase in ("ambiguous", "failed", "waiting"):
            lines.append(
                f"  line {j.line}: {j.phase}: {j.error or '-'}" + (f" (task {j.task_id})" if j.task_id else "")
            )
    return lines
