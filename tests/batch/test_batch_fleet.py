"""BatchRunner on a shared PostgreSQL ledger: jobs held by other workers, takeovers, and the CLI's fleet options.

The other workers are ledger connections driven by the test; the runner's client is
the fake of test_batch_engine on a VirtualClock, and the ledger's clock is that same
virtual clock, so leases run out exactly when the test says, with no real waiting.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from apikley_kling.batch import BatchRunner, Job
from apikley_kling.clock import VirtualClock
from apikley_kling.ledger import PgLedger, SqliteLedger

from ..cli_env import LIGHTHOUSE, CliEnv
from .test_batch_engine import FakeKling, make_jobs


def _worker(url: str, clock: VirtualClock, lease: float) -> PgLedger:
    other = PgLedger(url, clock=clock.time)
    other.register("/elsewhere", lease=lease)
    return other


def test_a_silent_workers_jobs_are_taken_over(tmp_path: Path, pg_url: str) -> None:
    clock = VirtualClock()
    k = FakeKling(clock, gen_time=30)
    made, lost, new = make_jobs(tmp_path, ["made", "lost", "new"])
    with _worker(pg_url, clock, lease=5) as dead:
        # The other worker sent two creates and died: one answered (its task exists, paid), one not.
        dead.claim(made.key, made.line, made.raw)
        paid = k.tasks.create(model=made.model, input=dict(made.input))
        dead.mark_created(made.key, paid.id)
        dead.claim(lost.key, lost.line, lost.raw)
        with PgLedger(pg_url, clock=clock.time) as led:
            rep = BatchRunner(k, [made, lost, new], tmp_path / "out", clock=clock, ledger=led, lease=5).run()  # type: ignore[arg-type]
            rows = {r.key: r for r in led.rows()}
    by = {r.job.key: r for r in rep.results}
    assert by[made.key].outcome == "done" and by[made.key].task_id == paid.id  # waited on, not created again
    assert Path(by[made.key].path or "").read_bytes() == b"mp4:" + paid.id.encode()  # downloaded here
    assert by[lost.key].outcome == "ambiguous" and by[new.key].outcome == "done"
    assert k.paid == 2  # the taken-over task and the new job: nothing resent without permission
    assert rows[made.key].owner == rows[new.key].owner != dead.worker
    assert rows[lost.key].state == "ambiguous"


def test_a_job_another_worker_finishes_is_reported_from_the_ledger(tmp_path: Path, pg_url: str) -> None:
    clock = VirtualClock()
    k = FakeKling(clock, gen_time=30)
    theirs, mine = make_jobs(tmp_path, ["theirs", "mine"])
    with _worker(pg_url, clock, lease=10_000) as alive:
        alive.claim(theirs.key, theirs.line, theirs.raw)
        alive.mark_created(theirs.key, "t-theirs")

        def on_event(event: str, job: Job, info: dict[str, Any]) -> None:
            if event == "finished" and job.key == mine.key:  # meanwhile, the other worker finishes its job
                alive.mark_done(theirs.key, "/elsewhere/theirs.mp4")

        with PgLedger(pg_url, clock=clock.time) as led:
            runner = BatchRunner(k, [theirs, mine], tmp_path / "out", clock=clock, ledger=led, on_event=on_event)  # type: ignore[arg-type]
            rep = runner.run()
    by = {r.job.key: r for r in rep.results}
    assert by[mine.key].outcome == "done" and not by[mine.key].resumed
    other = by[theirs.key]
    assert (other.outcome, other.task_id, other.path, other.resumed) == (
        "done",
        "t-theirs",
        "/elsewhere/theirs.mp4",
        True,
    )
    assert other.host == alive.host
    assert k.paid == 1 and rep.exit_code == 0


def test_a_video_already_where_the_ledger_says_is_kept(tmp_path: Path) -> None:
    """Killed after the download's rename, before `done` was written: the next run keeps the file."""
    clock = VirtualClock()
    k = FakeKling(clock, gen_time=30)
    [job] = make_jobs(tmp_path, ["p"])
    out = tmp_path / "out"
    out.mkdir()
    with SqliteLedger.in_dir(out) as led:
        led.mark_submitting(job.key, job.line, job.raw)
        task = k.tasks.create(model=job.model, input=dict(job.input))
        led.mark_created(job.key, task.id)
        led.note_path(job.key, str(out / job.output))
    (out / job.output).write_bytes(b"the video it saved")
    clock.advance(60)
    rep = BatchRunner(k, [job], out, clock=clock).run()  # type: ignore[arg-type]
    assert rep.results[0].outcome == "done" and rep.results[0].path == str(out / job.output)
    assert (out / job.output).read_bytes() == b"the video it saved"  # not fetched again
    assert k.paid == 1


def test_the_cli_fleet_options(tmp_path: Path, kling_cli: CliEnv, pg_url: str) -> None:
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"prompt": f"shot {i}", "image": str(LIGHTHOUSE)}) + "\n" for i in range(3)))
    env = {"APIKLEY_LEDGER_URL": pg_url}
    out = tmp_path / "out"
    dry = kling_cli("batch", str(jobs), "--out", str(out), "--dry-run", "--json", env=env)
    assert dry.exit_code == 0 and json.loads(dry.stdout)["would_create"] == 3
    res = kling_cli("batch", str(jobs), "--out", str(out), "--json", "--rate-limit", "500", env=env)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["counts"] == {"done": 3} and all(j["host"] for j in doc["jobs"])
    assert not (out / "ledger.sqlite3").exists()  # the ledger is the database
    again = kling_cli("batch", str(jobs), "--out", str(out), "--dry-run", "--json", env=env)
    assert json.loads(again.stdout)["would_create"] == 0  # the dry run reads the database too
    status = kling_cli("batch", str(jobs), "--out", str(out), "--status", "--json", env=env)
    files = sorted(j["file"] for j in json.loads(status.stdout)["jobs"])
    assert files == sorted(j["file"] for j in doc["jobs"]) and all(Path(f).exists() for f in files)
    with PgLedger(pg_url) as led:
        [(rate,)] = led._query("SELECT rate FROM budget")
    assert rate == 500  # the fleet's budget lives beside the ledger
    password = pg_url.split(":")[2].split("@")[0]
    assert all(password not in r.stdout + r.stderr for r in (dry, res, again, status))


def test_a_job_claimed_elsewhere_after_the_start_is_not_uploaded_or_sent(tmp_path: Path, pg_url: str) -> None:
    clock = VirtualClock()
    k = FakeKling(clock, gen_time=30)
    jobs = make_jobs(tmp_path, ["a", "b", "c"])
    taken = jobs[1]
    with _worker(pg_url, clock, lease=5) as other:

        def on_event(event: str, job: Job, info: dict[str, Any]) -> None:
            if event == "queued" and job.key == taken.key:  # another worker claims it first, then dies
                assert other.claim(taken.key, taken.line, taken.raw).kind == "submit"

        with PgLedger(pg_url, clock=clock.time) as led:
            rep = BatchRunner(k, jobs, tmp_path / "out", clock=clock, ledger=led, lease=5, on_event=on_event).run()  # type: ignore[arg-type]
    by = {r.job.key: r.outcome for r in rep.results}
    assert by == {jobs[0].key: "done", taken.key: "ambiguous", jobs[2].key: "done"}
    assert k.uploads == 2 and k.paid == 2  # its file was never uploaded, its create never sent by this worker
