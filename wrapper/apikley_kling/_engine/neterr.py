"""Why a connection failed, in words: which host, and the cause (DNS, refused, TLS, timeout, a dropped connection).

httpx wraps the operating system's error twice (httpx.ConnectError <- httpcore.ConnectError <- socket.gaierror,
ConnectionRefusedError, ssl.SSLError ...; anyio adds an OSError in between): the cause is read from that chain,
not from the words of the outer message, which differ between the sync and async transports.
"""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass

import httpx

from .._text import for_terminal

__all__ = ["Failure", "describe", "where"]

# What TransportError.cause holds.
DNS, REFUSED, TLS, TIMEOUT, PROXY, CONNECTION = "dns", "refused", "tls", "timeout", "proxy", "connection"

_TIMEOUTS: tuple[tuple[type[httpx.TimeoutException], str], ...] = (
    (httpx.ConnectTimeout, "connect"),
    (httpx.ReadTimeout, "read"),
    (httpx.WriteTimeout, "write"),
    (httpx.PoolTimeout, "pool"),
)
_SSL_WORDS = re.compile(r"\[SSL: [A-Z_]+\] (?P<words>.*?)(?: \(_ssl\.c:\d+\))?$")
CA_HINT = "if a proxy or a private CA signs this host, point SSL_CERT_FILE (or SSL_CERT_DIR) at its CA bundle"


@dataclass(frozen=True)
class Failure:
    """A transport failure in words: `cause` (one of the names above), `detail`, and whether it met the connect."""

    cause: str
    detail: str
    connecting: bool


def _chain(exc: BaseException, limit: int = 12) -> list[BaseException]:
    """exc, its cause (or context), theirs ...; into the first member of an exception group."""
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(out) < limit and all(current is not seen for seen in out):
        out.append(current)
        group = current.exceptions if isinstance(current, BaseExceptionGroup) else ()
        current = current.__cause__ or current.__context__ or (group[0] if group else None)
    return out


def _tls(err: ssl.SSLError | None, text: str) -> Failure:
    if isinstance(err, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        why = getattr(err, "verify_message", None) or _ssl_words(text)
        return Failure(TLS, f"TLS: certificate verification failed ({why}); {CA_HINT}", True)
    return Failure(TLS, f"TLS: {_ssl_words(str(err) if err is not None else text)}", True)


def _ssl_words(text: str) -> str:
    found = _SSL_WORDS.search(text)
    return found["words"] if found else text


def describe(exc: httpx.TransportError) -> Failure:
    """The cause of an httpx transport error, read from its exception chain."""
    chain = _chain(exc)
    text = str(exc)
    for kind, phase in _TIMEOUTS:
        if isinstance(exc, kind):
            return Failure(TIMEOUT, f"timed out ({phase})", kind is httpx.ConnectTimeout)
    if isinstance(exc, httpx.ProxyError):
        return Failure(PROXY, f"the proxy refused the tunnel ({text})", True)
    for err in chain:
        if isinstance(err, ssl.SSLError):
            return _tls(err, text)
        if isinstance(err, socket.gaierror):
            return Failure(DNS, f"DNS lookup failed ({err.strerror or err})", True)
        if isinstance(err, ConnectionRefusedError):
            return Failure(REFUSED, "connection refused", True)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return _tls(None, text)
    connecting = isinstance(exc, httpx.ConnectError)
    if any(isinstance(err, TimeoutError) for err in chain):
        return Failure(TIMEOUT, "timed out", connecting)
    return Failure(CONNECTION, f"{type(exc).__name__} ({text})" if text else type(exc).__name__, connecting)


def where(exc: httpx.TransportError) -> str | None:
    """host[:port] of the request that failed (None when httpx did not attach one)."""
    try:
        url = exc.request.url
    except RuntimeError:  # an error raised outside a request (a test's bare httpx error)
        return None
    if not url.host:
        return None
    return for_terminal(url.host + (f":{url.port}" if url.port is not None else ""), 120)
