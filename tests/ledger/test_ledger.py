"""The ledger's state machine and its durability across a process that dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from apikley_kling.ledger import BaseLedger, LedgerError, SqliteLedger, open_ledger

Open = Callable[[], BaseLedger]


@pytest.fixture(params=["sqlite", "postgres"])
def make_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Open:
    """The same state machine on both backends: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return lambda: SqliteLedger.in_dir(tmp_path)
    from apikley_kling.ledger import PgLedger

    url = request.getfixturevalue("pg_url")
    return lambda: PgLedger(url)


def test_happy_path_and_counts(tmp_path: Path, make_ledger: Open) -> None:
    with make_ledger() as led:
        led.mark_submitting("k1", 1, {"prompt": "a"})
        assert led.get("k1") is not None and led.get("k1").state == "submitting"  # type: ignore[union-attr]
        led.mark_created("k1", "task-1")
        led.mark_done("k1", str(tmp_path / "a.mp4"))
        row = led.get("k1")
        assert row is not None
        assert (row.state, row.task_id, row.attempts) == ("done", "task-1", 1)
        assert led.counts() == {"done": 1}


def test_wal_mode(tmp_path: Path) -> None:
    with SqliteLedger.in_dir(tmp_path) as led:
        assert led._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_no_second_submit_without_permission(tmp_path: Path, make_ledger: Open) -> None:
    with make_ledger() as led:
        led.mark_submitting("k", 1, {})
        with pytest.raises(LedgerError):
            led.mark_submitting("k", 1, {})
        led.mark_ambiguous("k", "answer lost")
        with pytest.raises(LedgerError):
            led.mark_submitting("k", 1, {})
        row = led.mark_submitting("k", 1, {}, resubmit=True)
        assert row.attempts == 2 and row.state == "submitting"
        led.mark_created("k", "t")
        with pytest.raises(LedgerError):
            led.mark_submitting("k", 1, {}, resubmit=True)


def test_unsent_forgets_new_rows_but_keeps_ambiguous_history(tmp_path: Path, make_ledger: Open) -> None:
    with make_ledger() as led:
        led.mark_submitting("new", 1, {})
        led.mark_unsent("new", "connect refused")
        assert led.get("new") is None
        led.mark_submitting("old", 2, {})
        led.mark_ambiguous("old", "lost")
        led.mark_submitting("old", 2, {}, resubmit=True)
        led.mark_unsent("old", "connect refused")
        row = led.get("old")
        assert row is not None and row.state == "ambiguous" and row.attempts == 1


def test_settle_interrupted_turns_submitting_into_ambiguous(tmp_path: Path, make_ledger: Open) -> None:
    with make_ledger() as led:
        led.mark_submitting("a", 1, {})
        led.mark_submitting("b", 2, {})
        led.mark_created("b", "t-b")
    with make_ledger() as led:
        amb = led.settle_interrupted()
        assert [r.key for r in amb] == ["a"]
        assert led.get("b").state == "created"  # type: ignore[union-attr]


def test_illegal_transitions(tmp_path: Path, make_ledger: Open) -> None:
    with make_ledger() as led:
        with pytest.raises(LedgerError):
            led.mark_created("missing", "t")
        led.mark_submitting("k", 1, {})
        with pytest.raises(LedgerError):
            led.mark_done("k", "p")
        led.mark_created("k", "t")
        with pytest.raises(LedgerError):
            led.mark_ambiguous("k", "no")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_committed_transition_survives_sigkill(tmp_path: Path, request: pytest.FixtureRequest, backend: str) -> None:
    # The child commits a task id, says so, and is killed before any clean shutdown.
    env = {k: v for k, v in os.environ.items() if k != "APIKLEY_LEDGER_URL"}
    if backend == "postgres":
        env["APIKLEY_LEDGER_URL"] = request.getfixturevalue("pg_url")  # the environment, never argv
    code = textwrap.dedent(
        f"""
        import os, sys, time
        from apikley_kling.ledger import open_ledger
        led = open_ledger(os.environ.get("APIKLEY_LEDGER_URL"), {str(tmp_path)!r})
        led.mark_submitting("k", 1, {{"prompt": "p"}})
        led.mark_created("k", "task-xyz")
        led.mark_submitting("k2", 2, {{}})
        print("ready", flush=True)
        time.sleep(30)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
    with open_ledger(env.get("APIKLEY_LEDGER_URL"), tmp_path) as led:
        row = led.get("k")
        assert row is not None and (row.state, row.task_id) == ("created", "task-xyz")
        assert led.get("k2").state == "submitting"  # type: ignore[union-attr]
