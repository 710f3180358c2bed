"""The polling schedule and request budgets, as public names (the scheduler itself is private).

`poll_interval` is the provider's advised schedule (`SCHEDULE`, or `CALLBACK_SAFETY` when a
callback receiver feeds the inbox); a `RequestBudget` (`Pacer`: a local one) paces every call of
a client. The many-task scheduler behind `kling.tasks.watch` is internal.
"""

import warnings
from typing import Any

from ._config import DEFAULT_TIMEOUT
from ._engine.inbox import CallbackInbox
from ._engine.schedule import CALLBACK_SAFETY, SCHEDULE, Pacer, RequestBudget, poll_interval

__all__ = ["CALLBACK_SAFETY", "DEFAULT_TIMEOUT", "SCHEDULE", "CallbackInbox", "Pacer", "RequestBudget", "poll_interval"]

# Names this module used to forward from the scheduler: internal, removed in the next minor version.
_DEPRECATED = frozenset({"Done", "Idle", "Launch", "TokenBucket", "Waiter", "fail_error"})


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        warnings.warn(
            f"apikley_kling.polling.{name} is internal and will be removed; use kling.tasks.watch()",
            DeprecationWarning,
            stacklevel=2,
        )
        from ._engine import schedule

        return getattr(schedule, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
