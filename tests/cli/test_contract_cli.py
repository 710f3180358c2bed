"""`kling contract-check` is the packaged checker, a Typer command like the others: same option names, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from apikley_kling import exit_codes
from apikley_kling.contract import main
from apikley_kling.simulator import DEFAULT_API_KEY

UNREACHABLE = ["--base-url", "http://127.0.0.1:9", "--operations", "get-remaining-credits", "--phases", "none"]


def _kling(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from apikley_kling.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


def test_contract_check_runs_the_checker_against_the_simulator() -> None:
    run = _kling("contract-check", "--simulate", "--phases", "none")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "kept its contract" in run.stdout


def test_contract_check_passes_usage_errors_through() -> None:
    run = _kling("contract-check", "--no-such-option")
    assert run.returncode == 2
    assert "kling contract-check" in run.stderr


def test_the_help_has_the_common_layout_and_exit_codes() -> None:
    run = _kling("contract-check", "--help")
    assert run.returncode == 0
    for code in (exit_codes.OK, exit_codes.FAILED, exit_codes.USAGE, exit_codes.NOT_EXERCISED):
        assert exit_codes.MEANINGS[code].split(" (")[0] in run.stdout
    for hidden in ("--api-key-file", "--simulator"):
        assert hidden not in run.stdout


# -- the old spellings: one minor version more, each with a note on stderr -------------------------------------


def test_old_api_key_file_still_reads_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("APIKLEY_API_KEY", raising=False)
    key_file = tmp_path / "key"
    key_file.write_text(DEFAULT_API_KEY + "\n")
    # Read (else the run would stop at "no API key" before trying the server), then the server is unreachable.
    assert main([*UNREACHABLE, "--api-key-file", str(key_file)]) == exit_codes.USAGE
    captured = capsys.readouterr()
    assert "--api-key-file is deprecated" in captured.err and "--key-file" in captured.err
    assert "no API key" not in captured.err and "Connect" in captured.out


def test_old_simulator_still_means_simulate(capsys: pytest.CaptureFixture[str]) -> None:
    # --simulator is --simulate: given with --base-url it is refused as the two exclusive choices are.
    assert main(["--simulator", "--base-url", "http://127.0.0.1:9"]) == exit_codes.USAGE
    err = capsys.readouterr().err
    assert "--simulator is deprecated" in err and "--simulate" in err and "exactly one of" in err


def test_old_rate_limit_per_second_text_still_works(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APIKLEY_API_KEY", DEFAULT_API_KEY)
    assert main([*UNREACHABLE, "--rate-limit", "1/s"]) == exit_codes.USAGE
    assert "--rate-limit 1/s is deprecated" in capsys.readouterr().err
    assert main([*UNREACHABLE, "--rate-limit", "2"]) == exit_codes.USAGE
    assert "deprecated" not in capsys.readouterr().err
    assert main([*UNREACHABLE, "--rate-limit", "fast"]) == exit_codes.USAGE
    assert "requests per second" in capsys.readouterr().err
