"""A network failure names the host and the cause (DNS, refused, TLS, timeout), read from the exception chain.

Most cases raise httpx's error from a MockTransport with the chain httpx and httpcore build around the
operating system's error; the real ones only resolve a `.invalid` name (RFC 6761: it never resolves),
connect to a closed port on 127.0.0.1, or talk to a local listener: no traffic leaves this machine.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator

import apikley_kling as ak
import httpcore
import httpx
import pytest
from apikley_kling import AsyncKling, Kling

from .conftest import BASE, CANARY, RecordingClock
from .test_sdk_security import _holds

HOST = httpx.URL(BASE).host


def _chained(outer: type[httpx.TransportError], inner: BaseException) -> httpx.TransportError:
    """httpx's error as the real transport raises it: from httpcore's, raised from the OS error."""
    middle: type[Exception] = getattr(httpcore, outer.__name__)
    try:
        try:
            raise inner
        except BaseException as exc:
            raise middle(str(exc)) from exc
    except middle as exc:
        try:
            raise outer(str(exc)) from exc
        except httpx.TransportError as made:
            return made


def _gaierror() -> socket.gaierror:
    """What getaddrinfo raises for a name that does not exist (the one real lookup is a test of its own)."""
    return socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def _cert_error() -> ssl.SSLCertVerificationError:
    err = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)"
    )
    err.verify_message = "self-signed certificate"
    err.reason = "CERTIFICATE_VERIFY_FAILED"
    return err


def _wrong_version() -> ssl.SSLError:
    err = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
    err.reason = "WRONG_VERSION_NUMBER"
    return err


CASES: dict[str, tuple[Callable[[], httpx.TransportError], str, str]] = {
    # name: (the error, its cause, words the message holds after "<host>: ")
    "dns": (lambda: _chained(httpx.ConnectError, _gaierror()), "dns", "DNS lookup failed ("),
    "refused": (
        lambda: _chained(httpx.ConnectError, ConnectionRefusedError(111, "Connection refused")),
        "refused",
        "connection refused",
    ),
    "tls-verify": (
        lambda: _chained(httpx.ConnectError, _cert_error()),
        "tls",
        "TLS: certificate verification failed (self-signed certificate); if a proxy or a private CA",
    ),
    "tls-other": (lambda: _chained(httpx.ConnectError, _wrong_version()), "tls", "TLS: wrong version number"),
    "connect-timeout": (
        lambda: _chained(httpx.ConnectTimeout, TimeoutError("timed out")),
        "timeout",
        "timed out (connect)",
    ),
    "read-timeout": (lambda: _chained(httpx.ReadTimeout, TimeoutError("timed out")), "timeout", "timed out (read)"),
    "reset": (
        lambda: _chained(httpx.ReadError, ConnectionResetError(104, "Connection reset by peer")),
        "connection",
        "ReadError ([Errno 104] Connection reset by peer)",
    ),
}
CONNECTING = {"dns", "refused", "tls-verify", "tls-other", "connect-timeout"}


@pytest.mark.parametrize("name", list(CASES))
def test_the_message_names_the_host_and_the_cause(name: str) -> None:
    make, cause, words = CASES[name]

    def fail(request: httpx.Request) -> httpx.Response:
        raise make()

    with (
        Kling(api_key=CANARY, base_url=BASE, transport=httpx.MockTransport(fail), max_retries=0) as kling,
        pytest.raises(ak.TransportError) as info,
    ):
        kling.credits()
    err = info.value
    head = f"cannot reach {HOST}" if name in CONNECTING else f"connection to {HOST} failed"
    assert err.message.startswith(f"{head}: {words}"), err.message
    assert err.cause == cause and err.host == HOST
    assert CANARY not in str(err) and not _holds(err, CANARY)


def test_the_kind_still_decides_retries() -> None:
    """A refused connect never reached the service: even a create is sent again (the kind is httpx's class)."""
    calls: list[int] = []

    def fail_once(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise CASES["refused"][0]()
        return httpx.Response(200, json={"code": 200, "msg": "ok", "data": {"taskId": "t1"}})

    with Kling(
        api_key=CANARY, base_url=BASE, transport=httpx.MockTransport(fail_once), clock=RecordingClock()
    ) as kling:
        assert kling.tasks.create("a cat", image="https://x.example/c.png").id == "t1"
    assert len(calls) == 2


# -- real failures, on this machine only ---------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def plain_listener() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that answers anything with plain HTTP (what TLS calls a wrong version)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(5)

    def answer() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        server.close()
        thread.join(timeout=5)


def _real_error(base_url: str) -> ak.TransportError:
    kling = Kling(api_key=CANARY, base_url=base_url, max_retries=0, allow_insecure_http=base_url.startswith("http:"))
    with kling, pytest.raises(ak.TransportError) as info:
        kling.credits()
    return info.value


def test_a_name_that_never_resolves_is_a_dns_failure() -> None:
    err = _real_error("https://api.example.invalid")
    assert err.cause == "dns" and err.host == "api.example.invalid"
    assert err.message.startswith("cannot reach api.example.invalid: DNS lookup failed (")
    assert CANARY not in str(err)


def test_a_closed_port_is_refused() -> None:
    port = _closed_port()
    err = _real_error(f"http://127.0.0.1:{port}")
    assert err.cause == "refused" and err.host == f"127.0.0.1:{port}"
    assert err.message.startswith(f"cannot reach 127.0.0.1:{port}: connection refused")


def test_tls_to_a_plain_listener_is_a_tls_failure(plain_listener: int) -> None:
    err = _real_error(f"https://127.0.0.1:{plain_listener}")
    assert err.cause == "tls" and err.message.startswith(f"cannot reach 127.0.0.1:{plain_listener}: TLS: ")


async def test_the_async_client_reads_the_same_causes() -> None:
    """anyio puts an OSError of its own between httpcore's error and the refusal."""
    port = _closed_port()
    async with AsyncKling(api_key=CANARY, base_url=f"http://127.0.0.1:{port}", max_retries=0) as kling:
        with pytest.raises(ak.TransportError) as info:
            await kling.credits()
    assert info.value.cause == "refused" and "connection refused" in info.value.message
