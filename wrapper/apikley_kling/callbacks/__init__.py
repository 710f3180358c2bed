"""The service's signed callbacks: checking them (`verify_callback`), remembering what was
seen (`ReplayGuard`, `SqliteReplayGuard`) and receiving them (`callback_app`, an ASGI app;
`serve`, that app on 127.0.0.1 with each callback confirmed and recorded: what `kling listen` runs).

A callback only says "task X changed"; the provider signs the task id and the time, not the
body, so a receiver hands the id to a `CallbackInbox` and the waiting client confirms it with
one query before any URL in it is trusted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .receiver import callback_app
from .replay import ReplayGuard, SqliteReplayGuard
from .verify import sign_callback, verify_callback

if TYPE_CHECKING:
    from ._serve import serve, task_record

__all__ = [
    "ReplayGuard",
    "SqliteReplayGuard",
    "callback_app",
    "serve",
    "sign_callback",
    "task_record",
    "verify_callback",
]


def __getattr__(name: str) -> Any:
    # `serve` brings uvicorn's world with it: loaded when asked for, not with `import apikley_kling`.
    if name in ("serve", "task_record"):
        from . import _serve

        return getattr(_serve, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
