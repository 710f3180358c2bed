"""What a create would cost, read from a rate card: nothing is sent and no key is needed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..catalog import Model, models
from ._card import PriceCard, PriceEntry, bundled_card

if TYPE_CHECKING:
    from ..catalog import CreatePlan

__all__ = ["Estimate", "PriceSource", "estimate", "estimate_input", "estimate_plan"]


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


def estimate_input(card: PriceCard, model: Model, input: Mapping[str, Any]) -> Estimate:
    """The price of a create of `model` with this input (as sent: a field not given takes the spec's default),
    by `card`. The simulator charges by this same function."""
    entry: PriceEntry | None = card.get(model.id)
    if entry is None:
        return Estimate(model.id, None, reason=f"no price for {model.id} on the {card.name} card")
    values: dict[str, Any] = {}
    for name in entry.by:
        f = model.field(name)
        if name in input:
            values[name] = input[name]
        elif f.has_default:
            values[name] = f.default
        else:
            return Estimate(model.id, None, reason=f"{name} is not given and has no default on the spec")
    credits = entry.credits_for(tuple(values.values()))
    if credits is None:
        return Estimate(model.id, None, values, reason=f"the {entry.card} card has no price for these values")
    return Estimate(model.id, credits, values, PriceSource(entry.card, entry.source, entry.read))


def estimate_plan(plan: CreatePlan, card: PriceCard | None = None) -> Estimate:
    """The price of a checked create (`catalog.plan_create`): its input as it would be sent."""
    return estimate_input(card if card is not None else bundled_card(), plan.model, plan.input)


def estimate(
    prompt: str | None = None,
    /,
    *,
    model: str | None = None,
    input: Mapping[str, Any] | None = None,
    image: Any = None,
    callback_url: str | None = None,
    prices: PriceCard | None = None,
    **fields: Any,
) -> Estimate:
    """What `tasks.create` with these arguments would cost, by `prices` (default: the bundled card).

    The arguments are checked as a create checks them (ValidationError naming the field); nothing is
    sent and no API key is needed.
    """
    from ..catalog import plan_create

    if prompt is not None:
        fields = {"prompt": prompt, **fields}
    plan = plan_create(
        model=model if model is not None else models().default,
        input=input,
        fields=fields,
        image=image,
        callback_url=callback_url,
    )
    return estimate_plan(plan, prices)
