"""The benchmarks keep running: their quick forms, end to end, in the test command.

Nothing here judges a figure against its goal (a shared machine makes timings
noise, and the table is for people to read); it checks that every bench runs,
measures something real beside its reference, and reports it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = ("import", "overhead", "wait", "fleet", "download", "simulator", "spec", "ledger")


def test_every_benchmark_runs_and_reports_beside_its_reference() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    doc = json.loads(run.stdout)
    rows = doc["rows"]
    for bench in BENCHES:
        assert f"{bench}:" in run.stderr, f"{bench} did not run"
    names = " | ".join(r["name"] for r in rows)
    for fragment in (
        "import apikley_kling",
        "Kling.tasks.get",
        "AsyncKling.tasks.get",
        "wait:",
        "fleet:",
        "download",
        "regen: whole family",
        "ledger: cost per job",
    ):
        assert fragment in names
    for r in rows:
        assert math.isfinite(r["ours"]) and r["ours"] >= 0, r
        assert math.isfinite(r["reference"]) and r["reference"] >= 0, r
        assert r["goal"] and isinstance(r["ok"], bool), r
    # The fleet bench must not hide failures: no error may reach the caller.
    errors = next(r for r in rows if r["name"] == "fleet: errors reaching the caller")
    assert errors["ours"] == 0, errors["note"]
