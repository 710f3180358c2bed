"""What a create would cost, read from a rate card: nothing is sent and no key is needed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..catalog import Model, models
from ._card import PriceCard, PriceEntry, bundled_card

if TYPE_CHECKING:
    from ..catalog import CreatePlan
    from ._book import ObservedPrices, PriceBook

__all__ = ["Estimate", "PriceSource", "estimate", "estimate_input", "estimate_plan", "price_fields", "price_values"]


@dataclass(frozen=True)
class PriceSource:
    """Where a price was read: the card ("bundled", or the user card's name), the page's URL, the day read."""

    card: str
    url: str
    read: str

    def __str__(self) -> str:
        return f"{self.card} card, read {self.read} from {self.url}"


@dataclass(frozen=True)
class Estimate:
    """What one create would cost: `credits` (None when the price is unknown: never 0, never a guess),
    the price-setting `fields` it was based on (as the create sends them, the spec's default for a field
    not given), the card's `source` (None when unknown) and, when unknown, `reason`."""

    model: str
    credits: float | None
    fields: Mapping[str, Any] = field(default_factory=dict)
    source: PriceSource | None = None
    reason: str | None = None

    @property
    def known(self) -> bool:
        return self.credits is not None

    def __str__(self) -> str:
        based = ", ".join(f"{k}={_show(v)}" for k, v in self.fields.items())
        based = f" ({based})" if based else ""
        if self.credits is None:
            return f"{self.model}: price unknown{based}: {self.reason}"
        return f"{self.model}: {self.credits:g} credits{based}; {self.source}"

    def to_dict(self) -> dict[str, Any]:
        """For JSON output."""
        return {
            "model": self.model,
            "credits": self.credits,
            "fields": dict(self.fields),
            "source": None if self.source is None else asdict(self.source),
            "reason": self.reason,
        }


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def price_fields(card: PriceCard, model: Model) -> tuple[str, ...]:
    """The input fields that set `model`'s price: the card's `by`; for a model the card does not price, every
    field that takes a few values (a choice, a boolean, an integer), so that what is learned of one combination
    is never applied to another (more keys than needed, never too few)."""
    entry = card.get(model.id)
    if entry is not None:
        return entry.by
    return tuple(f.name for f in model.fields if f.choices is not None or f.type in ("boolean", "integer"))


def price_values(card: PriceCard, model: Model, input: Mapping[str, Any]) -> dict[str, Any] | None:
    """The price-setting fields' values as a create sends them (the spec's default for a field not given);
    None when a field the card prices by is neither given nor defaulted."""
    priced = card.get(model.id) is not None
    values: dict[str, Any] = {}
    for name in price_fields(card, model):
        f = model.field(name)
        if name in input:
            values[name] = input[name]
        elif f.has_default:
            values[name] = f.default
        elif priced:
            return None
    return values


def estimate_input(
    card: PriceCard, model: Model, input: Mapping[str, Any], observed: ObservedPrices | None = None
) -> Estimate:
    """The price of a create of `model` with this input (as sent: a field not given takes the spec's default):
    what this account was observed to pay for the same price-setting fields (`observed`, a price book's), else
    by `card`. The simulator charges by this same function (without observations)."""
    if observed is not None:
        values = price_values(card, model, input)
        seen = observed.get(model.id, values) if values is not None else None
        if values is not None and seen is not None:
            return Estimate(model.id, seen.credits, values, observed.source(seen))
    entry: PriceEntry | None = card.get(model.id)
    if entry is None:
        return Estimate(model.id, None, reason=f"no price for {model.id} on the {card.name} card")
    values = price_values(card, model, input)
    if values is None:
        missing = next(n for n in entry.by if n not in input and not model.field(n).has_default)
        return Estimate(model.id, None, reason=f"{missing} is not given and has no default on the spec")
    credits = entry.credits_for(tuple(values.values()))
    if credits is None:
        return Estimate(model.id, None, values, reason=f"the {entry.card} card has no price for these values")
    return Estimate(model.id, credits, values, PriceSource(entry.card, entry.source, entry.read))


def estimate_plan(plan: CreatePlan, card: PriceCard | None = None, observed: ObservedPrices | None = None) -> Estimate:
    """The price of a checked create (`catalog.plan_create`): its input as it would be sent."""
    return estimate_input(card if card is not None else bundled_card(), plan.model, plan.input, observed)


def estimate(
    prompt: str | None = None,
    /,
    *,
    model: str | None = None,
    input: Mapping[str, Any] | None = None,
    image: Any = None,
    callback_url: str | None = None,
    prices: PriceCard | None = None,
    price_book: str | os.PathLike[str] | PriceBook | None = None,
    **fields: Any,
) -> Estimate:
    """What `tasks.create` with these arguments would cost: the price this account was observed to pay
    (`price_book`, a path or a PriceBook, as `Kling(price_book=)` keeps it), else by `prices` (default: the
    bundled card).

    The arguments are checked as a create checks them (ValidationError naming the field); nothing is
    sent and no API key is needed.
    """
    from ..catalog import plan_create
    from ._book import PriceBook

    if prompt is not None:
        fields = {"prompt": prompt, **fields}
    plan = plan_create(
        model=model if model is not None else models().default,
        input=input,
        fields=fields,
        image=image,
        callback_url=callback_url,
    )
    if price_book is not None and not isinstance(price_book, PriceBook):
        price_book = PriceBook(price_book)
    return estimate_plan(plan, prices, price_book.observed if price_book is not None else None)


def cap_estimate(
    card: PriceCard, model: Model, input: Mapping[str, Any], observed: ObservedPrices | None = None
) -> Estimate:
    """What a cap counts a create as: the higher of the card's price and what this account was seen to pay.
    One low observation (a refund landing while a create was measured) never lets a cap admit more than the
    card would; a higher one (the account pays more than the card says) is what is really spent."""
    listed = estimate_input(card, model, input)
    if observed is None:
        return listed
    seen = estimate_input(card, model, input, observed)
    if listed.credits is None or (seen.credits is not None and seen.credits > listed.credits):
        return seen
    return listed
