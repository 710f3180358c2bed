"""Caps on spending: a client's `max_spend`, a call's `max_credits`.

A create's estimate is reserved before anything is sent, under a lock, so that threads (or tasks of
one event loop) sharing a client can never together cross its cap; the reservation is settled once the
create's outcome is known: released when the create surely was not sent or not accepted (the service
refused it, an upload before it failed), kept when it was accepted or its outcome is unknown
(AmbiguousSubmit, an interruption while it was in flight). The lock is never held across a request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..errors import ConfigurationError, SpendLimitExceeded
from ._estimate import Estimate

__all__ = ["CallLimit", "Hold", "SpendGuard", "over_cap"]


def _cap(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigurationError(f"{name}: must be a number of credits >= 0, not {value!r}")
    return float(value)


def over_cap(cap: float | None, used: float, estimate: Estimate, allow_unknown_price: bool) -> bool:
    """The one rule of every cap (a client's, a call's, a batch's): a create is refused when its estimate would
    take what is `used` (spent and reserved) past `cap`, or when its price is unknown and that is not allowed."""
    if cap is None:
        return False
    if estimate.credits is None:
        return not allow_unknown_price
    return used + estimate.credits > cap


@dataclass(frozen=True)
class CallLimit:
    """What one call adds to the client's rules: its own cap, and whether an unknown price may be sent."""

    max_credits: float | None = None
    allow_unknown_price: bool | None = None  # None: the client's setting

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_credits", _cap("max_credits", self.max_credits))


class Hold:
    """One create's reservation; `settle(kept)` once its outcome is known (a second settle does nothing)."""

    def __init__(self, guard: SpendGuard, estimate: Estimate) -> None:
        self._guard = guard
        self.estimate = estimate
        self.amount = estimate.credits or 0.0
        self._open = True

    def settle(self, kept: bool) -> None:
        with self._guard._lock:
            if not self._open:
                return
            self._open = False
            self._guard._reserved -= self.amount
            if kept:
                self._guard._spent += self.amount
                self._guard._unpriced += 0 if self.estimate.known else 1


class SpendGuard:
    """A client's spending: `max_spend` (None: no cap of its own), what is `spent` (creates sent and kept) and
    `reserved` (creates in flight), in credits by the card's estimates; `unpriced` counts creates sent with an
    unknown price (allowed explicitly), which the figures cannot include."""

    def __init__(self, max_spend: float | None = None, *, allow_unknown_price: bool = False) -> None:
        self.max_spend = _cap("max_spend", max_spend)
        self.allow_unknown_price = bool(allow_unknown_price)
        self._lock = threading.Lock()
        self._spent = 0.0
        self._reserved = 0.0
        self._unpriced = 0

    @property
    def spent(self) -> float:
        return self._spent

    @property
    def reserved(self) -> float:
        return self._reserved

    @property
    def unpriced(self) -> int:
        return self._unpriced

    def capped(self, limit: CallLimit | None) -> bool:
        """Whether a create under `limit` needs an estimate at all (some cap applies)."""
        return self.max_spend is not None or (limit is not None and limit.max_credits is not None)

    def reserve(self, estimate: Estimate, limit: CallLimit | None = None) -> Hold:
        """Reserve `estimate` against the caps, or raise SpendLimitExceeded (nothing reserved, nothing sent)."""
        limit = limit or CallLimit()
        allow = self.allow_unknown_price if limit.allow_unknown_price is None else limit.allow_unknown_price
        with self._lock:
            caps = [
                ("max_credits", limit.max_credits, 0.0),
                ("max_spend", self.max_spend, self._spent + self._reserved),
            ]
            for name, cap, used in caps:
                if cap is not None and over_cap(cap, used, estimate, allow):
                    raise SpendLimitExceeded(name, cap, self._spent, self._reserved, estimate)
            hold = Hold(self, estimate)
            self._reserved += hold.amount
            return hold

    def __repr__(self) -> str:
        return f"SpendGuard(max_spend={self.max_spend}, spent={self._spent:g}, reserved={self._reserved:g})"
