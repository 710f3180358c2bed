"""Compatibility: the polling schedule, budgets and the Waiter live in `apikley_kling._engine.schedule`."""

from ._engine.config import DEFAULT_TIMEOUT
from ._engine.inbox import CallbackInbox
from ._engine.schedule import *  # noqa: F403
from ._engine.schedule import __all__ as _schedule_names

__all__ = ["DEFAULT_TIMEOUT", "CallbackInbox", *_schedule_names]
