"""The SDK's logger and the filter that keeps API keys out of every log line.

The SDK never passes a key to a log call. As a second line of defence, a
filter that replaces every registered secret with "***" is installed on the
`apikley_kling` logger and on the httpx/httpcore loggers (logger filters only
see records logged on that very logger, so each httpcore child is named).
Records of child loggers (`apikley_kling.simulator`, `apikley_kling.batch`, any
`apikley_kling.*`) skip the parent's logger filters, but on their way up they
pass through the handlers of `apikley_kling` before the root's: the SDK's own
do-nothing handler there applies the same filter, so they are cleaned before
any application handler (root, file, caplog) formats them.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

logger = logging.getLogger("apikley_kling")

_THIRD_PARTY = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


# A "secret" shorter than this is a test placeholder, not a key: redacting "k" would
# turn every "task" in every log line into "tas***" and hide what the logs are for.
MIN_SECRET_LENGTH = 6


def redact(text: str, secrets: frozenset[str] | set[str]) -> str:
    for secret in secrets:
        if len(secret) >= MIN_SECRET_LENGTH and secret in text:
            text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()

    def add(self, secret: str) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            self._secrets = self._secrets | {secret}

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave the record alone
            return True
        cleaned = redact(message, secrets)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        return True


class _RedactingHandler(logging.NullHandler):
    """Emits nothing (like NullHandler, it stops "no handler" warnings) but runs its filters on every
    record that reaches it, which includes records propagated up from `apikley_kling.*` children."""

    def handle(self, record: logging.LogRecord) -> bool:
        self.filter(record)
        return True


_filter = RedactingFilter()
_handler = _RedactingHandler()
_handler.addFilter(_filter)
logger.addHandler(_handler)
_installed = False
_install_lock = threading.Lock()


def protect(secret: str) -> None:
    """Register a secret to redact and make sure the filter is installed."""
    global _installed
    _filter.add(secret)
    with _install_lock:
        if _installed:
            return
        for name in ("apikley_kling", *_THIRD_PARTY):
            logging.getLogger(name).addFilter(_filter)
        _installed = True


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg, unused-ignore]
    """Writes to sys.stderr as it is at each record (a test's capture, a redirected stderr)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ sets it
        pass


_stderr: logging.Handler | None = None


def configure(level: str | None) -> None:
    """APIKLEY_LOG (read by _config.log_level): "info" or "debug" sends the SDK's records to stderr, through
    the redacting filter; "debug" adds httpx's. None leaves logging to the application. Idempotent."""
    global _stderr
    if level is None:
        return
    with _install_lock:
        if _stderr is None:
            _stderr = _Stderr()
            _stderr.addFilter(_filter)
            _stderr.setFormatter(logging.Formatter("[%(asctime)s %(levelname)s %(name)s] %(message)s"))
            logger.addHandler(_stderr)
    numeric = logging.DEBUG if level == "debug" else logging.INFO
    logger.setLevel(numeric)
    if level == "debug":
        httpx_logger = logging.getLogger("httpx")
        httpx_logger.setLevel(logging.DEBUG)
        if _stderr not in httpx_logger.handlers:
            httpx_logger.addHandler(_stderr)
