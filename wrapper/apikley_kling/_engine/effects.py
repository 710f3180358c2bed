"""What an operation asks its shell to do (drive.py: how a shell drives an operation).

Every operation is a generator that yields *effects* (Call: send this request
through the generated client; Sleep; SleepOrWake; Fetch: stream this URL into
this file; Emit: hand this event to a user callable; the file work of uploads
and downloads: ReadFile, Target, FileSize, CheckMp4, Rename, Remove; JournalStep) and
receives their results (or has their exceptions thrown into it): the sans-IO
idea of h11. The generator decides everything; the sync and async shells only
perform (the async one does file work off the event loop).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ..errors import TransportError
from ..events import DownloadProgress, ProgressEvent
from .inbox import CallbackInbox

if TYPE_CHECKING:
    from ..pricing import Observation

__all__ = [
    "Answer",
    "Call",
    "CheckMp4",
    "Effect",
    "Emit",
    "Fetch",
    "FileSize",
    "FileWork",
    "JournalStep",
    "Op",
    "OutOfTime",
    "ReadFile",
    "Record",
    "Remove",
    "Rename",
    "RequestOptions",
    "Sleep",
    "SleepOrWake",
    "Target",
    "transport_error",
]

T = TypeVar("T")


@dataclass(frozen=True)
class RequestOptions:
    """One call's own options (`timeout=`, `extra_headers=`, `extra_query=`, `extra_body=` of a method): data the
    shell applies to the request it sends. `json`, when set, is the whole JSON body to send instead of the
    generated one (the engine merges `extra_body` into it, unvalidated)."""

    timeout: float | httpx.Timeout | None = None
    headers: Mapping[str, str] | None = None
    query: Mapping[str, Any] | None = None
    extra_body: Mapping[str, Any] | None = None
    json: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Call:
    """Send one request through the generated client: `endpoint` names a module in apikley_kling_api.api.default."""

    endpoint: str
    kwargs: Mapping[str, Any]
    upload: bool = False
    options: RequestOptions | None = None
    # lazy: the shell answers with an `Answer` (the body as received, the generated parse on demand) rather than
    # running the generated parse: a decoder that reads a success from the JSON itself saves a decode.
    lazy: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """A `Call(lazy=True)`'s answer: HTTP status, body and headers as received, and `parse()`, the generated
    client's parse of it (its Response, or errors.UnexpectedBody as the shell would have raised)."""

    status_code: int
    content: bytes
    headers: Mapping[str, str]
    parse: Callable[[], Any]


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class SleepOrWake:
    """Sleep, but return early (True) when the inbox gets a notification for task_id."""

    seconds: float
    task_id: str
    inbox: CallbackInbox


@dataclass(frozen=True)
class Fetch:
    """GET url without credentials into `path`, from byte `offset` (Range) when offset > 0."""

    url: str
    path: Path
    offset: int
    on_progress: Callable[[DownloadProgress], object] | None
    timeout: float | httpx.Timeout | None = None


@dataclass(frozen=True)
class Emit:
    callback: Callable[[Any], object]
    event: ProgressEvent


# File work: each is one blocking step on the local disk, performed by the shell (_client/files.py).
@dataclass(frozen=True)
class ReadFile:
    """The bytes of a local file; ValueError (one line: missing, not a file, over `max_bytes`) when it cannot be."""

    path: str | os.PathLike[str]
    max_bytes: int | None


@dataclass(frozen=True)
class Target:
    """The file a download writes (`path`, or `<task id>.mp4` in it when a directory), its folders made."""

    path: str | os.PathLike[str]
    task_id: str | None


@dataclass(frozen=True)
class FileSize:
    """The size of `path` in bytes, 0 when it does not exist."""

    path: Path


@dataclass(frozen=True)
class CheckMp4:
    """None when `path` is a whole MP4, else what is wrong with it."""

    path: Path


@dataclass(frozen=True)
class Rename:
    """Move `source` to `target` atomically, replacing it."""

    source: Path
    target: Path


@dataclass(frozen=True)
class Remove:
    """Delete `path` if it exists."""

    path: Path


@dataclass(frozen=True)
class Record:
    """Write a create's observed price to the client's price book; the answer is True when its difference from
    the card is to be reported (the first in that book for its model and fields)."""

    observation: Observation


@dataclass(frozen=True)
class JournalStep:
    """One blocking step on a create journal (a SQLite ledger): `call()`, performed by the shell like file work."""

    call: Callable[[], Any]


FileWork = ReadFile | Target | FileSize | CheckMp4 | Rename | Remove | JournalStep
Effect = Call | Sleep | SleepOrWake | Fetch | Emit | FileWork | Record
Op = Generator[Effect, Any, T]


def transport_error(exc: httpx.TransportError, doing: str, task_id: str | None) -> TransportError:
    """Our TransportError for an httpx one, naming the host and the cause (neterr.describe). Its cause is a copy
    without `.request`: the request's headers hold the API key, and nothing reachable from an error we raise may
    hold it."""
    from .neterr import describe, where

    failure = describe(exc)
    host = where(exc)
    if host is None:
        head = "cannot connect" if failure.connecting else "connection failed"
    else:
        head = f"cannot reach {host}" if failure.connecting else f"connection to {host} failed"
    message = f"{head}: {failure.detail}, while {doing}"
    err = TransportError(message, kind=type(exc).__name__, cause=failure.cause, host=host, task_id=task_id)
    text = str(exc)
    try:
        err.__cause__ = type(exc)(text)
    except TypeError:  # an httpx subclass with another signature: keep only the words
        err.__cause__ = httpx.TransportError(text)
    return err


class OutOfTime(Exception):
    """A retry inside a wait would sleep past the wait's deadline (wait() turns it into TaskTimeout).

    Not a KlingError: it never leaves the core. `__cause__` is the error that was to be retried.
    """
