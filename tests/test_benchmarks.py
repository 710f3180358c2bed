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

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Each bench and what its rows must name; one test a bench, so that the suite's workers share them.
BENCHES = {
    "import": ("import apikley_kling",),
    "overhead": ("Kling.tasks.get", "AsyncKling.tasks.get"),
    "wait": ("wait:",),
    "fleet": ("fleet:",),
    "download": ("download",),
    "simulator": (),
    "spec": ("regen: whole family",),
    "ledger": ("ledger: cost per job",),
    "peers": (
        "peers overhead: Kling vs runwayml",
        "peers wait: queries/task, ours vs fal-client",
        "peers import: apikley_kling vs openai",
    ),
}


@pytest.mark.parametrize("bench", sorted(BENCHES))
def test_every_benchmark_runs_and_reports_beside_its_reference(bench: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", "--only", bench],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = json.loads(run.stdout)["rows"]
    assert f"{bench}:" in run.stderr, f"{bench} did not run"
    assert rows, f"{bench} reported no row"
    names = " | ".join(r["name"] for r in rows)
    for fragment in BENCHES[bench]:
        assert fragment in names
    for r in rows:
        assert math.isfinite(r["ours"]) and r["ours"] >= 0, r
        assert math.isfinite(r["reference"]) and r["reference"] >= 0, r
        assert r["goal"] and isinstance(r["ok"], bool), r
    if bench == "fleet":  # the fleet bench must not hide failures: no error may reach the caller
        errors = next(r for r in rows if r["name"] == "fleet: errors reaching the caller")
        assert errors["ours"] == 0, errors["note"]


def _readme_section(path: Path, heading: str) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def test_the_readme_table_states_the_goals_the_benchmarks_hold() -> None:
    """The README once said import <= 1.5x and overhead <= 1.15x while the benches held 1.3x and 1.10x."""
    from benchmarks.goals import GOALS, row_names

    section = _readme_section(ROOT / "README.md", "## Benchmarks")
    table = section.split("```")[1].splitlines()  # the first block: the printed table
    for goals in GOALS.values():
        for template, goal in goals.items():
            rows = [line for line in table if (m := row_names(template).match(line)) and line[m.end()] == " "]
            assert rows, f"the README's table has no row {template!r}"
            for line in rows:
                assert f" {goal}  yes" in line or f" {goal}  NO" in line, (goal, line)


def test_the_benchmarks_readme_states_every_goal() -> None:
    from benchmarks.goals import GOALS

    section = _readme_section(ROOT / "benchmarks" / "README.md", "## Benchmarks")
    for bench, goals in GOALS.items():
        [row] = [line for line in section.splitlines() if line.startswith(f"| `{bench}` |")]
        goal_cell = row.rstrip(" |").rsplit("|", 1)[1]
        for goal in goals.values():
            assert f"`{goal}`" in goal_cell, (bench, goal, goal_cell)
