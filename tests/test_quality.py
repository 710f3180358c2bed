"""The project's own promises about its code, checked in the test command so
that CI holds them: ruff clean everywhere, mypy --strict clean on wrapper/ and scripts/,
and no hand edits in generated/ (that one lives in contract_tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_check_is_clean() -> None:
    run = _run("ruff", "check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_format_is_clean() -> None:
    run = _run("ruff", "format", "--check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_strict_on_the_wrapper() -> None:
    # Settings (strict, files = wrapper/apikley_kling and scripts) live in pyproject.toml.
    run = _run("mypy")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Success" in run.stdout
