"""Which failures are safe to retry, and how long to wait: pure functions, no IO.

Queries, uploads and downloads are safe to repeat: transport errors, 429, 455
and 5xx are retried with capped, jittered exponential backoff that honours
Retry-After (bounded). A create costs money and has no idempotency key: it is
retried only when the request surely never reached the service (the
connection was never made, or the service answered 429/455, i.e. refused it);
when the answer is lost after sending, the caller must raise AmbiguousSubmit.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field

from ..errors import (
    APIError,
    KlingError,
    MaintenanceError,
    ProtocolError,
    RateLimitError,
    ServerError,
    TransportError,
)

__all__ = ["Decision", "Kind", "RetryPolicy", "parse_retry_after"]

# httpx exception names after which the request certainly never left this host.
NEVER_SENT = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout", "UnsupportedProtocol", "ProxyError"})


class Kind(enum.Enum):
    QUERY = "query"  # GET-like: task query, credits, download-url, uploads, downloads
    CREATE = "create"  # paid, not idempotent


@dataclass(frozen=True)
class Decision:
    retry: bool
    delay: float = 0.0
    ambiguous: bool = False  # CREATE only: the request may have been acted on


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


@dataclass
class RetryPolicy:
    """How often and how long transient failures are retried (exponential backoff with jitter)."""

    max_retries: int = 4
    base: float = 0.5
    cap: float = 30.0
    retry_after_cap: float = 120.0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Delay before retry number attempt+1: Retry-After when given (bounded), else full jitter in [cap/2, cap]."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        ceiling = min(self.cap, self.base * (2**attempt))
        return float(ceiling / 2 + self.rng.uniform(0, ceiling / 2))

    @staticmethod
    def transient(err: KlingError) -> bool:
        """Worth repeating a safe request after this failure."""
        if isinstance(err, TransportError):
            return True
        if isinstance(err, (RateLimitError, MaintenanceError, ServerError)):
            return True
        return isinstance(err, ProtocolError) and err.status is not None and err.status >= 500

    @staticmethod
    def surely_unsent(err: KlingError) -> bool:
        """The service certainly did not act on the request (so even a create may be repeated)."""
        if isinstance(err, TransportError):
            return err.kind in NEVER_SENT
        return isinstance(err, (RateLimitError, MaintenanceError))

    @staticmethod
    def definite(err: KlingError) -> bool:
        """The service answered with a definite refusal (4xx-like body code): nothing was created."""
        return isinstance(err, APIError) and not isinstance(err, ServerError)

    def decide(self, kind: Kind, err: KlingError, attempt: int) -> Decision:
        """attempt counts from 0 (the first try failed)."""
        retry_after = err.retry_after if isinstance(err, APIError) else None
        if kind is Kind.CREATE:
            if self.surely_unsent(err):
                if attempt < self.max_retries:
                    return Decision(True, self.backoff(attempt, retry_after))
                return Decision(False)
            if self.definite(err):
                return Decision(False)
            return Decision(False, ambiguous=True)
        if self.transient(err) and attempt < self.max_retries:
            return Decision(True, self.backoff(attempt, retry_after))
        return Decision(False)
