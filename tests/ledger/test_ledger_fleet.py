"""Many workers on one ledger: claims, leases, takeovers, migrations, the shared budget and the fleet's status.

Claims and the budget run against a real PostgreSQL (the session's server, a fresh
database per test); lease expiry is driven by an injected clock, never by sleeping.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from apikley_kling import RequestBudget
from apikley_kling.ledger import (
    BaseLedger,
    LedgerError,
    LedgerUnavailable,
    PgBudget,
    PgLedger,
    SchemaTooNew,
    SqliteLedger,
    open_ledger,
    redact_url,
)
from apikley_kling.ledger._status import fleet_status, render


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


Make = Callable[[Clock], BaseLedger]


@pytest.fixture(params=["sqlite", "postgres"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Make:
    if request.param == "sqlite":
        return lambda clock: SqliteLedger.in_dir(tmp_path, clock=clock)
    url = request.getfixturevalue("pg_url")
    return lambda clock: PgLedger(url, clock=clock)


def test_claims_are_exclusive_among_concurrent_workers(pg_url: str) -> None:
    """Eight workers, each its own connection, claim the same 40 jobs at once: each job is sent by one."""
    keys = [f"k{i}" for i in range(40)]
    won: dict[str, list[str]] = {k: [] for k in keys}
    start = threading.Barrier(8)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with PgLedger(pg_url) as led:
                me = led.register(f"/out{n}", lease=30)
                start.wait()
                for k in keys[n % 5 :] + keys[: n % 5]:  # different orders: real contention
                    if led.claim(k, 1, {"k": k}).kind == "submit":
                        with lock:
                            won[k].append(me)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert all(len(w) == 1 for w in won.values()), {k: w for k, w in won.items() if len(w) != 1}
    assert len({w[0] for w in won.values()}) > 1  # the work was shared, not taken by one


def test_a_dead_workers_claims_run_out_and_are_taken_over(make: Make, tmp_path: Path) -> None:
    clock = Clock()
    a, b = make(clock), make(clock)
    try:
        a.register("/a", lease=10)
        b.register("/b", lease=10)
        if a.single_runner:
            # SQLite: one runner at a time; b registered after a, so a's claims are already void. Re-register a.
            a.register("/a", lease=10)
        assert a.claim("sent", 1, {}).kind == "submit"
        assert a.claim("made", 2, {}).kind == "submit"
        a.mark_created("made", "task-made")
        if not a.single_runner:
            # a is alive (its lease runs): b gets nothing, and never waits on a's rows either.
            assert b.claim("sent", 1, {}).kind == "busy"
            assert b.claim("made", 2, {}).kind == "busy"
            clock.t += 9
            a.heartbeat()
            clock.t += 9
            assert b.claim("made", 2, {}).kind == "busy"  # renewed
        clock.t += 11  # a falls silent (SIGKILL): its leases run out
        sent = b.claim("sent", 1, {})
        assert sent.kind == "settled" and sent.row is not None and sent.row.state == "ambiguous"
        made = b.claim("made", 2, {})
        assert made.kind == "watch" and made.row is not None and made.row.task_id == "task-made"
        assert made.row.owner == b.worker
        # Ambiguous stays ambiguous until the user allows a resend; then it is one more attempt.
        again = b.claim("sent", 1, {}, resubmit=True)
        assert again.kind == "submit" and again.row is not None and again.row.attempts == 2
    finally:
        a.close()
        b.close()


def test_a_late_answer_to_an_attempt_resent_since_is_refused(make: Make) -> None:
    clock = Clock()
    with make(clock) as led:
        led.register("/x", lease=5)
        first = led.claim("k", 1, {})
        assert first.row is not None
        clock.t += 6
        led.claim("k", 1, {}, resubmit=True)  # taken over and resent (as another worker would)
        with pytest.raises(LedgerError, match="sent again"):
            led.mark_created("k", "t-old", attempt=first.row.attempts)
        led.mark_created("k", "t-new", attempt=2)
        assert led.get("k").task_id == "t-new"  # type: ignore[union-attr]


def test_retire_hands_tasks_over_at_once(pg_url: str) -> None:
    clock = Clock()
    with PgLedger(pg_url, clock=clock) as a, PgLedger(pg_url, clock=clock) as b:
        a.register("/a", lease=60)
        b.register("/b", lease=60)
        a.claim("k", 1, {})
        a.mark_created("k", "t")
        assert b.claim("k", 1, {}).kind == "busy"
        a.retire()
        assert b.claim("k", 1, {}).kind == "watch"


def test_settle_interrupted_spares_live_workers_creates(pg_url: str) -> None:
    clock = Clock()
    with PgLedger(pg_url, clock=clock) as a, PgLedger(pg_url, clock=clock) as b:
        a.register("/a", lease=60)
        a.claim("live", 1, {})
        b.mark_submitting("orphan", 2, {})  # written by no registered worker: nobody holds it
        assert [r.key for r in b.settle_interrupted()] == ["orphan"]
        assert a.get("live").state == "submitting"  # type: ignore[union-attr]


def test_an_old_sqlite_ledger_is_migrated_in_place(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as db:  # the schema before versions were kept
        db.execute(
            "CREATE TABLE jobs (key TEXT PRIMARY KEY, line INTEGER NOT NULL, job TEXT NOT NULL, state TEXT NOT NULL,"
            " task_id TEXT, path TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,"
            " updated_at REAL NOT NULL)"
        )
        db.execute("INSERT INTO jobs VALUES ('k', 3, '{}', 'done', 't', '/o/a.mp4', NULL, 1, 0, 0)")
    with SqliteLedger.in_dir(tmp_path) as led:
        row = led.get("k")
        assert row is not None and (row.state, row.task_id, row.path, row.owner) == ("done", "t", "/o/a.mp4", None)
        assert led._conn.execute("SELECT version FROM ledger_schema").fetchone()[0] == 2


def test_a_newer_schema_is_refused_with_one_line(make: Make) -> None:
    with make(Clock()) as led:
        led._query("UPDATE ledger_schema SET version = 99")
    with pytest.raises(SchemaTooNew) as info:
        make(Clock())
    text = str(info.value)
    assert "\n" not in text and "version 99" in text and "upgrade apikley-kling" in text


def test_workers_starting_together_migrate_once(pg_url: str) -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            PgLedger(pg_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


def test_passwords_never_shown(pg_url: str) -> None:
    password = pg_url.split(":")[2].split("@")[0]
    assert password not in redact_url(pg_url) and "***" in redact_url(pg_url)
    assert "secret" not in redact_url("postgresql://u@h/db?sslmode=require&password=secret")
    with PgLedger(pg_url) as led:
        assert password not in led.where
    wrong = pg_url.replace(password, password + "x")
    with pytest.raises(LedgerUnavailable) as info:
        open_ledger(wrong, "/unused")
    assert password not in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(LedgerUnavailable, match="postgresql://"):
        open_ledger("mysql://u:pw@h/db", "/unused")


def test_budget_grants_each_token_once_to_concurrent_workers(pg_url: str) -> None:
    """Fifty draws from eight connections at one instant: one token (burst 1); a second later, `rate` more."""
    clock = Clock()
    budgets = [PgBudget(pg_url, rate=5.0, burst=5.0, clock=clock) for _ in range(8)]
    try:
        granted = 0
        lock = threading.Lock()

        def draw(b: PgBudget) -> None:
            nonlocal granted
            for _ in range(50):
                if b.wait_time(0.0) == 0.0:
                    with lock:
                        granted += 1

        for expected in (5, 5, 5):  # a full bucket, then one second of refill each round
            granted = 0
            threads = [threading.Thread(target=draw, args=(b,)) for b in budgets]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert granted == expected
            clock.t += 1.0
        # Empty: the wait is until the next token.
        clock.t += 0.1
        [budgets[0].wait_time(0.0) for _ in range(5)]
        assert budgets[0].wait_time(0.0) == pytest.approx(0.2, abs=1e-6)
    finally:
        for b in budgets:
            b.close()


def test_budget_pause_stops_every_worker(pg_url: str) -> None:
    clock = Clock()
    with PgBudget(pg_url, rate=10.0, clock=clock) as a, PgBudget(pg_url, rate=10.0, clock=clock) as b:
        assert isinstance(a, RequestBudget)  # what Kling(rate_limit=...) takes
        assert a.wait_time(0.0) == 0.0
        b.pause(0.0, 3.0)  # a 429 seen by b
        assert a.wait_time(0.0) == pytest.approx(3.0)
        clock.t += 3.0
        assert a.wait_time(0.0) == pytest.approx(0.1)  # no tokens accrued while paused
        clock.t += 0.1
        assert b.wait_time(0.0) == 0.0


def test_fleet_status_says_where_each_video_is(make: Make) -> None:
    clock = Clock()
    with make(clock) as led:
        led.register("/videos", lease=10)
        for key, line in (("d", 1), ("f", 2), ("a", 3), ("r", 4)):
            led.claim(key, line, {})
        led.mark_created("d", "t-d")
        led.mark_done("d", "/videos/d.mp4")
        led.mark_created("f", "t-f")
        led.mark_failed("f", "model error")
        led.mark_ambiguous("a", "answer lost")
        status = fleet_status(led, [(1, "d"), (2, "f"), (3, "a"), (4, "r"), (5, "p")])
        assert status.counts == {"done": 1, "in flight": 1, "waiting": 0, "ambiguous": 1, "failed": 1, "pending": 1}
        done = status.jobs[0]
        assert (done.host, done.file, done.task_id) == (led.host, "/videos/d.mp4", "t-d")
        [w] = status.workers
        assert w.alive and w.holds == 1 and w.out_dir == "/videos"
        clock.t += 11  # the worker falls silent
        later = fleet_status(led)
        assert later.counts["in flight"] == 0 and later.counts["ambiguous"] == 2 and not later.workers[0].alive
        text = "\n".join(render(later))
        assert f"{led.host}:/videos/d.mp4" in text and "model error" in text and "1 silent" in text
        led.retire()
        assert fleet_status(led).workers[0].stopped and "1 stopped" in "\n".join(render(fleet_status(led)))


def test_a_late_outcome_of_a_lapsed_claim_is_kept_only_for_its_own_attempt(make: Make) -> None:
    """Worker a is silent past its lease while its create is out; b judges the job ambiguous (or resends it)."""
    clock = Clock()
    with make(clock) as led:
        led.register("/x", lease=5)
        led.claim("lost", 1, {})
        led.claim("unsent", 2, {})
        led.claim("resent", 3, {})
        clock.t += 6
        for key in ("lost", "unsent"):
            assert led.claim(key, 1, {}).row.state == "ambiguous"  # type: ignore[union-attr]
        assert led.claim("resent", 3, {}, resubmit=True).kind == "submit"  # attempt 2
        led.mark_ambiguous("lost", "answer lost", attempt=1)  # a's answer was lost: the reason is kept
        assert led.get("lost").error == "answer lost"  # type: ignore[union-attr]
        led.mark_unsent("unsent", "connect refused", attempt=1)  # a's create surely never left: forgotten
        assert led.get("unsent") is None
        with pytest.raises(LedgerError):
            led.mark_ambiguous("resent", "answer lost", attempt=1)
        led.mark_unsent("resent", "refused", attempt=1)  # says nothing of attempt 2
        row = led.get("resent")
        assert row is not None and (row.state, row.attempts) == ("submitting", 2)
