"""Learned prices: a create's real cost, read from the balance, recorded only when it is that create's alone.

The one place that decides attribution. With a price book (`Kling(price_book=PATH)`), a create reads the
balance (`credits()`) just before it is sent and just after its answer: two more requests per create. The
move between them is its cost only when no other create of this client was in flight at any moment of
that window: a create that starts while another is in flight marks both, and neither is recorded (and
neither reads the balance again: a create that starts while another is in flight costs no extra request).
Other clients or processes on the same account cannot be seen: a balance that did not fall (a top-up, a
refund, a service that charges later) is never recorded, nor is a read that failed.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._logging import logger
from ..errors import KlingError
from ..events import PriceDifference
from .effects import Call, Emit, Op, Record

if TYPE_CHECKING:
    from ..catalog import CreatePlan
    from ..pricing import ObservedPrices, PriceCard
    from .loop import Engine

__all__ = ["Learner"]


class Learner:
    """A client's creates in flight, and what the attributable ones cost (`observed`: the price book in memory)."""

    def __init__(self, observed: ObservedPrices) -> None:
        self.observed = observed
        self._lock = threading.Lock()  # never held across a request: only around the flight table
        self._tokens = itertools.count()
        self._alone: dict[int, bool] = {}  # token -> no other create was in flight since it began

    def _begin(self) -> int:
        with self._lock:
            token = next(self._tokens)
            alone = not self._alone
            for other in self._alone:
                self._alone[other] = False
            self._alone[token] = alone
            return token

    def _still_alone(self, token: int) -> bool:
        with self._lock:
            return self._alone[token]

    def _end(self, token: int) -> bool:
        with self._lock:
            return self._alone.pop(token)

    def create(
        self,
        engine: Engine,
        card: PriceCard | None,
        plan: CreatePlan,
        send: Op[str],
        on_progress: Callable[[Any], object] | None,
    ) -> Op[str]:
        """Perform `send` (the create's request) between two balance reads; record its cost when attributable."""
        token = self._begin()
        after: float | None = None
        try:
            before = (yield from _balance(engine)) if self._still_alone(token) else None
            task_id = yield from send
            if before is not None and self._still_alone(token):
                try:
                    after = yield from _balance(engine)
                except BaseException:  # an interruption now must not hide the task this create paid for
                    logger.warning("task %s was created; interrupted while reading the balance after it", task_id)
                    raise
        finally:
            alone = self._end(token)
        cost = before - after if alone and before is not None and after is not None else 0.0
        if cost > 0 and math.isfinite(cost):
            try:  # the create is paid and answered: nothing here may make it look unsent or lost
                yield from self._record(engine, card, plan, cost, on_progress)
            except Exception as exc:
                logger.warning("task %s: recording or reporting its price failed (%s)", task_id, exc)
        return task_id

    def _record(
        self,
        engine: Engine,
        card: PriceCard | None,
        plan: CreatePlan,
        cost: float,
        on_progress: Callable[[Any], object] | None,
    ) -> Op[None]:
        from ..pricing import Observation, bundled_card, estimate_input, price_values

        card = card if card is not None else bundled_card()
        values = price_values(card, plan.model, plan.input)
        if values is None:  # a field the card prices by is unknown: nothing to key the observation by
            return
        on_card = estimate_input(card, plan.model, plan.input).credits
        seen = Observation(plan.model.id, values, cost, engine.clock.time(), on_card)
        first = yield Record(seen)
        if first:
            logger.warning(
                "%s (%s): a create cost %g credits on this account, the %s; later estimates use %g",
                seen.model,
                _show(values) or "any input",
                cost,
                "card has no price" if on_card is None else f"card says {on_card:g}",
                cost,
            )
            if on_progress is not None:
                yield Emit(on_progress, PriceDifference(seen.model, dict(values), cost, on_card))


def _balance(engine: Engine) -> Op[float | None]:
    """The balance, or None when it cannot be read (the create goes on unrecorded)."""
    try:
        value: float = yield from engine.request(Call("get_remaining_credits", {}), engine.decoder.credits)
    except KlingError as exc:
        logger.debug("balance not read (%s): this create's price is not recorded", exc)
        return None
    return value


def _show(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in values.items())
