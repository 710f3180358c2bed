"""Compatibility: `apikley_kling.retry.RetryPolicy` (what is retried and how long to wait) lives in the engine."""

from ._engine.retry import Decision, Kind, RetryPolicy, parse_retry_after

__all__ = ["Decision", "Kind", "RetryPolicy", "parse_retry_after"]
