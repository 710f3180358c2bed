"""What `kling listen` runs: callback_app served by uvicorn, each callback confirmed before it is recorded.

The provider signs only the task id and the time, so a callback's body is a
hint: with an API key, each verified callback is confirmed with one query and
the service's answer is what gets written; without one the callback is written
as `"confirmed": false`. Everything that came from the network is escaped
before it reaches a terminal.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._text import for_terminal

if TYPE_CHECKING:
    import asyncio

    from .. import Kling
    from ..models import Task

MAX_BODY = 1 << 20
# A request head larger than this is refused by h11 before anything reaches the app.
MAX_HEAD = 16 * 1024


safe = for_terminal


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Say:
    """Where the server's lines go (stderr unless told), each escaped first: they quote what the network sent."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self.echo = echo or _stderr

    def __call__(self, line: str) -> None:
        self.echo(safe(line, limit=2000))


def task_record(task: Task) -> dict[str, Any]:
    """A task as one line of the output file (the fields `kling status --json` shows)."""
    return {
        "task_id": task.id,
        "model": task.model,
        "state": task.state.value,
        "result_urls": list(task.result_urls),
        "video_url": task.video_url,
        "fail_code": task.fail_code,
        "fail_msg": task.fail_msg,
        "created_at": task.created_at.isoformat() if task.created_at else None,
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
        "cost_time": task.cost_time,
    }


class Recorder:
    """Confirms a verified callback (one `recordInfo` query) and writes the task once, whole."""

    def __init__(self, out: Path | None, kling: Kling | None, say: Say | None = None) -> None:
        self.out = out
        self.kling = kling
        self.say = say or Say()
        self._lock = threading.Lock()

    def record(self, hint: Task) -> None:
        from ..errors import KlingError

        task, confirmed = hint, False
        if self.kling is not None:
            try:
                task = self.kling.tasks.get(hint.id)
            except KlingError as exc:
                self.say(f"could not confirm task {hint.id!r} ({exc}); answered 503 so that the service retries")
                raise
            confirmed = True
        line = json.dumps({**task_record(task), "confirmed": confirmed, "received_at": time.time()})
        with self._lock:
            if self.out is None:
                print(line, flush=True)
            else:
                with self.out.open("a", encoding="utf-8") as f:
                    f.write(line + "\n")
                    f.flush()
                    os.fsync(f.fileno())
        self._tell(hint, task, confirmed)

    def _tell(self, hint: Task, task: Task, confirmed: bool) -> None:
        if not confirmed:
            self.say(
                f"unconfirmed callback for task {task.id!r} (says {task.state.value}; body not checked: no API key)"
            )
        elif hint.state is not task.state or tuple(hint.result_urls) != tuple(task.result_urls):
            self.say(
                f"confirmed task {task.id!r}: {task.state.value} (the callback's body said {hint.state.value}; "
                "the service's answer was recorded)"
            )
        else:
            self.say(f"confirmed task {task.id!r}: {task.state.value}")

    async def __call__(self, hint: Task) -> None:
        # The query and the fsync block: a worker thread keeps the event loop answering other callbacks.
        import asyncio  # on first use: `import apikley_kling` stays as light as httpx

        await asyncio.to_thread(self.record, hint)


def refused(status: int, msg: str, task_id: str | None, say: Say | None = None) -> None:
    say = say or Say()
    about = f" for task {task_id!r}" if task_id else ""
    if status == 200:
        say(f"ignored a duplicate callback{about}")
    elif status != 503:  # a 503 was already explained by the recorder
        say(f"refused a callback{about}: {status} {msg}")


def _protocol(head_timeout: float) -> type[Any]:
    """uvicorn's h11 protocol, plus a deadline for the request head.

    uvicorn times out only idle keep-alive connections; one that connects and
    sends nothing, or trickles its headers, would be held forever. The body has
    the app's own read deadline.
    """

    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Protocol(H11Protocol):
        _head_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._head_deadline is not None:
                self._head_deadline.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._head_deadline is not None:
                self._head_deadline.cancel()
            self._head_deadline = self.loop.call_later(head_timeout, self._head_late)

        def _head_late(self) -> None:
            # Only a connection still owing its request head; a request being answered is the app's business.
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return Protocol


def _listening(port: int) -> Any:
    """A socket bound to 127.0.0.1:`port` and listening before the URL is printed: a client that reads it and
    connects at once is queued, not refused."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    return sock


def _config(app: Any, read_timeout: float) -> Any:
    """uvicorn's settings for the receiver: no websockets, no lifespan, no access log, bounded heads and idles."""
    import uvicorn

    return uvicorn.Config(
        app,
        http=_protocol(read_timeout),
        ws="none",
        lifespan="off",
        log_config=None,
        log_level="error",
        access_log=False,
        backlog=2048,  # a burst of callbacks waits in the kernel's queue instead of being reset
        timeout_keep_alive=max(1, int(read_timeout)),
        timeout_graceful_shutdown=2,
        h11_max_incomplete_event_size=MAX_HEAD,
        server_header=False,
    )


def serve(
    *,
    port: int,
    key: str,
    out: Path | None,
    tolerance: float = 300.0,
    read_timeout: float = 10.0,
    kling: Kling | None = None,
    echo: Callable[[str], None] | None = None,
) -> None:
    """Receive callbacks on 127.0.0.1:`port` until SIGINT/SIGTERM, each verified with `key`, confirmed with one
    query when `kling` is given, and appended to `out` as a JSON line (stdout without it). What the server has
    to say (the URL once the socket is bound, each callback) goes to `echo`, escaped (default: stderr)."""
    import uvicorn

    from .receiver import callback_app
    from .replay import ReplayGuard, SqliteReplayGuard

    say = Say(echo)

    guard: ReplayGuard = SqliteReplayGuard(replay_file(out)) if out is not None else ReplayGuard()
    app = callback_app(
        key,
        on_task=Recorder(out, kling, say),
        replay_guard=guard,
        tolerance=tolerance,
        read_timeout=read_timeout,
        on_refused=lambda status, msg, task_id: refused(status, msg, task_id, say),
    )
    sock = _listening(port)
    config = _config(app, read_timeout)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    mode = (
        "each callback is confirmed with one query to the service"
        if kling is not None
        else "no APIKLEY_API_KEY: callbacks are recorded as unconfirmed (their bodies are not checked)"
    )
    say(mode)
    say(f"listening for callbacks on {url}" + (f", appending to {out}" if out else ""))
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        if isinstance(guard, SqliteReplayGuard):
            guard.close()


def replay_file(out: Path) -> Path:
    """Where the callbacks already seen are kept, beside `out`, so that a restart still refuses replays."""
    return out.with_name(out.name + ".seen.sqlite3")
