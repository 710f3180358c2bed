"""Each subcommand, happy and unhappy, against an in-process simulator on a virtual clock."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from apikley_kling import cli
from apikley_kling._spec import create_limits
from apikley_kling.simulator import DEFAULT_API_KEY

from .conftest import LIGHTHOUSE, CliEnv

PNG_HEAD = b"\x89PNG\r\n\x1a\n"


def one_error_line(stderr: str) -> str:
    """Exactly one error line, the last one (progress lines may precede it), and no traceback."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    errors = [line for line in lines if "error" in line.lower()]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr
    assert errors[0].startswith("kling: error: ")
    return errors[0]


def test_help_documents_exit_codes() -> None:
    from typer.testing import CliRunner

    res = CliRunner().invoke(cli.app, ["--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    text = " ".join(res.stdout.split())
    for fragment in (
        "0 ok",
        "1 task failed",
        "2 usage",
        "3 auth",
        "4 insufficient credits",
        "5 timeout",
        "6 ambiguous",
        "7 other",
    ):
        assert fragment in text
    # ...and the docstring table matches the constants.
    doc = cli.__doc__ or ""
    for code in (
        cli.EXIT_FAILED,
        cli.EXIT_USAGE,
        cli.EXIT_AUTH,
        cli.EXIT_CREDITS,
        cli.EXIT_TIMEOUT,
        cli.EXIT_AMBIGUOUS,
        cli.EXIT_API,
    ):
        assert f"\n    {code}     " in doc


def test_generate_json(kling_cli: CliEnv, tmp_path: Path) -> None:
    out = tmp_path / "v" / "clip.mp4"
    r = kling_cli(
        "generate",
        "--image",
        str(LIGHTHOUSE),
        "--prompt",
        "waves",
        "--duration",
        "10",
        "--cfg-scale",
        "0.7",
        "--negative-prompt",
        "blur",
        "-o",
        str(out),
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["state"] == "success" and doc["file"] == str(out.resolve())
    assert out.read_bytes()[4:8] == b"ftyp" and doc["bytes"] == out.stat().st_size
    assert set(doc["timings"]) == {"upload_s", "wait_s", "download_s", "total_s"}
    assert kling_cli.sim.counters.tasks_created[DEFAULT_API_KEY] == 1
    params = kling_cli.sim.record(doc["task_id"])["param"]
    sent = json.loads(params)["input"]
    assert (sent["duration"], sent["cfg_scale"], sent["negative_prompt"]) == ("10", 0.7, "blur")


def test_generate_plain_output_names_the_file(kling_cli: CliEnv, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    r = kling_cli("generate", "-i", str(LIGHTHOUSE), "-p", "waves", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert str(out.resolve()) in r.stdout and out.exists()
    assert "created task" in r.stderr and "success" in r.stderr  # plain phase lines off a terminal


@pytest.mark.parametrize(
    "case",
    ["missing", "huge", "long_prompt", "bad_duration", "bad_cfg", "not_image", "empty_prompt", "long_negative"],
)
def test_generate_bad_input_sends_nothing(kling_cli: CliEnv, tmp_path: Path, case: str) -> None:
    lim = create_limits()
    image, prompt, extra = str(LIGHTHOUSE), "waves", []
    if case == "missing":
        image = str(tmp_path / "nope.png")
    elif case == "huge":
        big = tmp_path / "big.png"
        big.write_bytes(PNG_HEAD + b"\0" * (12 * 1024 * 1024))
        image = str(big)
    elif case == "long_prompt":
        prompt = "x" * (lim.prompt_max + 1)
    elif case == "bad_duration":
        extra = ["--duration", "7"]
    elif case == "bad_cfg":
        extra = ["--cfg-scale", "1.5"]
    elif case == "not_image":
        txt = tmp_path / "notes.png"
        txt.write_text("hello")
        image = str(txt)
    elif case == "empty_prompt":
        prompt = "   "
    elif case == "long_negative":
        extra = ["--negative-prompt", "n" * (lim.negative_prompt_max + 1)]
    r = kling_cli("generate", "--image", image, "--prompt", prompt, *extra, "-o", str(tmp_path / "o.mp4"))
    assert r.exit_code == cli.EXIT_USAGE
    line = one_error_line(r.stderr)
    expected = {
        "missing": "not found",
        "huge": "limit",
        "long_prompt": str(lim.prompt_max),
        "bad_duration": "duration",
        "bad_cfg": "cfg_scale",
        "not_image": "not jpeg",
        "empty_prompt": "prompt",
        "long_negative": str(lim.negative_prompt_max),
    }[case]
    assert expected in line
    assert kling_cli.requests == 0


def test_no_key_explains_and_sends_nothing(kling_cli: CliEnv) -> None:
    r = kling_cli("credits", env={"APIKLEY_API_KEY": None})
    assert r.exit_code == cli.EXIT_AUTH
    line = one_error_line(r.stderr)
    assert "APIKLEY_API_KEY" in line and "--simulate" in line
    assert kling_cli.requests == 0


@pytest.mark.parametrize("debug", [False, True])
def test_bad_key_exit_3_and_key_never_printed(kling_cli: CliEnv, debug: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-wrong-0123456789abcdef"
    monkeypatch.setattr(cli, "_debug", debug)
    r = kling_cli("status", "task_x", env={"APIKLEY_API_KEY": secret})
    assert r.exit_code == cli.EXIT_AUTH
    assert secret not in r.stdout + r.stderr
    if debug:
        assert "Traceback" in r.stderr and "AuthenticationError" in r.stderr
    else:
        assert "AuthenticationError" in one_error_line(r.stderr)


@pytest.mark.parametrize("command", ["status", "wait", "download"])
def test_unknown_task_id(kling_cli: CliEnv, command: str, tmp_path: Path) -> None:
    extra = ["-o", str(tmp_path / "x.mp4")] if command == "download" else []
    r = kling_cli(command, "task_does_not_exist", *extra)
    assert r.exit_code == cli.EXIT_USAGE
    assert "not found" in one_error_line(r.stderr).lower()


def _create(kling_cli: CliEnv) -> str:
    from apikley_kling import Kling

    k = Kling(api_key=DEFAULT_API_KEY, **cli._overrides)
    try:
        return k.tasks.create("waves", image=LIGHTHOUSE).id
    finally:
        k.close()


def test_status_wait_download_cycle(kling_cli: CliEnv, tmp_path: Path) -> None:
    tid = _create(kling_cli)
    r = kling_cli("status", tid, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["state"] in ("waiting", "queuing", "generating")
    r = kling_cli("download", tid, "-o", str(tmp_path / "early.mp4"))
    assert r.exit_code == cli.EXIT_TIMEOUT and "still" in one_error_line(r.stderr)
    r = kling_cli("wait", tid, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["state"] == "success"
    r = kling_cli("status", tid)
    assert r.exit_code == 0 and "success" in r.stdout and tid in r.stdout
    r = kling_cli("download", tid, "-o", str(tmp_path / "v.mp4"), "--json")
    assert r.exit_code == 0 and (tmp_path / "v.mp4").stat().st_size == json.loads(r.stdout)["bytes"]


def test_wait_timeout_and_failure(kling_cli: CliEnv) -> None:
    kling_cli.sim.faults.add("createTask", "stuck", times=1)
    stuck = _create(kling_cli)
    r = kling_cli("wait", stuck, "--timeout", "120")
    assert r.exit_code == cli.EXIT_TIMEOUT
    line = one_error_line(r.stderr)
    assert f"kling wait {stuck}" in line
    kling_cli.sim.faults.add("createTask", "fail", times=1)
    failing = _create(kling_cli)
    r = kling_cli("wait", failing, "--json")
    assert r.exit_code == cli.EXIT_FAILED
    assert json.loads(r.stdout)["error"]["task_id"] == failing


def test_generate_ambiguous_submit_exit_6(kling_cli: CliEnv, tmp_path: Path) -> None:
    kling_cli.sim.faults.add("createTask", "drop_after_record", times=1)
    r = kling_cli("generate", "-i", str(LIGHTHOUSE), "-p", "waves", "-o", str(tmp_path / "o.mp4"))
    assert r.exit_code == cli.EXIT_AMBIGUOUS
    assert "AmbiguousSubmit" in one_error_line(r.stderr)
    assert kling_cli.sim.counters.tasks_created[DEFAULT_API_KEY] == 1  # paid once, never resent


def test_insufficient_credits_exit_4(kling_cli: CliEnv, tmp_path: Path) -> None:
    kling_cli.sim.set_credits(DEFAULT_API_KEY, 0.0)
    r = kling_cli("generate", "-i", str(LIGHTHOUSE), "-p", "waves", "-o", str(tmp_path / "o.mp4"))
    assert r.exit_code == cli.EXIT_CREDITS
    assert "InsufficientCredits" in one_error_line(r.stderr)


def test_server_errors_exit_7(kling_cli: CliEnv) -> None:
    kling_cli.sim.faults.add("credit", "status_500", times=50)
    r = kling_cli("credits")
    assert r.exit_code == cli.EXIT_API
    one_error_line(r.stderr)


def test_credits_and_upload(kling_cli: CliEnv, tmp_path: Path) -> None:
    r = kling_cli("credits", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["credits"] == kling_cli.sim.credits()
    r = kling_cli("credits")
    assert r.exit_code == 0 and "credits" in r.stdout
    r = kling_cli("upload", str(LIGHTHOUSE))
    assert r.exit_code == 0 and r.stdout.strip().startswith("http")
    r = kling_cli("upload", str(tmp_path / "missing.png"))
    assert r.exit_code == cli.EXIT_USAGE and "not found" in one_error_line(r.stderr)
    assert kling_cli.sim.counters.requests["fileStreamUpload"] == 1


def test_usage_errors_exit_2(kling_cli: CliEnv) -> None:
    r = kling_cli("generate", "--prompt", "x")  # no --image
    assert r.exit_code == cli.EXIT_USAGE
    r = kling_cli("no-such-command")
    assert r.exit_code == cli.EXIT_USAGE
    assert kling_cli.requests == 0


def test_import_does_not_load_cli_dependencies() -> None:
    # rich and click are not checked: httpx itself imports them when they are installed.
    code = (
        "import sys, apikley_kling; "
        "print(sorted(m for m in ('typer', 'apikley_kling.cli', 'apikley_kling._cli_view', 'apikley_kling.batch',"
        " 'sqlite3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == "[]"


def test_main_accepts_debug_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_debug", False)
    monkeypatch.delenv("APIKLEY_API_KEY", raising=False)
    with pytest.raises(SystemExit) as info:
        cli.main(["credits", "--debug"])
    assert info.value.code == cli.EXIT_AUTH and cli._debug is True
