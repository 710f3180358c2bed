"""HTTPS_PROXY / NO_PROXY are honoured as httpx honours them; through a proxy the key travels only inside the tunnel.

The proxy here only records what it is asked and refuses to open the tunnel
(this machine reaches no API host): what matters is what it was told.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import apikley_kling as ak
import pytest
from apikley_kling import AsyncKling, Kling

from .conftest import CANARY


class _Recorder(socketserver.BaseRequestHandler):
    seen: list[bytes]

    def handle(self) -> None:
        self.request.settimeout(5)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                break
            head += chunk
        self.seen.append(head)
        self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[bytes]]]:
    seen: list[bytes] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_https_proxy_is_used_and_sees_no_key(proxy: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch) -> None:
    url, seen = proxy
    monkeypatch.setenv("HTTPS_PROXY", url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    kling = Kling(api_key=CANARY, base_url="https://api.apikley.ru", max_retries=0)
    with kling, pytest.raises(ak.TransportError) as info:
        kling.credits()
    assert "Proxy" in info.value.kind
    assert len(seen) == 1
    assert seen[0].startswith(b"CONNECT api.apikley.ru:443 HTTP/1.1\r\n")
    assert CANARY.encode() not in seen[0] and b"authorization" not in seen[0].lower()


async def test_async_client_uses_the_proxy_too(proxy: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch) -> None:
    url, seen = proxy
    monkeypatch.setenv("HTTPS_PROXY", url)
    async with AsyncKling(api_key=CANARY, base_url="https://api.apikley.ru", max_retries=0) as kling:
        with pytest.raises(ak.TransportError):
            await kling.tasks.get("t1")
    assert seen and seen[0].startswith(b"CONNECT api.apikley.ru:443")


def test_no_proxy_goes_direct(proxy: tuple[str, list[bytes]], monkeypatch: pytest.MonkeyPatch) -> None:
    url, seen = proxy
    monkeypatch.setenv("HTTPS_PROXY", url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    kling = Kling(api_key=CANARY, base_url=f"https://127.0.0.1:{_closed_port()}", max_retries=0)
    with kling, pytest.raises(ak.TransportError) as info:
        kling.credits()
    assert info.value.kind == "ConnectError"
    assert seen == []  # NO_PROXY: straight to the host, the proxy never asked
