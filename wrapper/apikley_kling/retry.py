"""What is retried and how long to wait: `RetryPolicy` (pass one as `Kling(retry=...)`) and `parse_retry_after`."""

import warnings
from typing import Any

from ._engine.retry import RetryPolicy, parse_retry_after

__all__ = ["RetryPolicy", "parse_retry_after"]

# Internal names this module used to export, removed in the next minor version.
_DEPRECATED = frozenset({"Decision", "Kind"})


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        warnings.warn(f"apikley_kling.retry.{name} is internal and will be removed", DeprecationWarning, stacklevel=2)
        from ._engine import retry

        return getattr(retry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
