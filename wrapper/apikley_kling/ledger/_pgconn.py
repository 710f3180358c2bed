"""One PostgreSQL connection that outlives its database's bad days.

- Opening: ``connect_timeout``, TCP keepalives and a TCP user timeout (a dead peer is
  noticed in seconds, not hours), and per-session ``statement_timeout`` / ``lock_timeout``.
- A broken connection (server restarted, network gone) is reopened with backoff, and
  the interrupted call run again, for up to a bounded window of outage; each attempt
  is said (``notice``). Past the window: `LedgerLost`, one line, at once for every
  later call too. Running a call again is safe: a transaction that broke was rolled
  back, and one whose COMMIT went through but whose answer was lost meets, when run
  again, the state machine's own rules (``_machine``): a transition already made is
  recognised, a claim already written turns its job ambiguous; nothing is sent twice.
- Calls from the main thread run in a daemon thread (`_threads.in_thread`), so a paused
  database never keeps Ctrl-C from being handled.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, TypeVar

from .._threads import in_thread, on_main_thread
from ._types import Exec, LedgerLost, LedgerUnavailable
from ._url import INSTALL, redact_url, secrets_of, unencoded_password

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")

#: Seconds of outage a worker rides out (reconnecting) before it stops; $APIKLEY_LEDGER_RECONNECT overrides.
#: Less than a claim's lease (30 s) less one heartbeat (10 s): a worker still reconnecting when its leases lapse
#: would find its jobs taken over (judged ambiguous, or resent with --resubmit-ambiguous) by another worker.
RECONNECT_SECONDS: Final = 18.0
ENV_RECONNECT: Final = "APIKLEY_LEDGER_RECONNECT"
CONNECT_TIMEOUT: Final = 10  # seconds (libpq counts whole seconds, at least 2)
STATEMENT_TIMEOUT: Final = "30s"
LOCK_TIMEOUT: Final = "10s"
CLOSE_WAIT: Final = 0.2  # seconds close() waits for a call in progress before leaving the connection to exit
# A dead peer (a partition, a machine gone) noticed in seconds: keepalives when idle, a user timeout when sending.
_TCP: Final[dict[str, Any]] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "tcp_user_timeout": 20_000,
}

log = logging.getLogger("apikley_kling.ledger")


def reconnect_seconds() -> float:
    """The reconnect window: $APIKLEY_LEDGER_RECONNECT seconds when set to a number >= 0, else the default."""
    raw = os.environ.get(ENV_RECONNECT, "").strip()
    try:
        value = float(raw)
    except ValueError:
        return RECONNECT_SECONDS
    return value if value >= 0 else RECONNECT_SECONDS


def connect(url: str, *, timeout: int = CONNECT_TIMEOUT) -> psycopg.Connection[tuple[Any, ...]]:
    """An autocommit connection, or LedgerUnavailable with one line (no password in it)."""
    bad = unencoded_password(url)
    if bad:
        raise LedgerUnavailable(
            f"the password in the ledger URL {redact_url(url)} holds {bad} unencoded: percent-encode it "
            f"(/ is %2F, ? %3F, @ %40, # %23, % %25), or keep it in a .pgpass or service file"
        )
    try:
        import psycopg
    except ImportError:
        raise LedgerUnavailable(f"a postgresql:// ledger needs psycopg: {INSTALL}") from None
    try:
        conn = psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=max(2, timeout),
            application_name="kling",
            **_TCP,
        )
        # The server ends a statement (or a wait for a row lock) that runs away; the client side is the keepalives'.
        conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'; SET lock_timeout = '{LOCK_TIMEOUT}'")
        return conn
    except psycopg.Error as exc:
        raise LedgerUnavailable(f"cannot open the ledger {redact_url(url)}: {scrub(str(exc), url)}") from None


def scrub(text: str, url: str) -> str:
    """One line of `text` with the URL's password removed."""
    for secret in secrets_of(url):
        text = text.replace(secret, "***")
    return " ".join(text.split())


