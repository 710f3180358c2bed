"""The CLI's rough edges of issue 12: --version, --base-url, --simulate only where it works, output paths
checked before anything is paid, Ctrl-C that names the task and how to resume it, full URLs in pipes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from apikley_kling import __version__, cli, exit_codes, load_models
from apikley_kling.cli import _client as cli_client
from apikley_kling.clock import VirtualClock
from typer.testing import CliRunner

from ..catalog_values import input_args, valid_input
from ..cli_env import LIGHTHOUSE, SIM_KEY, CliEnv, OfflineCli, Run, _point_cli_at, invoke
from .test_commands import _create, one_error_line

DEFAULT = load_models()[load_models().default]


def _generate_args(folder: Path) -> list[str]:
    return ["generate", *input_args(DEFAULT, valid_input(DEFAULT, folder))]


# -- --version -------------------------------------------------------------------


def test_version_prints_the_package_version() -> None:
    res = CliRunner().invoke(cli.app, ["--version"])
    assert res.exit_code == 0 and res.stdout == f"kling {__version__}\n"


# -- --base-url ------------------------------------------------------------------


class Recorder:
    """A transport that answers every request as the credit endpoint would, and keeps the URLs asked."""

    def __init__(self) -> None:
        self.urls: list[httpx.URL] = []
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict[str, str | None] | None = None) -> Run:
        return invoke(self.runner, args, env)

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(request.url)
        return httpx.Response(200, json={"code": 200, "msg": "success", "data": 42})


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    # No base_url override: the URL the CLI picks is what is tested.
    _point_cli_at(monkeypatch, {"transport": httpx.MockTransport(rec.answer), "clock": VirtualClock()})
    return rec


@pytest.mark.parametrize("where", ["command", "root"])
def test_base_url_flag_is_used_and_beats_the_environment(recorder: Recorder, where: str) -> None:
    flag = ["--base-url", "http://127.0.0.1:8765"]
    args = [*flag, "credits", "--json"] if where == "root" else ["credits", *flag, "--json"]
    r = recorder(*args, env={"APIKLEY_BASE_URL": "https://elsewhere.example"})
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["credits"] == 42
    assert [(u.host, u.port) for u in recorder.urls] == [("127.0.0.1", 8765)]


def test_base_url_from_the_environment_without_flag(recorder: Recorder) -> None:
    r = recorder("credits", env={"APIKLEY_BASE_URL": "https://api.example.test"})
    assert r.exit_code == 0, r.stderr
    assert [u.host for u in recorder.urls] == ["api.example.test"]


@pytest.mark.parametrize("url", ["http://api.example.test", "ftp://127.0.0.1", "not a url", "http://evil.localhost"])
@pytest.mark.parametrize("command", ["credits", "status", "upload", "generate"])
def test_base_url_plain_http_only_to_loopback(recorder: Recorder, url: str, command: str, tmp_path: Path) -> None:
    args = {
        "credits": ["credits"],
        "status": ["status", "some-task"],
        "upload": ["upload", str(LIGHTHOUSE)],
        "generate": [*_generate_args(tmp_path), "-o", str(tmp_path / "v.mp4")],
    }[command]
    r = recorder(*args, "--base-url", url)
    assert r.exit_code == exit_codes.USAGE and "--base-url" in one_error_line(r.stderr)
    assert recorder.urls == []


def test_base_url_and_simulate_exclude_each_other(offline_cli: OfflineCli) -> None:
    r = offline_cli("credits", "--simulate", "--base-url", "http://127.0.0.1:8765")
    assert r.exit_code == exit_codes.USAGE and "--simulate" in one_error_line(r.stderr)
    assert offline_cli.requests == 0


# -- --simulate where it cannot work ---------------------------------------------------


@pytest.mark.parametrize("command", ["status", "wait", "download"])
def test_simulate_on_a_task_command_says_how_to_serve_one(offline_cli: OfflineCli, command: str) -> None:
    r = offline_cli(command, "some-task", "--simulate")
    assert r.exit_code == exit_codes.USAGE
    line = one_error_line(r.stderr)
    assert "kling simulate" in line and "--base-url" in line
    assert offline_cli.requests == 0
    help_text = CliRunner().invoke(cli.app, [command, "--help"]).stdout
    assert "--simulate" not in help_text


# -- output paths ------------------------------------------------------------------------


def test_unwritable_output_refused_before_anything_is_sent(offline_cli: OfflineCli, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for bad in ("/proc/nope.mp4", f"{a_file}/clip.mp4", "/proc/new-folder/"):
        r = offline_cli(*_generate_args(tmp_path), "-o", bad)
        assert r.exit_code == exit_codes.USAGE, (bad, r.stderr)
        assert "--output" in one_error_line(r.stderr)
        r = offline_cli("download", "some-task", "-o", bad)
        assert r.exit_code == exit_codes.USAGE, (bad, r.stderr)
    assert offline_cli.requests == 0


def test_existing_output_needs_overwrite(kling_cli: CliEnv, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"an older video")
    r = kling_cli(*_generate_args(tmp_path), "-o", str(out))
    assert r.exit_code == exit_codes.USAGE and "--overwrite" in one_error_line(r.stderr)
    assert kling_cli.requests == 0 and out.read_bytes() == b"an older video"
    r = kling_cli(*_generate_args(tmp_path), "-o", str(out), "--overwrite", "--json")
    assert r.exit_code == 0, r.stderr
    tid = json.loads(r.stdout)["task_id"]
    assert out.read_bytes() != b"an older video"
    # A download into a folder that already holds <task id>.mp4, and into a file that exists.
    (tmp_path / f"{tid}.mp4").write_bytes(b"old")
    for target in (tmp_path, out):
        r = kling_cli("download", tid, "-o", str(target))
        assert r.exit_code == exit_codes.USAGE and "--overwrite" in one_error_line(r.stderr)
        r = kling_cli("download", tid, "-o", str(target), "--overwrite")
        assert r.exit_code == 0, r.stderr
    assert (tmp_path / f"{tid}.mp4").read_bytes() != b"old"


def test_output_folders_are_made_and_folder_output_still_names_the_task(kling_cli: CliEnv, tmp_path: Path) -> None:
    r = kling_cli(*_generate_args(tmp_path), "-o", str(tmp_path / "new" / "deeper") + "/", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["file"] == str((tmp_path / "new" / "deeper" / f"{doc['task_id']}.mp4").resolve())


def test_demo_command_passes_overwrite() -> None:
    """`python3 scripts/dev.py demo` runs twice in a row: its output exists the second time."""
    text = (Path(__file__).resolve().parents[2] / "scripts" / "dev.py").read_text()
    assert '"--output", str(out), "--overwrite"' in text


# -- Ctrl-C ---------------------------------------------------------------------------------


class InterruptOn(httpx.BaseTransport):
    """The simulator's transport, with Ctrl-C pressed when a request's path matches."""

    def __init__(self, inner: httpx.BaseTransport, needle: str) -> None:
        self.inner = inner
        self.needle = needle

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.needle in request.url.path:
            raise KeyboardInterrupt
        return self.inner.handle_request(request)


def test_ctrl_c_during_a_download_names_the_task_and_the_command(
    kling_cli: CliEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tid = _create(kling_cli)
    assert kling_cli("wait", tid).exit_code == 0
    # The video itself (the simulator serves files under /sim/files/), once fresh URLs were asked for.
    monkeypatch.setitem(cli_client._overrides, "transport", InterruptOn(kling_cli.sim.sync_transport(), "/sim/files/"))
    out = tmp_path / "v.mp4"
    r = kling_cli("download", tid, "-o", str(out))
    assert r.exit_code == exit_codes.INTERRUPTED
    line = one_error_line(r.stderr)
    assert tid in line and "paid" in line and f"`kling download {tid} -o {out}`" in line
    assert not out.exists()


def test_ctrl_c_during_generate_names_the_task(
    kling_cli: CliEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second query of the task is interrupted: the task exists and is paid.
    inner = kling_cli.sim.sync_transport()
    seen: list[str] = []

    class SecondQuery(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("recordInfo"):
                seen.append(request.url.params.get("taskId", ""))
                if len(seen) == 2:
                    raise KeyboardInterrupt
            return inner.handle_request(request)

    monkeypatch.setitem(cli_client._overrides, "transport", SecondQuery())
    out = tmp_path / "v.mp4"
    r = kling_cli(*_generate_args(tmp_path), "-o", str(out), "--json")
    assert r.exit_code == exit_codes.INTERRUPTED
    line = one_error_line(r.stderr)
    tid = seen[0]
    assert tid and tid in line and "keeps running" in line and "paid" in line
    assert f"`kling wait {tid}`" in line and f"`kling download {tid} -o {out}`" in line
    assert json.loads(r.stdout)["error"]["task_id"] == tid


def test_ctrl_c_during_wait_in_a_real_process(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    """SIGINT to `kling wait` against a served simulator: exit 130, the task id, and the resuming command."""
    from apikley_kling import Kling
    from apikley_kling.simulator import Simulator, Timings

    sim = Simulator(api_keys=(SIM_KEY,), timings=Timings(generation=600))
    with sim.serve() as url, Kling(api_key=SIM_KEY, base_url=url) as kling:
        tid = kling.tasks.create(model=DEFAULT.id, **valid_input(DEFAULT, tmp_path)).id
        env = {**subprocess_env, "APIKLEY_API_KEY": SIM_KEY}
        # Python keeps SIGINT ignored when it starts with it ignored (a CI job in the background): restore it.
        start = "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        start += "from apikley_kling.cli import main; main()"
        cmd = [sys.executable, "-c", start, "wait", tid, "--base-url", url]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            deadline = time.monotonic() + 30
            line = proc.stderr.readline()  # the first state line: the wait has begun
            assert "after" in line, line
            assert time.monotonic() < deadline
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    assert proc.returncode == exit_codes.INTERRUPTED, err
    assert "Traceback" not in err
    assert tid in err and "keeps running" in err and "paid" in err
    assert f"`kling wait {tid} --base-url {url}`" in err


# -- full URLs in pipes ------------------------------------------------------------------


def test_status_and_wait_print_whole_urls_when_piped(kling_cli: CliEnv) -> None:
    tid = _create(kling_cli)
    r = kling_cli("wait", tid, env={"COLUMNS": "30"})
    assert r.exit_code == 0, r.stderr
    for out in (r.stdout, kling_cli("status", tid, env={"COLUMNS": "30"}).stdout):
        urls = [line.split()[-1] for line in out.splitlines() if line.startswith("video")]
        assert urls and all(u.startswith("http") and len(u) > 30 for u in urls), out
        status = json.loads(kling_cli("status", tid, "--json").stdout)
        assert urls == status["result_urls"]


# -- batch -------------------------------------------------------------------------------


def test_batch_missing_job_file_is_one_line(offline_cli: OfflineCli, tmp_path: Path) -> None:
    missing = tmp_path / "nosuch.jsonl"
    r = offline_cli("batch", str(missing), "--out", str(tmp_path / "out"))
    assert r.exit_code == exit_codes.USAGE
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines == [f"kling: error: job file not found: {missing}; nothing was sent"], r.stderr
    assert offline_cli.requests == 0


# -- examples in --help ----------------------------------------------------------------------


def _help(*args: str) -> str:
    res = CliRunner().invoke(cli.app, [*args, "--help"], env={"COLUMNS": "100"})
    assert res.exit_code == 0, res.output
    return res.stdout


def _example_lines(text: str) -> list[str]:
    assert "Example:" in text, text
    return [line.strip() for line in text.split("Example:", 1)[1].splitlines() if line.strip()]


def _make_files(words: list[str], folder: Path) -> None:
    """The local files an example names, each of the type its suffix says (real bytes the SDK accepts)."""
    import mimetypes

    from ..catalog_values import _MAKERS

    for word in words:
        mime = mimetypes.guess_type(word)[0]
        if mime in _MAKERS and not word.startswith("-"):
            (folder / word).write_bytes(_MAKERS[mime]())


def test_every_subcommand_help_has_an_example() -> None:
    from apikley_kling.cli._app import COMMANDS

    names = sorted(COMMANDS)
    assert {"generate", "status", "wait", "download", "batch", "models"} <= set(names)
    for name in names:
        lines = _example_lines(_help(name))
        assert any(line.startswith(f"kling {name}") or f" kling {name}" in line for line in lines), (name, lines)


@pytest.mark.parametrize("model", list(load_models()))
def test_generate_example_of_each_model_runs(
    kling_cli: CliEnv, model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example is built from the catalog: run as printed (with its files present), it makes its video."""
    import shlex

    catalog = load_models()
    lines = _example_lines(_help("generate", "--model", model))
    words = shlex.split(lines[0])
    assert words[:2] == ["kling", "generate"]
    assert (words[2:4] == ["--model", model]) == (model != catalog.default)
    m = catalog[model]
    for f in m.fields:
        if f.choices is not None and f.option in words:
            assert words[words.index(f.option) + 1] in [str(c) for c in f.choices]
    monkeypatch.chdir(tmp_path)
    _make_files(words, tmp_path)
    r = kling_cli(*words[1:], "--json")
    assert r.exit_code == 0, (lines[0], r.stderr)
    assert (tmp_path / "clip.mp4").stat().st_size == json.loads(r.stdout)["bytes"]


