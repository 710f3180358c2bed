"""Each subcommand, happy and unhappy, against an in-process simulator on a virtual clock."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from apikley_kling import Field, cli, exit_codes, load_models
from apikley_kling.cli import _client as cli_client
from apikley_kling.cli._session import current

from ..catalog_values import input_args, valid_value
from ..cli_env import LIGHTHOUSE, SIM_KEY, CliEnv, OfflineCli

DEFAULT = load_models()[load_models().default]
IMAGE = DEFAULT.image_field
assert IMAGE is not None and IMAGE.file is not None, "the default model takes an image"


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
    # ...and the documented table matches the constants.
    doc = exit_codes.__doc__ or ""
    for code in (
        exit_codes.FAILED,
        exit_codes.USAGE,
        exit_codes.AUTH,
        exit_codes.CREDITS,
        exit_codes.TIMEOUT,
        exit_codes.AMBIGUOUS,
        exit_codes.API,
        exit_codes.SPEND,
        exit_codes.NOT_EXERCISED,
        exit_codes.INTERRUPTED,
    ):
        assert f"\n    {code:<6}" in doc and exit_codes.MEANINGS[code] in text


def _distinct(f: Field, folder: Path) -> Any:
    """A valid value that is not the field's default (so that sending it is visible)."""
    if f.choices is not None:
        return f.choices[-1]
    if f.minimum is not None and f.maximum is not None:
        value = round(f.minimum + 0.7 * (f.maximum - f.minimum), 6)
        return int(value) if f.type == "integer" else value
    return valid_value(f, folder)


