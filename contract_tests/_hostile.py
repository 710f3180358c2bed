"""Hostile HTTP servers for the contract checker's bad-day tests: raw sockets on 127.0.0.1, a free port.

Each connection is one request: the head (and a Content-Length body) is read, then `handler(method, path,
conn, stop)` writes whatever bytes it likes. Every handler ends by itself (a byte limit, or `stop`, set
when the `serve` block exits); threads are daemons, so nothing outlives the test process.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
Handler = Callable[[str, str, socket.socket, threading.Event], None]


def _read_request(conn: socket.socket) -> tuple[str, str]:
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            return "", ""
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(v) for k, _, v in (h.partition(":") for h in lines[1:]) if k.lower() == "content-length"), 0)
    while len(body) < length:
        more = conn.recv(65536)
        if not more:
            break
        body += more
    method, path, *_ = lines[0].split(" ")
    return method, path


@contextlib.contextmanager
def serve(handler: Handler) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 (a free port) for the block; yields the base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    stop = threading.Event()

    def one(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(10)
            method, path = _read_request(conn)
            if method:
                handler(method, path, conn, stop)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def answer(conn: socket.socket, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    """A whole answer, then the connection closes."""
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {"Content-Type": "application/json"}).items()]
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def json_answer(conn: socket.socket, doc: object, status: int = 200, headers: dict[str, str] | None = None) -> None:
    # ensure_ascii: a lone surrogate travels as the JSON escape \ud800, which every JSON reader accepts
    answer(conn, status, json.dumps(doc).encode("ascii"), {"Content-Type": "application/json", **(headers or {})})


def endless_chunked(limit: int = 256 * 1024 * 1024) -> Handler:
    """A 200 whose chunked body never ends (it stops by itself after `limit` bytes)."""

    def handler(method: str, path: str, conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        sent = 0
        while sent < limit and not stop.is_set():
            conn.sendall(chunk)
            sent += 65536

    return handler


def drip(interval: float, *, in_headers: bool = False, limit: int = 600) -> Handler:
    """A byte every `interval` seconds, in the body (declared 600 bytes long) or still in the headers."""

    def handler(method: str, path: str, conn: socket.socket, stop: threading.Event) -> None:
        head = b"HTTP/1.1 200 OK\r\n" if in_headers else b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % limit
        conn.sendall(head)
        for _ in range(limit):
            if stop.wait(interval):
                return
            conn.sendall(b"X" if in_headers else b" ")

    return handler


def finishes_within(seconds: float, fn: Callable[[], T]) -> T:
    """Run `fn` on a daemon thread; fail (not hang) when it has not returned after `seconds`."""
    result: list[T] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            result.append(fn())
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise AssertionError(f"still running after {time.monotonic() - started:.0f} s: a bound does not hold")
    if failure:
        raise failure[0]
    return result[0]
