"""SIGKILL `kling batch` at random moments against a served simulator; re-run; nothing lost, nothing paid twice.

The simulator drops some createTask answers after recording (and charging) the
task: those jobs must be reported ambiguous and only resent with
--resubmit-ambiguous. A kill between "create sent" and "task id committed"
also leaves an ambiguous row, which is the honest answer: the ledger cannot
know whether that create arrived.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from pathlib import Path

import pytest
from apikley_kling.ledger import SqliteLedger
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator, Timings

from ..cli_env import KLING, LIGHTHOUSE, videos

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

N_JOBS = 10


def _batch(jobs: Path, out: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    cmd = [
        KLING,
        "batch",
        str(jobs),
        "--out",
        str(out),
        "--concurrency",
        "4",
        "--poll-interval",
        "0.1",
        "--timeout",
        "60",
        "--json",
        *extra,
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("seed", [7, 2024])
def test_sigkill_and_resume(tmp_path: Path, subprocess_env: dict[str, str], seed: int) -> None:
    rng = random.Random(seed)
    sim = Simulator(seed=seed, video_cache=videos(), timings=Timings(waiting=0.05, queuing=0.1, generation=0.3))
    sim.faults.add("createTask", "drop_after_record", probability=0.25)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        "".join(json.dumps({"prompt": f"shot {i}", "image": str(LIGHTHOUSE)}) + "\n" for i in range(N_JOBS))
    )
    out = tmp_path / "out"
    ambiguous_seen: set[int] = set()
    kills = 0
    with sim.serve(port=0) as url:
        env = {**subprocess_env, "APIKLEY_BASE_URL": url, "APIKLEY_API_KEY": DEFAULT_API_KEY}
        for _ in range(3):
            proc = _batch(jobs, out, env)
            try:
                stdout, _ = proc.communicate(timeout=rng.uniform(0.6, 2.0))
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.communicate(timeout=10)
                kills += 1
                continue
            doc = json.loads(stdout)
            ambiguous_seen |= {j["line"] for j in doc["jobs"] if j["outcome"] == "ambiguous"}
        # Without permission, ambiguous jobs are reported and not resent.
        proc = _batch(jobs, out, env)
        stdout, stderr = proc.communicate(timeout=60)
        doc = json.loads(stdout)
        ambiguous = {j["line"] for j in doc["jobs"] if j["outcome"] == "ambiguous"}
        ambiguous_seen |= ambiguous
        assert proc.returncode == (6 if ambiguous else 0), stderr
        assert doc["resubmitted"] == 0
        # With permission, they are sent again (and may be dropped again: repeat, bounded).
        for _ in range(10):
            paid_before = sim.counters.tasks_created[DEFAULT_API_KEY]
            proc = _batch(jobs, out, env, "--resubmit-ambiguous")
            stdout, stderr = proc.communicate(timeout=60)
            doc = json.loads(stdout)
            # Each resubmission pays exactly once (its answer may be lost again, but it was sent once).
            assert sim.counters.tasks_created[DEFAULT_API_KEY] == paid_before + doc["resubmitted"]
            ambiguous_seen |= {j["line"] for j in doc["jobs"] if j["outcome"] == "ambiguous"}
            if proc.returncode == 0:
                break
            assert proc.returncode == 6, stdout + stderr
        assert proc.returncode == 0, stdout + stderr
        assert doc["counts"] == {"done": N_JOBS}
        paid = sim.counters.tasks_created[DEFAULT_API_KEY]
        drops = sim.counters.faults_injected["drop_after_record"]

    with SqliteLedger.in_dir(out) as led:
        rows = led.rows()
    assert len(rows) == N_JOBS and {r.state for r in rows} == {"done"}
    task_ids = [r.task_id for r in rows]
    assert len(set(task_ids)) == N_JOBS
    for r in rows:
        assert r.path and Path(r.path).read_bytes()[4:8] == b"ftyp"
        assert r.task_id is not None and sim.record(r.task_id)["state"] == "success"
    resubmissions = sum(r.attempts - 1 for r in rows)
    # Every dropped answer was paid and had to be resent; every extra payment is a resubmission
    # the user allowed; nothing was paid twice behind the user's back.
    assert N_JOBS + drops <= paid <= N_JOBS + resubmissions
    if drops:
        assert ambiguous_seen, "dropped creates must be reported as ambiguous"
    assert len(list(out.glob("*.mp4"))) == N_JOBS
    assert kills >= 1, "the seed should kill at least one run; pick another seed"
