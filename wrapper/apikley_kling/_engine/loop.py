"""The one request loop: the client's budget, the retry rules of the request's kind, creates never resent
when their outcome is unknown. Downloads share its waiting step (`wait_to_retry`)."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from .._logging import logger
from ..clock import Clock
from ..errors import AmbiguousSubmit, KlingError, RateLimitError
from .decode import Decoder
from .effects import Call, Op, OutOfTime, Sleep, transport_error
from .inbox import CallbackInbox
from .retry import Decision, Kind, RetryPolicy
from .schedule import RequestBudget

__all__ = ["Engine"]

T = TypeVar("T")


@dataclass
class Engine:
    """What every operation shares: the clock, the retry policy, the decoder, the budget."""

    clock: Clock
    retry: RetryPolicy
    decoder: Decoder
    inbox: CallbackInbox
    rng: random.Random = field(default_factory=random.Random)
    pacer: RequestBudget | None = None  # Kling(rate_limit=...): one budget for every call of the client

    def _pace(self, pacer: RequestBudget, endpoint: str, deadline: float | None) -> Op[None]:
        """Wait for the client's request budget, never past a wait's deadline."""
        while (delay := pacer.wait_time(self.clock.monotonic())) > 0:
            if deadline is not None and self.clock.monotonic() + delay > deadline:
                raise OutOfTime(endpoint)
            yield Sleep(delay)

    def request(
        self,
        call: Call | Callable[[], Call],
        decode: Callable[[Any], T],
        *,
        kind: Kind = Kind.QUERY,
        task_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        retries: bool = True,
        deadline: float | None = None,
    ) -> Op[T]:
        """Send `call` and decode the answer, retrying by the rules of `kind`: the one retry loop.

        `call` may be a factory, for a request whose body is read as it is sent (an upload): each attempt gets
        a fresh one. With a `deadline` (monotonic seconds, set by wait()), no sleep goes past it: a sleep that
        would is cut to the time left and then OutOfTime is raised.
        """
        from apikley_kling_api.errors import UnexpectedBody  # type: ignore[import-untyped, unused-ignore]

        attempt = 0
        while True:
            this = call() if callable(call) else call
            if self.pacer is not None:  # no generator on the hot path of a client without a budget
                yield from self._pace(self.pacer, this.endpoint, deadline)
            sent_at = self.clock.time()
            err: KlingError
            try:
                resp = yield this
            except httpx.TransportError as exc:
                err = transport_error(exc, f"calling {this.endpoint}", task_id)
            except UnexpectedBody as exc:
                err = self.decoder.unexpected(exc.status_code, exc.content, exc.headers, task_id)
                err.__cause__ = exc
            else:
                try:
                    return decode(resp)
                except KlingError as exc:
                    err = exc
            decision = self.retry.decide(kind, err, attempt)
            if isinstance(err, RateLimitError) and self.pacer is not None:
                self.pacer.pause(self.clock.monotonic(), self.retry.backoff(attempt, err.retry_after))
            if decision.ambiguous:
                logger.warning("createTask outcome unknown (%s): not resending", type(err).__name__)
                raise AmbiguousSubmit(body or {}, reason=str(err), sent_at=sent_at, status=err.status) from err
            yield from self.wait_to_retry(
                decision if retries else Decision(False), err, attempt, this.endpoint, deadline
            )
            attempt += 1

    def wait_to_retry(
        self, decision: Decision, err: KlingError, attempt: int, doing: str, deadline: float | None = None
    ) -> Op[None]:
        """Sleep before attempt+1, or raise `err` when the decision is not to retry (or no time is left)."""
        if not decision.retry:
            raise err
        logger.info(
            "%s failed (%s), retry %d/%d in %.2fs",
            doing,
            type(err).__name__,
            attempt + 1,
            self.retry.max_retries,
            decision.delay,
        )
        if deadline is not None:
            left = deadline - self.clock.monotonic()
            if decision.delay > left:
                if left > 0:
                    yield Sleep(left)
                raise OutOfTime(doing) from err
        yield Sleep(decision.delay)