def test_batch_example_lines_pass_a_dry_run(
    offline_cli: OfflineCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [line for line in _example_lines(_help("batch")) if line.startswith("{")]
    assert len(lines) >= 2
    models = {json.loads(line)["model"] for line in lines}
    assert load_models().default in models and models <= set(load_models())
    monkeypatch.chdir(tmp_path)
    for line in lines:
        _make_files([str(v) for v in json.loads(line).values()], tmp_path)
    (tmp_path / "jobs.jsonl").write_text("\n".join(lines) + "\n")
    r = offline_cli("batch", "jobs.jsonl", "--out", "out", "--dry-run", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["would_create"] == len(lines)
    assert offline_cli.requests == 0


# -- README ----------------------------------------------------------------------------------


def _readme_cli_section() -> str:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    return text.split("## The `kling` command\n", 1)[1].split("\n## ", 1)[0]


def test_readme_exit_code_table_is_exit_codes() -> None:
    rows = [line for line in _readme_cli_section().splitlines() if line.startswith("| ") and "---" not in line]
    table = {cells[0]: cells[1] for cells in ([c.strip() for c in row.strip("|").split("|")] for row in rows)}
    table.pop("code")
    assert table == {str(code): meaning for code, meaning in exit_codes.MEANINGS.items()}


def test_readme_names_the_new_options() -> None:
    section = _readme_cli_section()
    for fragment in ("kling --version", "--base-url", "--overwrite", "kling models", "kling generate --model"):
        assert fragment in section, fragment


def test_readme_job_lines_pass_a_dry_run(
    offline_cli: OfflineCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    section = _readme_cli_section()
    block = section.split("```json\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.strip()]
    assert len({json.loads(line)["model"] for line in lines}) == len(lines) >= 3
    monkeypatch.chdir(tmp_path)
    for line in lines:
        _make_files([str(v) for v in json.loads(line).values()], tmp_path)
    (tmp_path / "jobs.jsonl").write_text(block)
    r = offline_cli("batch", "jobs.jsonl", "--out", "out", "--dry-run", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["would_create"] == len(lines)
