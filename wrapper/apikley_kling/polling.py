"""Compatibility: the polling schedule, budgets and the Waiter live in `apikley_kling._engine.schedule`.

Loaded on first use (like the engine), so that importing this path costs nothing until then.
"""

from typing import Any

from ._engine.config import DEFAULT_TIMEOUT
from ._engine.inbox import CallbackInbox

__all__ = [  # noqa: F822 (the schedule's names come from __getattr__)
    "CALLBACK_SAFETY",
    "DEFAULT_TIMEOUT",
    "SCHEDULE",
    "CallbackInbox",
    "Done",
    "Idle",
    "Launch",
    "Pacer",
    "RequestBudget",
    "TokenBucket",
    "Waiter",
    "fail_error",
    "poll_interval",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ._engine import schedule

        return getattr(schedule, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
