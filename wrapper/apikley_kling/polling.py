"""Compatibility: the polling schedule, budgets and the Waiter live in `apikley_kling._engine.schedule`.

Every name of that module resolves here on first use (like the engine, it loads with the first
client), so importing this path costs nothing until then.
"""

from typing import Any

from ._config import DEFAULT_TIMEOUT
from ._engine.inbox import CallbackInbox

__all__ = ["DEFAULT_TIMEOUT", "CallbackInbox"]


def __getattr__(name: str) -> Any:
    from ._engine import schedule

    if name in schedule.__all__:
        return getattr(schedule, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