class Sql:
    """One connection, one lock, `?` placeholders: the executor both the ledger and the budget use.

    `call(fn)` runs `fn` (any number of statements) and runs it again on a new connection when the connection
    breaks, for up to `reconnect_for` seconds of outage (None: $APIKLEY_LEDGER_RECONNECT, else 18 s).
    """

    def __init__(self, url: str, *, reconnect_for: float | None = None) -> None:
        self.where = redact_url(url)
        self.reconnect_for = reconnect_seconds() if reconnect_for is None else reconnect_for
        #: Told each reconnect attempt and its end, one line each (the CLI prints them on stderr).
        self.notice: Callable[[str], None] = log.warning
        self._url = url
        self._lock = threading.RLock()
        self._local = threading.local()
        self._closing = threading.Event()
        self._down_since: float | None = None  # time.monotonic() when the current outage was first seen
        self._attempts = 0
        self._lost: LedgerLost | None = None
        self._converted: dict[str, str] = {}
        self._conn = in_thread(lambda: connect(url)) if on_main_thread() else connect(url)

    def _exec(self, cur: psycopg.Cursor[tuple[Any, ...]], sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        text = self._converted.get(sql)
        if text is None:
            text = self._converted[sql] = sql.replace("?", "%s")
        cur.execute(text, tuple(args))
        return cur.fetchall() if cur.description is not None else []

    @contextmanager
    def tx(self) -> Iterator[Exec]:
        """One transaction, under the lock: every statement of the block commits together or not at all.
        Not run again by itself: wrap the whole block in `call`."""
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            yield lambda sql, args=(): self._exec(cur, sql, args)

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement as its own transaction (autocommit), under the lock; run again after a reconnect."""

        def one() -> list[tuple[Any, ...]]:
            with self._lock, self._conn.cursor() as cur:
                return self._exec(cur, sql, args)

        return self.call(one)

    def call(self, fn: Callable[[], T]) -> T:
        """`fn()`, run again whole on a new connection when the connection broke (within the window);
        LedgerLost past it. From the main thread, run in a daemon thread that Ctrl-C does not wait for."""
        if getattr(self._local, "inside", False):
            return fn()  # the outermost call runs it all again
        if on_main_thread():
            return in_thread(lambda: self.call(fn))
        self._local.inside = True
        try:
            return self._retrying(fn)
        finally:
            self._local.inside = False

    def _retrying(self, fn: Callable[[], T]) -> T:
        import psycopg

        while True:
            if self._lost is not None:
                raise self._lost
            conn = self._conn
            try:
                result = fn()
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                if self._closing.is_set():
                    raise
                self._recover(conn, exc)
                continue
            if self._down_since is not None:
                with self._lock:
                    self._down_since, self._attempts = None, 0
            return result

    def _recover(self, failed: psycopg.Connection[tuple[Any, ...]], exc: Exception) -> None:
        """After `failed` gave `exc`: return when a call may be tried again; LedgerLost when the window is over."""
        with self._lock:  # one thread reconnects; the others wait here, then find the new connection
            if self._lost is not None:
                raise self._lost
            now = time.monotonic()
            if self._down_since is None:
                self._down_since = now
            deadline = self._down_since + self.reconnect_for
            if self._conn is not failed and not self._conn.broken:
                return  # another thread has reconnected meanwhile
            reason = scrub(str(exc), self._url) or type(exc).__name__
            while True:
                if failed.broken or failed.closed:
                    if self._reconnect(deadline):
                        return
                elif time.monotonic() < deadline:
                    # The connection is fine: a statement or lock timeout. Try again after a pause.
                    self._closing.wait(min(1.0, 0.1 * (1 + self._attempts)))
                    self._attempts += 1
                    return
                if time.monotonic() >= deadline or self._closing.is_set():
                    self._lost = LedgerLost(
                        f"lost the ledger {self.where} for {self.reconnect_for:g}s ({reason}); nothing committed is "
                        "lost: run the same command again when it is back (a create whose answer could not be "
                        "recorded is reported ambiguous, never resent by itself)"
                    )
                    raise self._lost
                # Backoff: 0.2 s, doubling, at most 2 s, never past the window.
                self._closing.wait(min(2.0, 0.2 * 2 ** min(self._attempts, 4), max(0.0, deadline - time.monotonic())))

    def _reconnect(self, deadline: float) -> bool:
        self._attempts += 1
        self.notice(f"ledger: connection lost, reconnecting (attempt {self._attempts}, up to {self.reconnect_for:g}s)")
        try:
            conn = connect(self._url, timeout=int(min(CONNECT_TIMEOUT, max(2.0, deadline - time.monotonic()))))
        except LedgerUnavailable:
            return False
        old, self._conn = self._conn, conn
        with contextlib.suppress(Exception):  # closing a connection already broken: nothing to report
            old.close()
        self.notice(f"ledger: reconnected after {self._attempts} attempt(s)")
        return True

    def close(self) -> None:
        """Close the connection; a call stuck on a paused database is left to the process's exit, not waited for."""
        self._closing.set()
        if not self._lock.acquire(timeout=CLOSE_WAIT):
            return
        try:
            self._conn.close()
        finally:
            self._lock.release()
