"""The checker's own limits on a server it does not control: how much it reads, how long it waits, how long it sleeps.

Every exchange runs on a helper thread under one wall deadline (`exchange`): the
caller stops waiting when the deadline passes, whether the server is silent,
dripping a byte at a time, or streaming without end, and a body is read in
chunks up to a size cap. What came past a cap or a deadline is the server's
fault and is reported as a finding (`Breach`); nothing that never started to
answer is judged (the caller gets an error).

`Retry-After` is read defensively (seconds, HTTP-date, or garbage such as
`inf`, `nan`, `-5`, `1e999`) and never asks for more than a small maximum.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from ._findings import BOUND_CHECK, Finding

__all__ = ["BOUND_CHECK", "Breach", "NoAnswer", "Unreachable", "exchange", "retry_after"]
DEFAULT_MAX_BYTES = 4 * 1024 * 1024  # the spec's answers are small JSON envelopes: this is generous
RETRY_AFTER_MAX = 60.0  # seconds: the longest single wait a 429 may ask of the checker
RETRY_BUDGET = 300.0  # seconds: every 429 wait of one run together

T = TypeVar("T")


class Unreachable(Exception):
    """The server could not be reached at all (DNS, refused, TLS, connect timeout): nothing to judge."""

    def __init__(self, host: str, cause: BaseException) -> None:
        self.host = host
        self.cause = cause
        super().__init__(f"could not reach {host}: {type(cause).__name__}: {_first_line(cause)}")


class NoAnswer(Exception):
    """No answer (not even a status line) within the deadline."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or repr(exc)
    return text.splitlines()[0] if text else ""


def host_of(url: str) -> str:
    """The host (and port, when given) of a URL, for a one-line message."""
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url


@dataclass(frozen=True)
class Breach:
    """An answer that went past a limit: what the limit was and what came."""

    expected: str
    seen: str

    def finding(self, label: str, where: str = "") -> Finding:
        return Finding(BOUND_CHECK, label, "", self.expected, self.seen, where=where)


def too_large(max_bytes: int) -> Breach:
    return Breach(f"an answer of at most {max_bytes} bytes", f"more than {max_bytes} bytes (read stopped there)")


def too_slow(seconds: float, received: int) -> Breach:
    return Breach(f"a whole answer within {seconds:g} s", f"{received} bytes after {seconds:g} s, not finished")


@dataclass
class Progress(Generic[T]):
    """What an exchange got so far; the worker thread writes it, the caller reads it when it stops waiting."""

    head: T | None = None  # the response, once its status line and headers came
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    over: bool = False
    stop: threading.Event = field(default_factory=threading.Event)

    def body(self) -> bytes:
        return b"".join(self.chunks)


def read_capped(progress: Progress[T], chunks: Iterator[bytes], max_bytes: int) -> None:
    """Read `chunks` into `progress` until they end, the cap is passed, or the caller gave up."""
    for chunk in chunks:
        if progress.stop.is_set():
            return
        keep = chunk[: max(0, max_bytes - progress.size)]
        progress.chunks.append(keep)
        progress.size += len(keep)
        if len(chunk) > len(keep):
            progress.over = True
            return


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A finished (or cut) exchange: the response, the body read, and the limit it passed (if any)."""

    response: T
    content: bytes
    breach: Breach | None


def exchange(
    start: Callable[[], T],
    chunks: Callable[[T], Iterator[bytes]],
    close: Callable[[T], None],
    *,
    seconds: float,
    max_bytes: int,
) -> Outcome[T]:
    """Run one request (`start` sends it and returns once the headers came) and read its body, in all
    at most `seconds` of wall time and `max_bytes` of body. Raises what `start` raised, or `NoAnswer`."""
    progress: Progress[T] = Progress()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            progress.head = start()
            read_capped(progress, chunks(progress.head), max_bytes)
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)
        finally:
            if progress.head is not None:
                _quietly(close, progress.head)

    # A daemon thread: one stuck in a server's endless header drip must not keep the process alive.
    worker = threading.Thread(target=work, name="contract-exchange", daemon=True)
    worker.start()
    worker.join(seconds if math.isfinite(seconds) and seconds > 0 else None)
    progress.stop.set()
    head = progress.head
    if worker.is_alive():
        if head is None:
            raise NoAnswer(f"no answer within {seconds:g} s")
        return Outcome(head, progress.body(), too_slow(seconds, progress.size))
    if failure:
        raise failure[0]
    assert head is not None
    return Outcome(head, progress.body(), too_large(max_bytes) if progress.over else None)


def _quietly(close: Callable[[T], None], value: T) -> None:
    with contextlib.suppress(Exception):  # closing a connection the server broke: nothing more to learn
        close(value)


def retry_after(value: str | None, *, now: float, fallback: float, cap: float = RETRY_AFTER_MAX) -> float:
    """Seconds a `Retry-After` value asks to wait, within [0, cap]; `fallback` (capped) when it says nothing usable.

    Delay-seconds or an HTTP-date (RFC 9110); `inf` or a date decades away is the cap, not years of sleep;
    `nan`, a negative number or garbage is the fallback.
    """
    text = (value or "").strip()
    seconds: float | None = None
    if text:
        try:
            seconds = float(text)
        except ValueError:
            seconds = _date_seconds(text, now)
    if seconds is None or math.isnan(seconds) or seconds < 0:
        seconds = fallback
    return max(0.0, min(seconds, cap))


def _date_seconds(text: str, now: float) -> float | None:
    try:
        when = parsedate_to_datetime(text)
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None
