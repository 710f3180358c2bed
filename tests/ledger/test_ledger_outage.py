"""A fleet's bad days: its PostgreSQL stopped, restarted or paused mid-batch; passwords however they are written.

The database is this module's own server (stopping the session's would break other
tests). `kling batch` runs as a subprocess against a served simulator on a virtual
clock: its tasks never end until the test advances that clock, so the batch is
mid-run, with every create recorded, when the database goes away.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from apikley_kling import exit_codes
from apikley_kling.clock import VirtualClock
from apikley_kling.ledger import PgLedger, redact_url, secrets_of
from apikley_kling.simulator import Simulator, Timings

from ..cli_env import KLING, LIGHTHOUSE, SIM_KEY, OfflineCli, videos
from ..pg_server import PgServer

N_JOBS = 3


@pytest.fixture(scope="module")
def own_pg() -> Iterator[PgServer]:
    with PgServer.start() as pg:
        yield pg


@pytest.fixture
def db(own_pg: PgServer, request: pytest.FixtureRequest) -> str:
    return own_pg.create_database(f"o{os.getpid()}_{request.node.name[-20:].lower().replace('[', '_').strip(']')}")


def _until(cond: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Wait for another process to reach a state (short looks, bounded)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _created(url: str) -> bool:
    with PgLedger(url) as led:
        return led.counts() == {"created": N_JOBS}


class Batch:
    """`kling batch --json` on the module's database and a served simulator; stderr read as it comes."""

    def __init__(self, tmp_path: Path, url: str, sim_url: str, env: dict[str, str], reconnect: float) -> None:
        jobs = tmp_path / "jobs.jsonl"
        jobs.write_text(
            "".join(json.dumps({"prompt": f"shot {i}", "image": str(LIGHTHOUSE)}) + "\n" for i in range(N_JOBS))
        )
        self.out = tmp_path / "out"
        env = {**env, "APIKLEY_BASE_URL": sim_url, "APIKLEY_API_KEY": SIM_KEY, "APIKLEY_LEDGER_URL": url}
        env["APIKLEY_LEDGER_RECONNECT"] = str(reconnect)
        cmd = [KLING, "batch", str(jobs), "--out", str(self.out), "-c", str(N_JOBS), "--poll-interval", "0.1", "--json"]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.err: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)

    def finish(self, timeout: float) -> tuple[str, str]:
        assert self.proc.stdout is not None
        self.proc.wait(timeout=timeout)
        self._reader.join(5)
        return self.proc.stdout.read(), "".join(self.err)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def sim() -> tuple[Simulator, VirtualClock]:
    clock = VirtualClock()
    return Simulator(clock=clock, video_cache=videos(), timings=Timings(generation=60.0)), clock


def test_a_database_that_stays_away_stops_the_worker_with_one_line(
    tmp_path: Path, own_pg: PgServer, db: str, sim: tuple[Simulator, VirtualClock], subprocess_env: dict[str, str]
) -> None:
    simulator, clock = sim
    with simulator.serve(port=0) as sim_url:
        batch = Batch(tmp_path, db, sim_url, subprocess_env, reconnect=2)
        try:
            _until(lambda: _created(db), "every create recorded")
            own_pg.stop()
            try:
                clock.advance(120)  # the tasks end: their downloads need the ledger, which is gone
                out, err = batch.finish(timeout=60)
            finally:
                own_pg.start_again()
        finally:
            batch.kill()
    assert batch.proc.returncode == exit_codes.API, err
    assert "ledger: connection lost, reconnecting (attempt 1, up to 2s)" in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("kling: error: lost the ledger postgresql://kling:***@127.0.0.1:"), err
    assert json.loads(out)["exit_code"] == exit_codes.API
    assert own_pg.password not in out + err
    # Nothing lost, nothing paid twice: each task is still recorded, for a re-run to wait on.
    with PgLedger(db) as led:
        assert led.counts() == {"created": N_JOBS}
    assert simulator.counters.tasks_created[SIM_KEY] == N_JOBS


