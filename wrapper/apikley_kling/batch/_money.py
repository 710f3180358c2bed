"""A batch's money: each job's estimate, what the ledger shows the batch has spent, its cap, the balance check.

Spend is what the ledger shows this batch has created: every row of it (submitting, created, done, failed,
ambiguous: each may have been paid) counts its job's estimate once per attempt, by the client's rate card.
So a cap holds across re-runs and across the workers of a shared ledger. A create is admitted under the
cap after its claim is written (the claim is the reservation: it is in the ledger before the create is
sent); one that would cross the cap is rolled back (`mark_unsent`: the job stays pending, nothing is lost)
and from then on the batch creates nothing more. With SQLite (one runner) the spend is read from the ledger
once and kept here; with a shared ledger it is read again from the ledger's rows at each admission, after the
claim, so that two workers near the cap can at worst both hold back, never both cross it. The rule itself
is the SDK's one (`pricing.over_cap`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from .. import exit_codes
from ..errors import SpendLimitExceeded
from ..pricing import Estimate, over_cap
from ._jobs import LINE_KEYS, Job

if TYPE_CHECKING:
    from .. import Kling
    from ..ledger import BaseLedger, Row
    from ..pricing import ObservedPrices, PriceCard

#: How the cap is named in its refusals.
CAP_NAME: Final = "--max-credits"


class BatchMoneyRefused(Exception):
    """Refused before anything was sent: the balance cannot pay for the pending jobs (exit 4, as a 402 would be),
    or a job's price is unknown under a cap (exit 8). One line says why; `exit_code` is from `exit_codes`."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def estimate_job(job: Job, card: PriceCard | None = None, observed: ObservedPrices | None = None) -> Estimate:
    """What a job's create counts as under a cap: the higher of `card`'s price (default: the bundled card) and
    what this account was seen to pay (`observed`, a price book's, as a batch keeps beside its ledger)."""
    return _estimate(job.model, job.input, card, observed)


def _estimate(
    model_id: str, fields: Mapping[str, Any], card: PriceCard | None, observed: ObservedPrices | None = None
) -> Estimate:
    from ..catalog import models
    from ..pricing import bundled_card, cap_estimate

    catalog = models()
    if model_id not in catalog:
        return Estimate(model_id, None, reason=f"{model_id} is not a model of the bundled spec")
    # The fields that set a price are never files: the input as given prices the create as it is sent. Priced
    # as a cap counts it (the SDK's one rule), so that a run's admissions and the ledger's spend agree.
    return cap_estimate(card if card is not None else bundled_card(), catalog[model_id], fields, observed)


def _row_estimate(row: Row, card: PriceCard, observed: ObservedPrices | None = None) -> Estimate:
    """A ledger row's estimate, from the job line it keeps (the line may come from another job file)."""
    from ..catalog import models

    raw = row.job
    model_id = raw.get("model", models().default)
    given = raw.get("input")
    fields = {**(given if isinstance(given, dict) else {}), **{k: v for k, v in raw.items() if k not in LINE_KEYS}}
    return _estimate(str(model_id), fields, card, observed)


def _credits(n: float) -> str:
    return f"{n:g} credit{'s' if n != 1 else ''}"


