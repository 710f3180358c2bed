"""Fleet crash soak: three `kling batch` workers on one PostgreSQL ledger, SIGKILLed at random and restarted.

One served simulator drops about a fifth of createTask answers after recording
(and charging) the task. Three worker processes, each with its own output folder
(three machines, as far as the ledger can tell), run the same job file with the
ledger's URL in the environment. A worker is SIGKILLed only while the ledger shows
it holding a job (registered, a claim of its own not yet done), at a random one
of those moments, and started again; its claims run out (a 2 s lease) and the
others take them over. When every job has ended, more jobs are
appended so that kills keep landing on work in progress. The kills are counted by
what the ledger shows, not by the clock: a slow machine gives the same run, later.

Pass: every job ends done exactly once, with its own task (a success in the
simulator) and a real MP4 (PyAV decodes a frame) at the path the ledger gives, on
this host; nothing is resent without --resubmit-ambiguous (until then at most one
paid task per job); each resubmitting round pays exactly what the workers say they
resent; jobs + dropped answers <= paid <= jobs + resubmissions; every job sent
again had first been reported ambiguous; the workers that never said goodbye to
the ledger are exactly the killed ones.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from apikley_kling.ledger import PgLedger
from apikley_kling.simulator import Money, Simulator, Timings

from .conftest import VIDEOS, size

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

KEY = "sk-fleet-soak-5d2e"
KLING = str(Path(sys.executable).with_name("kling"))
LIGHTHOUSE = Path(__file__).resolve().parents[2] / "examples" / "assets" / "lighthouse.png"
WORKERS = 3
BLOCK = 6


def _append_jobs(jobs: Path, start: int, count: int) -> None:
    with jobs.open("a") as f:
        for i in range(start, start + count):
            f.write(json.dumps({"prompt": f"fleet soak shot {i}", "image": str(LIGHTHOUSE)}) + "\n")


class Fleet:
    """Three worker slots on one ledger; each slot keeps its folder across restarts."""

    def __init__(self, tmp_path: Path, env: dict[str, str], rng: random.Random) -> None:
        self.jobs = tmp_path / "jobs.jsonl"
        self.outs = [tmp_path / f"machine{i}" for i in range(WORKERS)]
        self.env = env
        self.rng = rng
        self.procs: list[subprocess.Popen[str] | None] = [None] * WORKERS
        self.ambiguous_seen: set[int] = set()
        self.outputs: list[str] = []

    def start(self, slot: int, *extra: str) -> subprocess.Popen[str]:
        cmd = [KLING, "batch", str(self.jobs), "--out", str(self.outs[slot]), "--poll-interval", "0.1"]
        cmd += ["--timeout", "60", "--lease", "2", "--json", "--concurrency", str(self.rng.choice([2, 4])), *extra]
        proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs[slot] = proc
        return proc

    def collect(self, proc: subprocess.Popen[str], timeout: float = 120) -> dict[str, object]:
        stdout, stderr = proc.communicate(timeout=timeout)
        self.outputs += [stdout, stderr]
        assert proc.returncode in (0, 6), stdout + stderr  # all done, or some reported ambiguous
        doc: dict[str, object] = json.loads(stdout)
        self.ambiguous_seen.update(j["line"] for j in doc["jobs"] if j["outcome"] == "ambiguous")  # type: ignore[attr-defined]
        return doc

    def kill(self, slot: int) -> int:
        proc = self.procs[slot]
        assert proc is not None
        os.kill(proc.pid, signal.SIGKILL)
        self.outputs += list(proc.communicate(timeout=10))
        self.procs[slot] = None
        return proc.pid

    def reap(self) -> None:
        """Collect the workers that finished on their own."""
        for slot, proc in enumerate(self.procs):
            if proc is not None and proc.poll() is not None:
                self.collect(proc)
                self.procs[slot] = None

    def open_jobs(self, ledger: PgLedger, n_jobs: int) -> int:
        """Jobs of the file not yet ended (not in the ledger yet, or being sent or awaited)."""
        return n_jobs - sum(1 for r in ledger.rows() if r.state not in ("submitting", "created"))

    def busy(self, ledger: PgLedger) -> list[int]:
        """The slots whose worker is registered and holds a job not yet done: where a kill hits work."""
        holders = {r.owner for r in ledger.rows() if r.state in ("submitting", "created")}
        pids = {w.pid for w in ledger.workers() if w.id in holders and w.host == socket.gethostname()}
        return [s for s, p in enumerate(self.procs) if p is not None and p.poll() is None and p.pid in pids]

    def round(self, *extra: str) -> list[dict[str, object]]:
        """All three workers, no kills, until each has finished."""
        procs = [self.start(slot, *extra) for slot in range(WORKERS)]
        return [self.collect(p) for p in procs]


def _is_video(path: str) -> bool:
    with av.open(path) as container:
        return bool(container.streams.video) and next(container.decode(video=0), None) is not None


def test_fleet_crash_soak(tmp_path: Path, pg_url: str) -> None:
    kills_wanted = size(3, 20)
    rng = random.Random(20261203)
    sim = Simulator(
        api_keys=(KEY,),
        money=Money(credits=1e9),
        timings=Timings(waiting=0.05, queuing=0.1, generation=0.6),
        seed=5,
        video_cache=VIDEOS,
    )
    sim.faults.add("createTask", "drop_after_record", probability=0.2)
    n_jobs = 3 * BLOCK
    killed: set[int] = set()
    with sim.serve(port=0) as url, PgLedger(pg_url) as watcher:
        env = {k: v for k, v in os.environ.items() if not k.startswith("APIKLEY_")}
        # The ledger's URL (with its password) in the environment, never on argv.
        env.update(APIKLEY_BASE_URL=url, APIKLEY_API_KEY=KEY, APIKLEY_LEDGER_URL=pg_url, PYTHONDONTWRITEBYTECODE="1")
        fleet = Fleet(tmp_path, env, rng)
        _append_jobs(fleet.jobs, 0, n_jobs)
        for slot in range(WORKERS):
            fleet.start(slot)
        hang = time.monotonic() + 900  # turns a fleet that stops moving into a failure; no claim about speed
        while len(killed) < kills_wanted:
            assert time.monotonic() < hang, f"the fleet stopped moving after {len(killed)} kills"
            time.sleep(0.05)  # bounded wait on the other processes' ledger
            fleet.reap()
            if fleet.open_jobs(watcher, n_jobs) == 0:
                _append_jobs(fleet.jobs, n_jobs, BLOCK)  # every job has ended: give the next kills work
                n_jobs += BLOCK
            elif (busy := fleet.busy(watcher)) and rng.random() < 0.3:  # a random one of the busy moments
                killed.add(fleet.kill(rng.choice(busy)))
            for slot in range(WORKERS):
                if fleet.procs[slot] is None:
                    fleet.start(slot)
        kills = len(killed)
        for proc in fleet.procs:
            if proc is not None:
                fleet.collect(proc)
        # Without permission, ambiguous jobs are reported, never resent: at most one paid task per job.
        docs = fleet.round()
        assert all(d["resubmitted"] == 0 for d in docs)
        assert sim.counters.tasks_created[KEY] <= n_jobs
        # With permission the fleet sends each one again, once (and the answer may be dropped again).
        for _ in range(10):
            paid_before = sim.counters.tasks_created[KEY]
            docs = fleet.round("--resubmit-ambiguous")
            assert sim.counters.tasks_created[KEY] == paid_before + sum(int(d["resubmitted"]) for d in docs)  # type: ignore[call-overload]
            if all(d["exit_code"] == 0 for d in docs):
                break
        assert all(d["counts"] == {"done": n_jobs} for d in docs), docs
        paid = sim.counters.tasks_created[KEY]
        drops = sim.counters.faults_injected["drop_after_record"]

    with PgLedger(pg_url) as led:
        rows = led.rows()
        workers = led.workers()
    assert len(rows) == n_jobs and {r.state for r in rows} == {"done"}
    assert len({r.task_id for r in rows}) == n_jobs
    outs = {str(o) for o in fleet.outs}
    for r in rows:
        assert r.task_id is not None and sim.record(r.task_id)["state"] == "success"
        assert r.path and r.host == socket.gethostname() and str(Path(r.path).parent) in outs
        assert _is_video(r.path), r.path
    resubmissions = sum(r.attempts - 1 for r in rows)
    assert n_jobs + drops <= paid <= n_jobs + resubmissions
    assert {r.line for r in rows if r.attempts > 1} <= fleet.ambiguous_seen
    # Ambiguity comes only from a dropped answer or a kill with creates in flight (at most 4 a worker), never
    # from a live worker's claim being taken: its lease holds it.
    assert len(fleet.ambiguous_seen) <= drops + 4 * kills, (len(fleet.ambiguous_seen), drops, kills)
    # Every kill hit a registered worker, and every other worker gave its claims up when it ended.
    assert {w.pid for w in workers if w.stopped_at is None} == killed
    for text in fleet.outputs:
        assert KEY not in text and pg_url.split("@")[0] not in text
    print(
        f"{kills} kills; {n_jobs} jobs, {paid} paid, {drops} dropped answers, {resubmissions} resent, "
        f"{len(fleet.ambiguous_seen)} reported ambiguous"
    )
