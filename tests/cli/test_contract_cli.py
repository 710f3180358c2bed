"""`kling contract-check` is the packaged checker: its arguments and exit code pass through unchanged."""

from __future__ import annotations

import subprocess
import sys


def _kling(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from apikley_kling.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


def test_contract_check_runs_the_checker_against_the_simulator() -> None:
    run = _kling("contract-check", "--simulator", "--phases", "none")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "kept its contract" in run.stdout


def test_contract_check_passes_usage_errors_through() -> None:
    run = _kling("contract-check", "--no-such-option")
    assert run.returncode == 2
    assert "kling contract-check" in run.stderr
