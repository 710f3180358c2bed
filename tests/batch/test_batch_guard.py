"""`kling batch` guards (issue 11 rows 1-3): the ledger's files, files it did not write, one runner, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apikley_kling.batch import FolderBusy, JobFileError, exclusive, read_jobs
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator, Timings

from ..cli_env import KLING, LIGHTHOUSE, CliEnv, OfflineCli

RESERVED = [
    "ledger.sqlite3",
    "ledger.sqlite3-journal",
    "ledger.sqlite3-wal",
    "ledger.sqlite3-shm",
    "ledger.sqlite3.lock",
    "LEDGER.SQLITE3",
    "x.mp4\n",
]


def _jobs(tmp_path: Path, outputs: list[str | None]) -> Path:
    path = tmp_path / "jobs.jsonl"
    lines = []
    for i, output in enumerate(outputs):
        line: dict[str, object] = {"prompt": f"shot {i}", "image": str(LIGHTHOUSE)}
        if output is not None:
            line["output"] = output
        lines.append(json.dumps(line))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("name", RESERVED)
def test_an_output_never_names_the_ledger_its_journal_or_lock(tmp_path: Path, name: str) -> None:
    with pytest.raises(JobFileError) as info:
        read_jobs(_jobs(tmp_path, [name]))
    assert info.value.errors[0].line == 1


def test_reserved_outputs_are_refused_before_anything_is_sent(tmp_path: Path, offline_cli: OfflineCli) -> None:
    res = offline_cli("batch", str(_jobs(tmp_path, ["a.mp4", "ledger.sqlite3"])), "--out", str(tmp_path / "out"))
    assert res.exit_code == 2 and offline_cli.requests == 0 and "2: output ledger.sqlite3 is reserved" in res.stderr
    # Names differing only in case are one file on a case-insensitive file system.
    res = offline_cli("batch", str(_jobs(tmp_path, ["a.mp4", "A.MP4"])), "--out", str(tmp_path / "out"))
    assert res.exit_code == 2 and offline_cli.requests == 0 and "also used on line 1" in res.stderr


def test_a_file_the_batch_did_not_write_is_never_overwritten(tmp_path: Path, kling_cli: CliEnv) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.mp4").write_bytes(b"someone's video")
    jobs = _jobs(tmp_path, ["mine.mp4", "b.mp4"])
    res = kling_cli("batch", str(jobs), "--out", str(out), "--json")
    assert res.exit_code == 2 and "mine.mp4" in res.stderr and "nothing was sent" in res.stderr
    assert kling_cli.requests == 0 and (out / "mine.mp4").read_bytes() == b"someone's video"
    (out / "mine.mp4").unlink()
    res = kling_cli("batch", str(jobs), "--out", str(out), "--json")
    assert res.exit_code == 0, res.stderr
    # Its own videos are the batch's: a re-run skips them and refuses nothing.
    assert kling_cli("batch", str(jobs), "--out", str(out), "--json").exit_code == 0


def test_the_single_runner_guard_survives_a_replaced_lock_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with exclusive(out):
        # What a job writing "ledger.sqlite3.lock" did: a new file renamed over the old one.
        (out / "new").write_text("")
        os.replace(out / "new", out / "ledger.sqlite3.lock")
        with pytest.raises(FolderBusy), exclusive(out):
            pass
    with exclusive(out):
        pass


def test_first_ctrl_c_stops_without_waiting_for_running_tasks(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    """Every slot held by a running task (an hour long) and more jobs queued: the old pool hung on its semaphore.

    The run must end on the signal, with its tasks still running: no wall-clock bound (the timeout only turns a
    hang into a failure)."""
    sim = Simulator(timings=Timings(generation=3600.0))
    jobs = _jobs(tmp_path, [None] * 6)
    out = tmp_path / "out"
    with sim.serve(port=0) as url:
        env = {**subprocess_env, "APIKLEY_BASE_URL": url, "APIKLEY_API_KEY": DEFAULT_API_KEY}
        cmd = [KLING, "batch", str(jobs), "--out", str(out), "-c", "2", "--poll-interval", "0.1", "--json"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while _created(out) < 2:
                assert proc.poll() is None and time.monotonic() < deadline, "batch did not get going"
                time.sleep(0.05)  # bounded wait for the subprocess's ledger
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    assert proc.returncode == 130
    [line] = err.strip().splitlines()
    assert "2 task(s) still running" in line and "again to resume" in line and "Traceback" not in err
    assert sim.counters.requests["createTask"] == 2  # the queued jobs were never sent
    with sqlite3.connect(out / "ledger.sqlite3") as db:
        states = sorted(s for (s,) in db.execute("SELECT state FROM jobs"))
    assert states == ["created", "created"]


def _created(out: Path) -> int:
    if not (out / "ledger.sqlite3").exists():
        return 0
    try:
        with sqlite3.connect(f"file:{out / 'ledger.sqlite3'}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM jobs WHERE state = 'created'").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_worker_threads_first_calls_cannot_deadlock_in_imports() -> None:
    """The generated client's modules import each other in cycles: imported by several threads at once they
    deadlock (seen as a failed `kling batch`). Building a client imports them first, in one thread."""
    code = """if True:
        import importlib, sys, threading
        if sys.argv[1] == "warm":
            from apikley_kling import Kling
            Kling(api_key="sk-test", base_url="http://127.0.0.1:9").close()
        names = ["models", "api.default.create_task", "api.default.upload_file_stream", "models.error_envelope",
                 "api.default.get_task_details"] * 2
        errors = []
        def load(name):
            try:
                importlib.import_module("apikley_kling_api." + name)
            except Exception as exc:
                errors.append(repr(exc))
        threads = [threading.Thread(target=load, args=(n,)) for n in names]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(len(errors))
    """
    runs = [subprocess.run([sys.executable, "-c", code, "warm"], capture_output=True, text=True) for _ in range(6)]
    assert [r.stdout.strip() for r in runs] == ["0"] * 6, [r.stderr for r in runs]
