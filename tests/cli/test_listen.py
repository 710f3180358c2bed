"""`kling listen` as a real process: uvicorn serving callback_app on 127.0.0.1, under hostile clients."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from apikley_kling.callbacks import sign_callback

from ..cli_env import KLING
from .test_servers import running

KEY = "whsec-test-key-123"


def callback_body(task_id: str, state: str = "success", url_host: str = "cdn.example") -> bytes:
    data = {
        "taskId": task_id,
        "model": "kling/v2-1-standard",
        "state": state,
        "resultJson": json.dumps({"resultUrls": [f"https://{url_host}/{task_id}.mp4"]}) if state == "success" else "",
        "failCode": None,
        "failMsg": None,
        "param": "{}",
        "createTime": 1,
        "updateTime": 2,
        "completeTime": 3,
        "costTime": 1000,
    }
    return json.dumps({"code": 200, "msg": "success", "data": data}).encode()


def signed(task_id: str, key: str = KEY, ts: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    return {"X-Webhook-Timestamp": stamp, "X-Webhook-Signature": sign_callback(task_id, stamp, key)}


@contextmanager
def listening(env: dict[str, str], *args: str, key: str | None = KEY) -> Iterator[tuple[subprocess.Popen[str], str]]:
    full_env = {**env, "APIKLEY_WEBHOOK_KEY": key} if key else env
    with running([KLING, "listen", "--port", "0", *args], full_env, "listening") as (proc, line):
        yield proc, line.split("on ", 1)[1].split(",")[0].strip()


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    return err


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def raw_exchange(url: str, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send bytes as they are, then read until the server closes (bounded)."""
    with socket.create_connection(("127.0.0.1", port_of(url)), timeout=timeout) as s:
        s.sendall(data)
        return _read_all(s, timeout)


def _read_to_close(s: socket.socket) -> bytes:
    """What the server sends before it closes the connection; fails if it never does (our 60 s only ends a hang)."""
    s.settimeout(60)
    chunks = []
    try:
        while chunk := s.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError("the server did not close the connection") from None
    return b"".join(chunks)


def _read_all(s: socket.socket, timeout: float) -> bytes:
    s.settimeout(timeout)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_listen_accepts_signed_rejects_forged_and_replayed(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    out = tmp_path / "callbacks.jsonl"
    with listening(subprocess_env, "--out", str(out)) as (proc, url):
        assert url.startswith("http://127.0.0.1:")
        good = {**signed("task_a"), "Content-Type": "application/json"}
        assert httpx.post(url, content=callback_body("task_a"), headers=good).status_code == 200
        replay = httpx.post(url, content=callback_body("task_a"), headers=good)
        assert replay.status_code == 200 and replay.json()["msg"] == "duplicate ignored"
        forged = {**good, "X-Webhook-Signature": sign_callback("task_a", good["X-Webhook-Timestamp"], "wrong")}
        assert httpx.post(url, content=callback_body("task_a"), headers=forged).status_code == 401
        assert httpx.post(url, content=callback_body("task_b"), headers=good).status_code == 401
        stale = signed("task_c", ts=int(time.time()) - 3600)
        assert httpx.post(url, content=callback_body("task_c"), headers=stale).status_code == 401
        assert httpx.post(url, content=callback_body("task_d", "fail"), headers=signed("task_d")).status_code == 200
        err = stop(proc)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(x["task_id"], x["state"], x["confirmed"]) for x in lines] == [
        ("task_a", "success", False),
        ("task_d", "fail", False),
    ]
    assert "unconfirmed" in err and KEY not in err
    assert err.count("refused a callback") == 3 and err.count("ignored a duplicate") == 1


def test_listen_prints_json_lines_without_out(subprocess_env: dict[str, str]) -> None:
    with listening(subprocess_env) as (proc, url):
        r = httpx.post(url, content=callback_body("task_z"), headers=signed("task_z"))
        assert r.status_code == 200
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["task_id"] == "task_z"


# -- row 14: the webhook key never on argv ----------------------------------------


