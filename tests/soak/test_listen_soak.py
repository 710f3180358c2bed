"""`kling listen` under load and under slow clients, as a real process on 127.0.0.1.

- N callbacks from C clients at once (quick 400 from 16, full 2000 from 32), a
  third of them forged: every valid one is recorded exactly once, no connection
  is reset, every forged one is refused.
- S connections that send nothing or trickle their headers (quick 50, full 500):
  all are closed by the server (its read timeout) while a real callback
  is still served.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
from apikley_kling.callbacks import sign_callback

from .conftest import size

KEY = "whsec-soak"
KLING = str(Path(sys.executable).with_name("kling"))


def _body(task_id: str) -> bytes:
    return json.dumps({"code": 200, "msg": "success", "data": {"taskId": task_id, "state": "success"}}).encode()


def _signed(task_id: str, key: str = KEY) -> dict[str, str]:
    ts = str(int(time.time()))
    return {"X-Webhook-Timestamp": ts, "X-Webhook-Signature": sign_callback(task_id, ts, key)}


@contextmanager
def _listen(out: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIKLEY_")}
    env["APIKLEY_WEBHOOK_KEY"] = KEY
    cmd = [KLING, "listen", "--port", "0", "--out", str(out), *args]
    # stderr to a file: a pipe nobody drains would fill up and block the server (one line per callback).
    log = out.with_name(out.name + ".log")
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err, text=True)
    try:
        deadline = time.monotonic() + 20
        while "listening" not in (text := log.read_text()):
            assert proc.poll() is None, "listen exited early"
            assert time.monotonic() < deadline, "listen did not start"
            time.sleep(0.02)  # bounded wait for a subprocess's output
        line = next(x for x in text.splitlines() if "listening" in x)
        yield proc, line.split("on ", 1)[1].split(",")[0].strip()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _post(port: int, task_id: str, key: str) -> int:
    """One callback on a fresh connection (the load is on accepting as much as on answering); its status."""
    body = _body(task_id)
    head = "".join(f"{k}: {v}\r\n" for k, v in _signed(task_id, key).items())
    request = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            assert chunk, "connection closed without an answer"
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def test_no_valid_callback_is_lost_under_load(tmp_path: Path) -> None:
    n, clients = size(400, 2000), size(16, 32)
    out = tmp_path / "tasks.jsonl"
    with _listen(out) as (_, url):
        port = int(url.rstrip("/").rsplit(":", 1)[1])

        def one(i: int) -> tuple[str, int]:
            task_id = f"task_{i}"
            return task_id, _post(port, task_id, KEY if i % 3 else "forged")

        with ThreadPoolExecutor(clients) as pool:
            answers = list(pool.map(one, range(n)))
    valid = {f"task_{i}" for i in range(n) if i % 3}
    assert {t for t, status in answers if status == 200} == valid
    assert all(status == 401 for t, status in answers if t not in valid)
    recorded = [json.loads(x)["task_id"] for x in out.read_text().splitlines()]
    assert sorted(recorded) == sorted(valid)  # each once


def test_slow_clients_are_cut_off(tmp_path: Path) -> None:
    n = size(50, 500)
    with _listen(tmp_path / "tasks.jsonl", "--read-timeout", "1") as (_, url):
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
        try:
            for i, s in enumerate(socks):
                if i % 2:
                    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            assert httpx.post(url, content=_body("task_ok"), headers=_signed("task_ok")).status_code == 200
            for s in socks:
                # The server's read timeout is 1 s; ours, 60 s, only turns a socket it never closes into a failure.
                s.settimeout(60)
                try:
                    with suppress(ConnectionResetError):
                        assert s.recv(1024) == b""
                except TimeoutError:
                    raise AssertionError("a slow client was never cut off by the server") from None
        finally:
            for s in socks:
                s.close()
