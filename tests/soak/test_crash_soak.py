"""Crash soak: `kling batch` SIGKILLed (or Ctrl-C'd) again and again at random moments, then resumed to the end.

The served simulator drops about a fifth of createTask answers after recording
(and charging) the task. Whenever a run ends before its kill, more jobs are
appended to the job file so that every kill lands on work in progress. The key
is a canary that no output may show.

Pass: every job ends done exactly once with its own task and video; every
dropped answer was reported as ambiguous; the simulator was paid for each job
once plus only the resubmissions the user allowed (--resubmit-ambiguous).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from apikley_kling.ledger import SqliteLedger
from apikley_kling.simulator import Money, Simulator, Timings

from .conftest import VIDEOS, size

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

CANARY = "sk-canary-crash-3b8d0c6e1f"
KLING = str(Path(sys.executable).with_name("kling"))
LIGHTHOUSE = Path(__file__).resolve().parents[2] / "examples" / "assets" / "lighthouse.png"
BLOCK = 8  # jobs appended whenever a run finishes before it could be killed


def _append_jobs(jobs: Path, start: int, count: int) -> None:
    with jobs.open("a") as f:
        for i in range(start, start + count):
            f.write(json.dumps({"prompt": f"crash soak shot {i}", "image": str(LIGHTHOUSE)}) + "\n")


def test_crash_soak(tmp_path: Path) -> None:
    kills_wanted = size(4, 20)
    rng = random.Random(20261126)
    sim = Simulator(
        api_keys=(CANARY,),
        seed=3,
        video_cache=VIDEOS,
        money=Money(credits=1e9),
        timings=Timings(waiting=0.05, queuing=0.1, generation=0.8),
    )
    sim.faults.add("createTask", "drop_after_record", probability=0.2)
    jobs, out = tmp_path / "jobs.jsonl", tmp_path / "out"
    n_jobs = 2 * BLOCK
    _append_jobs(jobs, 0, n_jobs)
    outputs: list[str] = []
    ambiguous_seen: set[int] = set()

    def batch(*extra: str) -> subprocess.Popen[str]:
        cmd = [KLING, "batch", str(jobs), "--out", str(out), "--poll-interval", "0.1", "--timeout", "60", "--json"]
        cmd += ["--concurrency", str(rng.choice([2, 4, 8])), *extra]
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finished(proc: subprocess.Popen[str], stdout: str, stderr: str) -> dict[str, object]:
        outputs.extend([stdout, stderr])
        assert proc.returncode in (0, 6), stdout + stderr  # all done, or some reported ambiguous
        doc: dict[str, object] = json.loads(stdout)
        ambiguous_seen.update(j["line"] for j in doc["jobs"] if j["outcome"] == "ambiguous")  # type: ignore[attr-defined]
        return doc

    def ctrl_c(proc: subprocess.Popen[str]) -> None:
        """Every other interruption is a Ctrl-C: the run stops, saying what is in flight (the timeout only turns a
        hang into a failure; test_batch_guard proves the stop does not wait for running tasks)."""
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
        outputs.extend([stdout, stderr])
        # -SIGINT: the signal came while Python was still starting, before the CLI could catch it.
        assert proc.returncode in (130, -signal.SIGINT), stderr
        if proc.returncode == 130:
            assert "Traceback" not in stderr and "run the same command again" in stderr, stderr

    kills = runs = 0
    with sim.serve(port=0) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("APIKLEY_")}
        env.update(APIKLEY_BASE_URL=url, APIKLEY_API_KEY=CANARY, COLUMNS="120", PYTHONDONTWRITEBYTECODE="1")
        while kills < kills_wanted:
            runs += 1
            assert runs <= 4 * kills_wanted, "runs keep finishing before their kill"
            proc = batch()
            try:
                stdout, stderr = proc.communicate(timeout=rng.uniform(0.3, 1.5))
            except subprocess.TimeoutExpired:
                kills += 1
                if kills % 2:
                    os.kill(proc.pid, signal.SIGKILL)
                    outputs.extend(proc.communicate(timeout=10))
                else:
                    ctrl_c(proc)
                continue
            finished(proc, stdout, stderr)
            _append_jobs(jobs, n_jobs, BLOCK)
            n_jobs += BLOCK
        # Resume without permission: ambiguous jobs are reported, never resent.
        proc = batch()
        doc = finished(proc, *proc.communicate(timeout=120))
        assert doc["resubmitted"] == 0
        # With permission they are sent again (and may be dropped again: repeat, bounded).
        for _ in range(20):
            paid_before = sim.counters.tasks_created[CANARY]
            proc = batch("--resubmit-ambiguous")
            doc = finished(proc, *proc.communicate(timeout=120))
            assert sim.counters.tasks_created[CANARY] == paid_before + doc["resubmitted"]
            if proc.returncode == 0:
                break
        assert proc.returncode == 0
        assert doc["counts"] == {"done": n_jobs}
        paid = sim.counters.tasks_created[CANARY]
        drops = sim.counters.faults_injected["drop_after_record"]

    with SqliteLedger.in_dir(out) as led:
        rows = led.rows()
    assert len(rows) == n_jobs and {r.state for r in rows} == {"done"}
    assert len({r.task_id for r in rows}) == n_jobs
    for r in rows:
        assert r.task_id is not None and sim.record(r.task_id)["state"] == "success"
        assert r.path and Path(r.path).read_bytes()[4:8] == b"ftyp"
    assert len(list(out.glob("*.mp4"))) == n_jobs
    resubmissions = sum(r.attempts - 1 for r in rows)
    # Each dropped answer was paid and had to be resent; every other extra payment is a
    # resubmission the user allowed; nothing was paid twice behind the user's back.
    assert n_jobs + drops <= paid <= n_jobs + resubmissions
    # Every job that had to be resent had first been reported as ambiguous.
    assert {r.line for r in rows if r.attempts > 1} <= ambiguous_seen
    for text in outputs:
        assert CANARY not in text
    print(f"{kills} kills in {runs} runs; {n_jobs} jobs, {paid} paid, {drops} dropped answers, {resubmissions} resent")
