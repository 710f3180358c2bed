"""`kling batch` end to end on an in-process simulator: validation, dry run, resume, ambiguity."""

from __future__ import annotations

import json
from pathlib import Path

from apikley_kling import cli
from apikley_kling._spec import create_limits
from apikley_kling.ledger import Ledger
from apikley_kling.simulator import DEFAULT_API_KEY

from .conftest import LIGHTHOUSE, CliEnv


def jobs_file(tmp_path: Path, lines: list[object]) -> Path:
    p = tmp_path / "jobs.jsonl"
    p.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return p


def good_jobs(tmp_path: Path, n: int) -> Path:
    return jobs_file(tmp_path, [{"prompt": f"shot {i}", "image": str(LIGHTHOUSE)} for i in range(n)])


def test_bad_lines_reported_with_numbers_nothing_sent(kling_cli: CliEnv, tmp_path: Path) -> None:
    lim = create_limits()
    f = jobs_file(
        tmp_path,
        [
            {"prompt": "fine", "image": str(LIGHTHOUSE)},
            "{oops",
            {"prompt": "x" * (lim.prompt_max + 1), "image": str(LIGHTHOUSE)},
            {"prompt": "p", "image": str(tmp_path / "missing.png")},
            {"prompt": "p", "image": str(LIGHTHOUSE), "duration": "3"},
        ],
    )
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "out"))
    assert r.exit_code == cli.EXIT_USAGE
    assert "Traceback" not in r.stderr
    for n in (2, 3, 4, 5):
        assert f"{f}:{n}: " in r.stderr
    assert f"{f}:1:" not in r.stderr
    assert "4 bad lines" in r.stderr.splitlines()[-1] and "nothing was sent" in r.stderr
    assert kling_cli.requests == 0
    assert not (tmp_path / "out" / "ledger.sqlite3").exists()


def test_dry_run_needs_no_key_and_sends_nothing(kling_cli: CliEnv, tmp_path: Path) -> None:
    f = good_jobs(tmp_path, 3)
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "out"), "--dry-run", "--json", env={"APIKLEY_API_KEY": None})
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["dry_run"] and doc["would_create"] == 3 and doc["price_per_task"] == "unknown"
    assert kling_cli.requests == 0
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "out"), "--dry-run", env={"APIKLEY_API_KEY": None})
    assert r.exit_code == 0 and "unknown" in r.stdout and "would create 3" in r.stdout


def test_run_then_rerun_is_idempotent(kling_cli: CliEnv, tmp_path: Path) -> None:
    f = good_jobs(tmp_path, 5)
    out = tmp_path / "out"
    r = kling_cli("batch", str(f), "--out", str(out), "--concurrency", "2", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["counts"] == {"done": 5}
    files = sorted(p.name for p in out.glob("*.mp4"))
    assert len(files) == 5
    assert kling_cli.sim.counters.tasks_created[DEFAULT_API_KEY] == 5
    r = kling_cli("batch", str(f), "--out", str(out), "--json")
    assert r.exit_code == 0
    assert all(j["resumed"] for j in json.loads(r.stdout)["jobs"])
    assert kling_cli.sim.counters.tasks_created[DEFAULT_API_KEY] == 5
    # plain summary
    r = kling_cli("batch", str(f), "--out", str(out))
    assert r.exit_code == 0 and "5 done" in r.stdout


def test_ambiguous_reported_then_resubmitted_on_request(kling_cli: CliEnv, tmp_path: Path) -> None:
    f = good_jobs(tmp_path, 4)
    out = tmp_path / "out"
    kling_cli.sim.faults.add("createTask", "drop_after_record", times=1)
    r = kling_cli("batch", str(f), "--out", str(out), "--concurrency", "1")
    assert r.exit_code == cli.EXIT_AMBIGUOUS
    assert "ambiguous" in r.stdout and "--resubmit-ambiguous" in r.stdout
    assert kling_cli.sim.counters.tasks_created[DEFAULT_API_KEY] == 4
    r = kling_cli("batch", str(f), "--out", str(out), "--json")
    assert r.exit_code == cli.EXIT_AMBIGUOUS
    assert kling_cli.sim.counters.tasks_created[DEFAULT_API_KEY] == 4
    r = kling_cli("batch", str(f), "--out", str(out), "--json", "--resubmit-ambiguous")
    assert r.exit_code == 0, r.stdout
    doc = json.loads(r.stdout)
    assert doc["resubmitted"] == 1 and doc["counts"] == {"done": 4}
    assert kling_cli.sim.counters.tasks_created[DEFAULT_API_KEY] == 5
    with Ledger.in_dir(out) as led:
        assert sorted(r.attempts for r in led.rows()) == [1, 1, 1, 2]


def test_failed_tasks_exit_1_and_timeouts_exit_5(kling_cli: CliEnv, tmp_path: Path) -> None:
    f = good_jobs(tmp_path, 2)
    kling_cli.sim.faults.add("createTask", "fail", times=1)
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "a"), "-c", "1", "--json")
    assert r.exit_code == cli.EXIT_FAILED
    assert json.loads(r.stdout)["counts"] == {"done": 1, "failed": 1}
    kling_cli.sim.faults.add("createTask", "stuck", times=1)
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "b"), "-c", "1", "--json", "--timeout", "120")
    assert r.exit_code == cli.EXIT_TIMEOUT
    assert json.loads(r.stdout)["counts"] == {"done": 1, "timeout": 1}


def test_no_credits_exit_4_and_nothing_ambiguous(kling_cli: CliEnv, tmp_path: Path) -> None:
    f = good_jobs(tmp_path, 3)
    kling_cli.sim.set_credits(DEFAULT_API_KEY, 0.0)
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "out"), "-c", "1", "--json")
    assert r.exit_code == cli.EXIT_CREDITS
    doc = json.loads(r.stdout)
    assert doc["counts"].get("ambiguous", 0) == 0 and doc["stopped"]
    assert kling_cli.sim.counters.requests["createTask"] == 1


def test_bad_key_exit_3(kling_cli: CliEnv, tmp_path: Path) -> None:
    f = good_jobs(tmp_path, 2)
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "out"), env={"APIKLEY_API_KEY": "sk-nope-123456"})
    assert r.exit_code == cli.EXIT_AUTH
    assert "sk-nope-123456" not in r.stdout + r.stderr
