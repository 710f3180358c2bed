"""The live suite's gates: no key, no run; no budget, no paid create; never faster than the pacer."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from apikley_kling.clock import VirtualClock
from apikley_kling.simulator import DEFAULT_API_KEY, Money, Simulator

from ._paths import ROOT
from .live._live import SKIP_REASON, Budget, Pacer

LIVE = ROOT / "contract_tests" / "live"


def _pytest_live(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(LIVE), "-q", "-rs", "-p", "no:xdist", "-p", "no:randomly", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )


def _counts(output: str) -> dict[str, int]:
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|skipped|failed|error|errors)", output)}


def _no_key_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("APIKLEY_API_KEY", "PYTEST_XDIST_WORKER")}


@pytest.fixture(scope="module")
def live_test_count() -> int:
    run = _pytest_live(_no_key_env(), "--collect-only")
    found = re.search(r"(\d+) tests? collected", run.stdout)
    assert found, run.stdout
    return int(found.group(1))


def test_without_a_key_every_live_test_is_skipped_with_the_reason(live_test_count: int) -> None:
    run = _pytest_live(_no_key_env())
    assert run.returncode == 0, run.stdout + run.stderr
    counts = _counts(run.stdout)
    assert live_test_count >= 10
    assert counts.get("skipped") == live_test_count, run.stdout
    assert "passed" not in counts and "failed" not in counts, run.stdout
    assert SKIP_REASON in run.stdout


def test_the_live_suite_against_the_simulator_spends_exactly_its_budget(live_test_count: int) -> None:
    # The same suite pointed at a stand-in that keeps the contract: the free
    # checks pass, and with --live-budget 1 exactly one task is created.
    sim = Simulator(clock=VirtualClock(), external_images="placeholder", money=Money(credits=1e6))
    with sim.serve(port=0) as url:
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"},
            "APIKLEY_API_KEY": DEFAULT_API_KEY,
            "APIKLEY_BASE_URL": url,
            "APIKLEY_LIVE_MIN_INTERVAL": "0",
        }
        run = _pytest_live(env, "--live-budget", "1")
    counts = _counts(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr
    assert counts.get("skipped") == 2, run.stdout  # the two paid tests beyond the budget
    assert counts.get("passed") == live_test_count - 2, run.stdout
    assert "--live-budget 1 is spent" in run.stdout
    assert sum(sim.counters.tasks_created.values()) == 1


def test_pacer_spaces_requests_without_real_sleep() -> None:
    clock = VirtualClock()
    pacer = Pacer(interval=1.0, clock=clock)
    start = clock.monotonic()
    delays = [pacer.wait() for _ in range(3)]
    assert delays == [0.0, 1.0, 1.0]
    assert clock.monotonic() - start == pytest.approx(2.0)
    clock.advance(5)
    assert pacer.wait() == 0.0


def test_budget_stops_at_n() -> None:
    budget = Budget(limit=2)
    assert [budget.take() for _ in range(4)] == [True, True, False, False]
    assert budget.spent == 2
    assert Budget(limit=0).take() is False
