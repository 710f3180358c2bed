"""`kling simulate` and the README demo, as real processes on 127.0.0.1 (`kling listen`: test_listen.py)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from apikley_kling import exit_codes, load_models
from apikley_kling.simulator import DEFAULT_API_KEY

from ..cli_env import KLING, LIGHTHOUSE, ROOT


@contextmanager
def running(
    cmd: list[str], env: dict[str, str], ready: str, stream: str = "stderr"
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start a server process and yield it with the first line that contains `ready`."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pipe = proc.stderr if stream == "stderr" else proc.stdout
        assert pipe is not None
        deadline = time.monotonic() + 20
        line = ""
        while ready not in line:
            line = pipe.readline()
            if not line and proc.poll() is not None:
                raise AssertionError(f"server exited early: {proc.returncode}")
            assert time.monotonic() < deadline, "server did not start"
        yield proc, line
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_simulate_serves_loopback_and_prints_url_and_key(subprocess_env: dict[str, str]) -> None:
    cmd = [KLING, "simulate", "--port", "0"]
    with running(cmd, subprocess_env, "listening on", stream="stdout") as (proc, line):
        url = line.rsplit(" ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:")
        assert proc.stdout is not None
        assert DEFAULT_API_KEY in proc.stdout.readline()
        r = httpx.get(f"{url}/api/v1/chat/credit", headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"})
        assert r.json()["code"] == 200
        # ...and the CLI itself talks to it over plain http because it is loopback.
        env = {**subprocess_env, "APIKLEY_BASE_URL": url, "APIKLEY_API_KEY": DEFAULT_API_KEY}
        res = subprocess.run([KLING, "credits", "--json"], env=env, capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["credits"] > 0


@pytest.mark.parametrize(("mode", "code"), [("reject", 422), ("placeholder", 200)])
def test_simulate_external_images(subprocess_env: dict[str, str], mode: str, code: int) -> None:
    """By default an image on another host is refused (it cannot be fetched); placeholder accepts it."""
    cmd = [KLING, "simulate", "--port", "0", "--external-images", mode]
    with running(cmd, subprocess_env, "listening on", stream="stdout") as (_, line):
        url = line.rsplit(" ", 1)[1].strip()
        image_url = "https://images.example/a.png"
        model = load_models()[load_models().default]
        assert model.image_field is not None
        field = model.image_field.name
        body = {"model": model.id, "input": {"prompt": "p", field: image_url}}
        r = httpx.post(
            f"{url}/api/v1/jobs/createTask", json=body, headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"}
        )
        assert r.json()["code"] == code, r.text
        if code == 422:
            assert field in r.json()["msg"]


def test_simulate_rejects_an_unknown_external_images_mode(subprocess_env: dict[str, str]) -> None:
    res = subprocess.run(
        [KLING, "simulate", "--port", "0", "--external-images", "fetch"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 2 and "--external-images" in res.stderr and "Traceback" not in res.stderr


def test_simulate_refuses_a_busy_port(subprocess_env: dict[str, str]) -> None:
    with running([KLING, "simulate", "--port", "0"], subprocess_env, "listening on", stream="stdout") as (_, line):
        port = line.rsplit(":", 1)[1].strip()
        res = subprocess.run(
            [KLING, "simulate", "--port", port], env=subprocess_env, capture_output=True, text=True, timeout=30
        )
        assert res.returncode == 2
        assert "Traceback" not in res.stderr and "cannot listen" in res.stderr


def test_demo_command_makes_a_playable_mp4(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    """What `python3 scripts/dev.py demo` runs, on the real clock: it finishes and leaves a playable MP4.

    How long it takes is the machine's business (16 s on a busy 2-core box): no wall-clock bound here.
    """
    av = pytest.importorskip("av")
    out = tmp_path / "out" / "demo.mp4"
    res = subprocess.run(
        [
            KLING,
            "generate",
            "--simulate",
            "--image",
            str(LIGHTHOUSE),
            "--prompt",
            "The camera pushes in slowly on the lighthouse as waves roll in",
            "--output",
            str(out),
        ],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=300,  # only so that a hung run fails instead of hanging the suite
    )
    assert res.returncode == 0, res.stderr
    assert str(out.resolve()) in res.stdout
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (1280, 720)
        frames = sum(1 for _ in container.decode(stream))
    assert frames > 24


def test_ctrl_c_under_simulate_says_the_task_is_gone_and_unpaid(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    """The in-process simulator ends with the command: no `kling wait` (it cannot reach it), nothing paid."""
    # Python keeps SIGINT ignored when it starts with it ignored (a CI job in the background): restore it.
    start = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    start += "from apikley_kling.cli import main; main()"
    args = ["generate", "--simulate", "--image", str(LIGHTHOUSE), "--prompt", "x", "-o", str(tmp_path / "v.mp4")]
    proc = subprocess.Popen([sys.executable, "-c", start, *args], env=subprocess_env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = ""
        while "created task" not in line:  # the task exists: from here the old message said it was paid
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "generate ended before it created a task"
        task_id = line.split()[-1]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == exit_codes.INTERRUPTED, err
    [message] = [x for x in err.splitlines() if "interrupted" in x]
    assert f"task {task_id} is gone" in message and "nothing was paid" in message
    assert "run the same command again" in message
    assert "kling wait" not in err and "keeps running" not in err and "Traceback" not in err


def test_generate_without_key_or_simulate(subprocess_env: dict[str, str]) -> None:
    res = subprocess.run(
        [KLING, "generate", "--image", str(LIGHTHOUSE), "--prompt", "x"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert res.returncode == 3
    assert res.stderr.count("\n") == 1 and "APIKLEY_API_KEY" in res.stderr and "--simulate" in res.stderr
    assert sys.executable  # the script runs from this venv


def test_the_readme_serves_the_simulator_where_kling_simulate_does() -> None:
    """`kling simulate` then the README's `--base-url http://127.0.0.1:PORT` must meet: one port, read from the CLI."""
    import re

    import typer
    from apikley_kling.cli.commands.simulate import app as simulate_app

    command = typer.main.get_command(simulate_app)
    default = next(p.default for p in command.params if p.name == "port")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ports = re.findall(r"kling simulate --port (\d+)", readme) + re.findall(r"http://127\.0\.0\.1:(\d+)", readme)
    assert ports, "the README no longer shows kling simulate with a port"
    assert set(ports) == {str(default)}, (ports, default)