def test_generate_json_sends_every_field_given(kling_cli: CliEnv, tmp_path: Path) -> None:
    out = tmp_path / "v" / "clip.mp4"
    given = {f.name: _distinct(f, tmp_path) for f in DEFAULT.fields}
    r = kling_cli("generate", *input_args(DEFAULT, given), "-o", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["state"] == "success" and doc["file"] == str(out.resolve())
    assert doc["model"] == DEFAULT.id
    assert out.read_bytes()[4:8] == b"ftyp" and doc["bytes"] == out.stat().st_size
    assert set(doc["timings"]) == {"upload_s", "wait_s", "download_s", "total_s"}
    assert kling_cli.sim.counters.tasks_created[SIM_KEY] == 1
    params = kling_cli.sim.record(doc["task_id"])["param"]
    sent = json.loads(params)["input"]
    assert sent == doc["input"]
    for f in DEFAULT.fields:
        if f.file is not None:
            assert str(sent[f.name]).startswith("http"), f.name  # uploaded first, its URL sent
        else:
            assert sent[f.name] == given[f.name], f.name


def test_generate_sends_only_the_fields_given(kling_cli: CliEnv, tmp_path: Path) -> None:
    r = kling_cli("generate", "-i", str(LIGHTHOUSE), "-p", "waves", "-o", str(tmp_path / "o.mp4"), "--json")
    assert r.exit_code == 0, r.stderr
    sent = json.loads(kling_cli.sim.record(json.loads(r.stdout)["task_id"])["param"])["input"]
    assert set(sent) == {"prompt", IMAGE.name}  # no defaults unasked: the service applies its own


def test_generate_plain_output_names_the_file(kling_cli: CliEnv, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    r = kling_cli("generate", "-i", str(LIGHTHOUSE), "-p", "waves", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    assert str(out.resolve()) in r.stdout and out.exists()
    assert "created task" in r.stderr and "success" in r.stderr  # plain phase lines off a terminal


def test_generate_into_a_folder_names_the_file_after_the_task(kling_cli: CliEnv, tmp_path: Path) -> None:
    r = kling_cli("generate", "-i", str(LIGHTHOUSE), "-p", "waves", "-o", str(tmp_path), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["file"] == str((tmp_path / f"{doc['task_id']}.mp4").resolve()) and Path(doc["file"]).exists()


@pytest.mark.parametrize("case", ["missing_file", "blank_required", "unknown_field_in_input", "bad_callback"])
def test_generate_bad_input_sends_nothing(offline_cli: OfflineCli, tmp_path: Path, case: str) -> None:
    """What the per-limit tests (test_generate_models.py) do not cover; refused before any request."""
    text = next(f for f in DEFAULT.fields if f.required and f.type == "string" and f.file is None)
    values: dict[str, Any] = {IMAGE.name: str(LIGHTHOUSE), text.name: "waves"}
    extra: list[str] = []
    field = {"missing_file": IMAGE.name, "blank_required": text.name, "unknown_field_in_input": "colour"}.get(case)
    if case == "missing_file":
        values[IMAGE.name] = str(tmp_path / "nope.png")
    elif case == "blank_required":
        values[text.name] = "   "
    elif case == "unknown_field_in_input":
        extra = ["--input", json.dumps({"colour": "red"})]
    else:
        field, extra = "callback_url", ["--callback-url", "ftp://example.com/cb"]
    r = offline_cli("generate", *input_args(DEFAULT, values), *extra, "-o", str(tmp_path / "o.mp4"))
    assert r.exit_code == exit_codes.USAGE, r.stderr
    line = one_error_line(r.stderr)
    assert DEFAULT.id in line and f": {field}: " in line
    if case == "missing_file":
        assert "nope.png" in line and "No such file" in line
    assert offline_cli.requests == 0


@pytest.mark.parametrize("value", ["abc", "1e999999x"])
def test_generate_number_that_is_not_a_number_names_the_option(offline_cli: OfflineCli, value: str) -> None:
    number = next(f for f in DEFAULT.fields if f.type == "number")
    r = offline_cli("generate", "-i", str(LIGHTHOUSE), "-p", "waves", number.option, value)
    assert r.exit_code == exit_codes.USAGE
    line = one_error_line(r.stderr)
    assert DEFAULT.id in line and number.name in line and number.option in line and repr(value) in line
    assert offline_cli.requests == 0


def test_bad_input_needs_no_key(offline_cli: OfflineCli) -> None:
    # The check comes first: a typo is reported as a typo, not as a missing key.
    text = next(f for f in DEFAULT.fields if f.max_length is not None)
    long = "x" * ((text.max_length or 0) + 1)
    r = offline_cli("generate", "-i", str(LIGHTHOUSE), text.option, long, env={"APIKLEY_API_KEY": None})
    assert r.exit_code == exit_codes.USAGE and text.name in one_error_line(r.stderr)


def test_no_key_explains_and_sends_nothing(kling_cli: CliEnv) -> None:
    r = kling_cli("credits", env={"APIKLEY_API_KEY": None})
    assert r.exit_code == exit_codes.AUTH
    line = one_error_line(r.stderr)
    assert "APIKLEY_API_KEY" in line and "--simulate" in line
    assert kling_cli.requests == 0


@pytest.mark.parametrize("debug", [False, True])
def test_bad_key_exit_3_and_key_never_printed(kling_cli: CliEnv, debug: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-wrong-0123456789abcdef"
    r = kling_cli(*(["--debug"] if debug else []), "status", "task_x", env={"APIKLEY_API_KEY": secret})
    assert r.exit_code == exit_codes.AUTH
    assert secret not in r.stdout + r.stderr
    if debug:
        assert "Traceback" in r.stderr and "AuthenticationError" in r.stderr
    else:
        assert "AuthenticationError" in one_error_line(r.stderr)


@pytest.mark.parametrize("command", ["status", "wait", "download"])
def test_unknown_task_id(kling_cli: CliEnv, command: str, tmp_path: Path) -> None:
    extra = ["-o", str(tmp_path / "x.mp4")] if command == "download" else []
    r = kling_cli(command, "task_does_not_exist", *extra)
    assert r.exit_code == exit_codes.USAGE
    assert "not found" in one_error_line(r.stderr).lower()


def _create(kling_cli: CliEnv) -> str:
    from apikley_kling import Kling

    k = Kling(api_key=SIM_KEY, **cli_client._overrides)
    try:
        return k.tasks.create("waves", image=LIGHTHOUSE).id
    finally:
        k.close()


def test_status_wait_download_cycle(kling_cli: CliEnv, tmp_path: Path) -> None:
    tid = _create(kling_cli)
    r = kling_cli("status", tid, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["state"] in ("waiting", "queuing", "generating")
    r = kling_cli("download", tid, "-o", str(tmp_path / "early.mp4"))
    assert r.exit_code == exit_codes.TIMEOUT and "still" in one_error_line(r.stderr)
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
    assert r.exit_code == exit_codes.TIMEOUT
    line = one_error_line(r.stderr)
    assert f"kling wait {stuck}" in line
    kling_cli.sim.faults.add("createTask", "fail", times=1)
    failing = _create(kling_cli)
    r = kling_cli("wait", failing, "--json")
    assert r.exit_code == exit_codes.FAILED
    assert json.loads(r.stdout)["error"]["task_id"] == failing


def test_generate_ambiguous_submit_exit_6(kling_cli: CliEnv, tmp_path: Path) -> None:
    kling_cli.sim.faults.add("createTask", "drop_after_record", times=1)
    r = kling_cli("generate", "-i", str(LIGHTHOUSE), "-p", "waves", "-o", str(tmp_path / "o.mp4"))
    assert r.exit_code == exit_codes.AMBIGUOUS
    assert "AmbiguousSubmit" in one_error_line(r.stderr)
    assert kling_cli.sim.counters.tasks_created[SIM_KEY] == 1  # paid once, never resent


def test_insufficient_credits_exit_4(kling_cli: CliEnv, tmp_path: Path) -> None:
    kling_cli.sim.set_credits(SIM_KEY, 0.0)
    r = kling_cli("generate", "-i", str(LIGHTHOUSE), "-p", "waves", "-o", str(tmp_path / "o.mp4"))
    assert r.exit_code == exit_codes.CREDITS
    assert "InsufficientCredits" in one_error_line(r.stderr)


def test_server_errors_exit_7(kling_cli: CliEnv) -> None:
    kling_cli.sim.faults.add("credit", "status_500", times=50)
    r = kling_cli("credits")
    assert r.exit_code == exit_codes.API
    one_error_line(r.stderr)


def test_credits_and_upload(kling_cli: CliEnv, tmp_path: Path) -> None:
    r = kling_cli("credits", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["credits"] == kling_cli.sim.credits()
    r = kling_cli("credits")
    assert r.exit_code == 0 and "credits" in r.stdout
    r = kling_cli("upload", str(LIGHTHOUSE))
    assert r.exit_code == 0 and r.stdout.strip().startswith("http")
    r = kling_cli("upload", str(tmp_path / "missing.png"))
    assert r.exit_code == exit_codes.USAGE and "No such file" in one_error_line(r.stderr)
    not_media = tmp_path / "notes.png"
    not_media.write_text("hello")
    r = kling_cli("upload", str(not_media))
    assert r.exit_code == exit_codes.USAGE and "accepted types" in one_error_line(r.stderr)
    assert kling_cli.sim.counters.requests["fileStreamUpload"] == 1


def test_usage_errors_exit_2(kling_cli: CliEnv) -> None:
    r = kling_cli("generate", "--prompt", "x")  # no image: the model's image field is required
    assert r.exit_code == exit_codes.USAGE
    assert IMAGE.name in one_error_line(r.stderr) and "required" in one_error_line(r.stderr)
    r = kling_cli("generate", "--model", "no/such-model", "--prompt", "x")
    assert r.exit_code == exit_codes.USAGE and "no/such-model" in r.stderr
    r = kling_cli("no-such-command")
    assert r.exit_code == exit_codes.USAGE
    assert kling_cli.requests == 0


def test_import_does_not_load_cli_dependencies() -> None:
    # rich and click are not checked: httpx itself imports them when they are installed.
    code = (
        "import sys, apikley_kling; "
        "print(sorted(m for m in ('typer', 'apikley_kling.cli', 'apikley_kling.cli._view', 'apikley_kling.batch',"
        " 'sqlite3') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == "[]"


def test_main_accepts_debug_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APIKLEY_API_KEY", raising=False)
    with pytest.raises(SystemExit) as info:
        cli.main(["credits", "--debug"])
    assert info.value.code == exit_codes.AUTH and current().debug is True