def test_listen_takes_its_key_from_a_file_or_stdin(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    key_file = tmp_path / "webhook.key"
    key_file.write_text("from-a-file\n")
    with listening(subprocess_env, "--key-file", str(key_file), key=None) as (_, url):
        assert httpx.post(url, content=callback_body("t1"), headers=signed("t1", "from-a-file")).status_code == 200
        assert httpx.post(url, content=callback_body("t2"), headers=signed("t2")).status_code == 401
    cmd = [KLING, "listen", "--port", "0", "--key-file", "-"]
    proc = subprocess.Popen(
        cmd, env=subprocess_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write("from-stdin\n")
        proc.stdin.close()
        proc.stdin = None  # closed: communicate() must not flush it
        line = ""
        while "listening" not in line:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "listen exited early"
        url = line.split("on ", 1)[1].split(",")[0].strip()
        assert httpx.post(url, content=callback_body("t3"), headers=signed("t3", "from-stdin")).status_code == 200
    finally:
        stop(proc)


def test_listen_without_a_key_and_the_argv_key_warns(subprocess_env: dict[str, str]) -> None:
    res = subprocess.run(
        [KLING, "listen", "--port", "0"], env=subprocess_env, capture_output=True, text=True, timeout=30
    )
    assert res.returncode == 2 and "APIKLEY_WEBHOOK_KEY" in res.stderr and "Traceback" not in res.stderr
    helptext = subprocess.run(
        [KLING, "listen", "--help"], env=subprocess_env, capture_output=True, text=True, timeout=30
    ).stdout
    assert "--key-file" in helptext and "--key " not in helptext
    with running([KLING, "listen", "--port", "0", "--key", "on-argv"], subprocess_env, "warning") as (proc, line):
        err = line + stop(proc)
    assert "warning: --key" in err and "on-argv" not in err


# -- rows 4 and 10: bodies over the cap, broken headers, hostile JSON ---------------


def test_listen_refuses_a_big_body_without_reading_it(subprocess_env: dict[str, str]) -> None:
    with listening(subprocess_env) as (proc, url):
        # A 50 MB body announced and never sent: the answer comes from the headers alone.
        head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n"
        assert status_of(raw_exchange(url, head)) == 413
        # Chunked, so no length to trust: refused once the running count passes the cap, the rest unread.
        with socket.create_connection(("127.0.0.1", port_of(url)), timeout=5) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"[" * (64 * 1024))
            for _ in range(18):  # 1.1 MiB, past the 1 MiB cap; the terminating chunk never comes
                s.sendall(chunk)
            assert status_of(_read_all(s, 5)) == 413
        for bad in (b"-1", b"abc", b"1e3"):
            answer = raw_exchange(url, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + bad + b"\r\n\r\n{}")
            assert status_of(answer) == 400, answer
        nested = b"[" * 200_000
        r = httpx.post(url, content=nested, headers=signed("t1"))
        assert r.status_code == 400
        err = stop(proc)
    assert "Traceback" not in err and "Exception" not in err


# -- row 9: idle and trickling connections time out ------------------------------------


def test_listen_closes_idle_and_trickling_connections(subprocess_env: dict[str, str]) -> None:
    with listening(subprocess_env, "--read-timeout", "0.5") as (_, url):
        idle = [socket.create_connection(("127.0.0.1", port_of(url)), timeout=5) for _ in range(20)]
        heads = [socket.create_connection(("127.0.0.1", port_of(url)), timeout=5) for _ in range(20)]
        for s in heads:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # a head that never ends
        body = socket.create_connection(("127.0.0.1", port_of(url)), timeout=5)
        body.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        try:
            for s in idle + heads:
                assert _read_to_close(s) == b""
            assert status_of(_read_to_close(body)) == 408
            # ...and a real callback is still served.
            assert httpx.post(url, content=callback_body("t1"), headers=signed("t1")).status_code == 200
        finally:
            for s in [*idle, *heads, body]:
                s.close()


# -- rows 6 and 7: replays after a restart, nothing raw on the terminal ----------------


def test_listen_refuses_a_replay_after_a_restart(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    out = tmp_path / "callbacks.jsonl"
    headers = signed("task_r")
    with listening(subprocess_env, "--out", str(out)) as (proc, url):
        assert httpx.post(url, content=callback_body("task_r"), headers=headers).status_code == 200
        stop(proc)
    with listening(subprocess_env, "--out", str(out)) as (proc, url):
        r = httpx.post(url, content=callback_body("task_r"), headers=headers)
        assert r.status_code == 200 and r.json()["msg"] == "duplicate ignored"
    assert len(out.read_text().splitlines()) == 1


@pytest.mark.parametrize(
    "task_id", ["t\nverified callback for task evil (success)", "t\x1b[2K\x1b[31mred\r", "t\u202eevil"]
)
def test_listen_escapes_what_the_network_sent(subprocess_env: dict[str, str], task_id: str) -> None:
    with listening(subprocess_env) as (proc, url):
        unsigned = httpx.post(url, content=callback_body(task_id))
        forged = httpx.post(url, content=callback_body(task_id), headers=signed(task_id, "wrong"))
        valid = httpx.post(url, content=callback_body(task_id), headers=signed(task_id))
        assert (unsigned.status_code, forged.status_code, valid.status_code) == (401, 401, 200)
        err = stop(proc)
    assert "\x1b" not in err and "\u202e" not in err and "\r" not in err
    assert not any(line.startswith("verified") for line in err.splitlines())
    assert len(err.splitlines()) == 3  # after start-up: two refusals and the valid (unconfirmed) callback


# -- row 5: a callback's body is never trusted -------------------------------------------


def test_listen_confirms_each_callback_with_one_query(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    """A captured signature with a swapped body (fail -> success, URL on another host) records the truth."""
    from apikley_kling import Kling
    from apikley_kling.simulator import DEFAULT_API_KEY, Simulator, Timings

    sim = Simulator(external_images="placeholder", timings=Timings(generation=3600.0))
    out = tmp_path / "callbacks.jsonl"
    with sim.serve(port=0) as sim_url:
        with Kling(api_key=DEFAULT_API_KEY, base_url=sim_url) as kling:
            task = kling.tasks.create("p", image="https://images.example/a.png")
        env = {**subprocess_env, "APIKLEY_API_KEY": DEFAULT_API_KEY, "APIKLEY_BASE_URL": sim_url}
        with listening(env, "--out", str(out)) as (proc, url):
            before = sim.counters.requests["recordInfo"]
            forged_body = callback_body(task.id, "success", url_host="evil.example")
            assert httpx.post(url, content=forged_body, headers=signed(task.id)).status_code == 200
            assert sim.counters.requests["recordInfo"] - before == 1
            err = stop(proc)
    [line] = [json.loads(x) for x in out.read_text().splitlines()]
    assert line["task_id"] == task.id and line["confirmed"] is True
    assert line["state"] != "success" and line["video_url"] is None and "evil.example" not in out.read_text()
    assert "the service's answer was recorded" in err and DEFAULT_API_KEY not in err


def test_listen_answers_503_when_it_cannot_confirm(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    """The query refused (a wrong API key): nothing recorded, and the service's retry of the callback is not a replay."""
    from apikley_kling.simulator import Simulator

    out = tmp_path / "callbacks.jsonl"
    with Simulator().serve(port=0) as sim_url:
        env = {**subprocess_env, "APIKLEY_API_KEY": "sk-wrong", "APIKLEY_BASE_URL": sim_url}
        with listening(env, "--out", str(out)) as (proc, url):
            headers = signed("task_q")
            for _ in range(2):  # the retry meets the same refusal, not "duplicate ignored"
                r = httpx.post(url, content=callback_body("task_q"), headers=headers, timeout=30)
                assert r.status_code == 503
            err = stop(proc)
    assert not out.exists() or out.read_text() == ""
    assert err.count("could not confirm task 'task_q'") == 2 and "sk-wrong" not in err