class Budget:
    """A run's money settings and what it has spent; the parts of the run ask it before every create."""

    def __init__(
        self,
        client: Kling,
        max_credits: float | None,
        *,
        allow_unknown_price: bool = False,
        check_balance: bool = False,
        run_what_it_can: bool = False,
    ) -> None:
        from ..pricing import CallLimit

        self.client = client
        self.max_credits = CallLimit(max_credits).max_credits  # the SDK's check of a cap's value
        self.cap = self.max_credits  # lowered to what the balance pays for, with run_what_it_can
        self.cap_name = CAP_NAME
        self.allow_unknown_price = allow_unknown_price
        self.check_balance = check_balance
        self.run_what_it_can = run_what_it_can
        self.spent = 0.0  # by the ledger, in credits (rows of unknown price not included: see `unpriced`)
        self.unpriced = 0
        self.exceeded: SpendLimitExceeded | None = None  # the first create refused: the batch creates no more
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self._ledger: BaseLedger | None = None
        self._estimates: dict[str, Estimate] = {}

    @property
    def active(self) -> bool:
        """Whether the run looks at money at all (a cap, or the balance check)."""
        return self.cap is not None or self.check_balance

    def estimate(self, job: Job) -> Estimate:
        """The job's estimate: the client's learned price, else its card (kept: asked again at each create)."""
        found = self._estimates.get(job.key)
        if found is None:
            book = self.client.price_book
            found = estimate_job(job, self.client.prices, book.observed if book is not None else None)
            self._estimates[job.key] = found
        return found

    def ledger_spend(self, ledger: BaseLedger) -> tuple[float, int]:
        """(credits, rows of unknown price) the ledger shows the batch has created, by the client's card."""
        credits, unpriced = 0.0, 0
        book = self.client.price_book
        observed = book.observed if book is not None else None
        for row in ledger.rows():  # priced as admissions are: what the ledger shows spent is what a cap counts
            est = _row_estimate(row, self.client.prices, observed)
            if est.credits is None:
                unpriced += 1
            else:
                credits += est.credits * max(1, row.attempts)
        return credits, unpriced

    def start(self, ledger: BaseLedger, pending: list[Job]) -> None:
        """Before the first create: the spend so far, unknown prices under the cap, the balance check.
        BatchMoneyRefused when the run must not start (nothing sent)."""
        if not self.active:
            return
        self._ledger = ledger
        self.spent, self.unpriced = self.ledger_spend(ledger)
        if not pending:
            return
        unknown = [job for job in pending if not self.estimate(job).known]
        if unknown and self.cap is not None and not self.allow_unknown_price:
            first = self.estimate(unknown[0])
            raise BatchMoneyRefused(
                f"{len(unknown)} job(s) have an unknown price (line {unknown[0].line}: {first.reason}); under "
                f"{CAP_NAME} they are refused: --allow-unknown-price sends them (their cost not counted); "
                "nothing was sent",
                exit_codes.SPEND,
            )
        if unknown:
            self.notes.append(f"{len(unknown)} job(s) have an unknown price: their cost is not counted")
        if self.check_balance:
            self._check_balance(pending, len(unknown))

    def _planned(self, pending: list[Job]) -> list[float]:
        """The known estimates of the pending jobs the run would send under the cap, in order."""
        planned: list[float] = []
        used = self.spent
        for job in pending:
            est = self.estimate(job)
            if est.credits is None:
                continue
            if over_cap(self.cap, used, est, self.allow_unknown_price):
                break
            used += est.credits
            planned.append(est.credits)
        return planned

    def _check_balance(self, pending: list[Job], unknown: int) -> None:
        planned = self._planned(pending)
        need = sum(planned)
        balance = float(self.client.credits())
        if unknown:
            self.notes.append(f"balance check: it cannot tell for the {unknown} job(s) of unknown price")
        if need <= balance:
            return
        fits, used = 0, 0.0
        for credits in planned:
            if used + credits > balance:
                break
            fits, used = fits + 1, used + credits
        said = (
            f"not enough credits: the {len(planned)} job(s) to send are estimated at {_credits(need)}, "
            f"the balance is {_credits(balance)}: it pays for {fits} of them"
        )
        if not self.run_what_it_can:
            raise BatchMoneyRefused(f"{said}; nothing was sent (--run-what-it-can sends those)", exit_codes.CREDITS)
        if self.cap is None or self.spent + balance < self.cap:
            self.cap, self.cap_name = self.spent + balance, "spent+balance"
        self.notes.append(f"{said}; running those (--run-what-it-can)")

    @contextlib.contextmanager
    def claiming(self) -> Iterator[None]:
        """Around a claim and its admission: one at a time in this process when capped."""
        if self.cap is None:
            yield
            return
        with self._lock:
            yield

    def admit(self, job: Job, row: Row) -> SpendLimitExceeded | None:
        """A claimed job's create may be sent (None), or the refusal (the claim must be rolled back). Inside
        `claiming()`. Once one is refused, every later one is too: the batch stops creating."""
        if self.cap is None:
            return None
        est = self.estimate(job)
        if self.exceeded is None:
            if self._ledger is not None and not self._ledger.single_runner:
                # Other workers create too: what the ledger shows now, this claim's own attempt left out.
                spent, self.unpriced = self.ledger_spend(self._ledger)
                self.spent = spent - (est.credits or 0.0)
            if not over_cap(self.cap, self.spent, est, self.allow_unknown_price):
                self.spent += est.credits or 0.0
                self.unpriced += 0 if est.known else 1
                return None
            self.exceeded = SpendLimitExceeded(self.cap_name, self.cap, self.spent, 0.0, est)
        return self.exceeded

    def unsent(self, job: Job) -> None:
        """A create that surely was not sent (its claim forgotten): its estimate is not spent."""
        if self.cap is not None:
            with self._lock:
                self.spent -= self.estimate(job).credits or 0.0

    def over_cap_message(self) -> str:
        """Why a job was not sent: the cap reached."""
        assert self.exceeded is not None
        return "over the cap: " + str(self.exceeded).split(" [", 1)[0]  # the estimate is the job's own field