def test_a_database_back_within_the_window_and_the_batch_finishes(
    tmp_path: Path, own_pg: PgServer, db: str, sim: tuple[Simulator, VirtualClock], subprocess_env: dict[str, str]
) -> None:
    simulator, clock = sim
    with simulator.serve(port=0) as sim_url:
        batch = Batch(tmp_path, db, sim_url, subprocess_env, reconnect=60)
        try:
            _until(lambda: _created(db), "every create recorded")
            own_pg.stop()
            try:
                clock.advance(120)
                _until(lambda: any("reconnecting" in line for line in batch.err), "a reconnect attempt")
            finally:
                own_pg.start_again()
            out, err = batch.finish(timeout=60)
        finally:
            batch.kill()
    assert batch.proc.returncode == 0, err
    doc = json.loads(out)
    assert doc["counts"] == {"done": N_JOBS}
    assert all(Path(j["file"]).read_bytes()[4:8] == b"ftyp" for j in doc["jobs"])
    assert simulator.counters.tasks_created[SIM_KEY] == N_JOBS  # nothing paid twice
    assert "ledger: reconnected" in err and own_pg.password not in out + err


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP")
def test_ctrl_c_ends_a_worker_whose_database_is_paused(
    tmp_path: Path, own_pg: PgServer, db: str, sim: tuple[Simulator, VirtualClock], subprocess_env: dict[str, str]
) -> None:
    simulator, clock = sim
    with simulator.serve(port=0) as sim_url:
        batch = Batch(tmp_path, db, sim_url, subprocess_env, reconnect=60)
        try:
            _until(lambda: _created(db), "every create recorded")
            paused = own_pg.processes()
            try:
                for pid in paused:
                    with contextlib.suppress(ProcessLookupError):  # a session may end between listing and pausing
                        os.kill(pid, signal.SIGSTOP)
                clock.advance(120)  # the downloads now wait on the paused database
                batch.proc.send_signal(signal.SIGINT)
                out, err = batch.finish(timeout=15)
            finally:
                for pid in paused:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGCONT)
        finally:
            batch.kill()
    assert batch.proc.returncode == exit_codes.INTERRUPTED, err
    assert json.loads(out)["exit_code"] == exit_codes.INTERRUPTED
    with PgLedger(db) as led:  # the database resumes, and nothing recorded was lost
        assert led.counts() == {"created": N_JOBS}


PASSWORDS = ["Zq7/x?Yk@9w", "p@ss@w0rdQ", "a#b:c/d", "50%off?ok", "x:y@z#w?v/u"]


@pytest.mark.parametrize("password", PASSWORDS)
def test_a_password_written_unencoded_is_never_shown(password: str, offline_cli: OfflineCli, tmp_path: Path) -> None:
    url = f"postgresql://kling:{password}@127.0.0.1:1/kling"
    assert redact_url(url) == "postgresql://kling:***@127.0.0.1:1/kling"
    assert password in secrets_of(url)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"prompt": "p", "image": str(LIGHTHOUSE)}) + "\n")
    for args in (
        ("ledger",),
        ("ledger", "--json"),
        ("batch", str(jobs), "--out", str(tmp_path / "out")),
        ("batch", str(jobs), "--out", str(tmp_path / "out"), "--json"),
        ("batch", str(jobs), "--out", str(tmp_path / "out"), "--status", "--json"),
    ):
        res = offline_cli(*args, env={"APIKLEY_LEDGER_URL": url})
        assert res.exit_code == exit_codes.USAGE, (args, res.stderr)
        [line] = res.stderr.strip().splitlines()
        assert "postgresql://kling:***@127.0.0.1:1/kling" in line and "percent-encode" in line
        pieces = [p for p in password.replace("?", "/").replace("@", "/").replace("#", "/").split("/") if len(p) > 2]
        assert not any(p in res.stdout + res.stderr for p in [password, *pieces]), (args, res.stdout, res.stderr)
    assert offline_cli.requests == 0


def test_a_percent_encoded_password_works_and_is_never_shown(
    own_pg: PgServer, db: str, offline_cli: OfflineCli
) -> None:
    password = "Zq7/x?Yk@9w#:%"
    own_pg.psql(f"CREATE ROLE odd LOGIN PASSWORD '{password}'; GRANT ALL ON DATABASE \"{db.rsplit('/', 1)[1]}\" TO odd")
    own_pg.psql("GRANT ALL ON SCHEMA public TO odd", database=db.rsplit("/", 1)[1])
    from urllib.parse import quote

    url = f"postgresql://odd:{quote(password, safe='')}@127.0.0.1:{own_pg.port}/{db.rsplit('/', 1)[1]}"
    text = offline_cli("ledger", env={"APIKLEY_LEDGER_URL": url})
    as_json = offline_cli("ledger", "--json", env={"APIKLEY_LEDGER_URL": url})
    assert text.exit_code == 0 and as_json.exit_code == 0, text.stderr + as_json.stderr
    assert "postgresql://odd:***@" in text.stdout and "postgresql://odd:***@" in as_json.stdout
    for shown in (text.stdout + text.stderr, as_json.stdout + as_json.stderr):
        assert password not in shown and quote(password, safe="") not in shown
