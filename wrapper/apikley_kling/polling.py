"""Compatibility: the polling schedule, budgets and the Waiter live in `apikley_kling._engine.schedule`."""

from ._engine.config import DEFAULT_TIMEOUT
from ._engine.inbox import CallbackInbox
from ._engine.schedule import (
    CALLBACK_SAFETY,
    SCHEDULE,
    Done,
    Idle,
    Launch,
    Pacer,
    RequestBudget,
    TokenBucket,
    Waiter,
    fail_error,
    poll_interval,
)

__all__ = [
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
