"""Money: what a create costs (a rate card beside the spec, estimates) and caps on what a client may spend.

    from apikley_kling import estimate
    estimate(model=M, **fields)       # an Estimate: credits (None: unknown), the price-setting fields, the source
    Kling(max_spend=100).generate(..., max_credits=25)  # SpendLimitExceeded before anything is sent

- `load_card(path_or_mapping)`, `bundled_card()`, `PriceCard`, `PriceEntry`: the rate card (`spec/prices.yaml`),
  each entry with the public page it was read from and the day it was read.
- `estimate(...)` (the arguments of `tasks.create`), `estimate_plan`, `estimate_input`, `Estimate`, `PriceSource`.
- `PriceBook` (`Kling(price_book=PATH)`; `BOOK_NAME` beside a batch's ledger), `ObservedPrices`, `Observation`,
  `ObservedSource`: learned prices, what this account really paid, first over the card.
- `price_fields`, `price_values`: the fields that set a model's price, and their values in a create.
- `SpendGuard`, `CallLimit`, `Hold`: caps, reserved before a create is sent and settled after; `over_cap` and
  `cap_estimate`: the one rule of every cap (a client's, a call's, `kling batch --max-credits`).
"""

from ._book import BOOK_NAME, Observation, ObservedPrices, ObservedSource, PriceBook, Seen
from ._card import CARD_MAX_BYTES, PriceCard, PriceEntry, bundled_card, card_path, load_card
from ._estimate import (
    Estimate,
    PriceSource,
    cap_estimate,
    estimate,
    estimate_input,
    estimate_plan,
    price_fields,
    price_values,
)
from ._guard import CallLimit, Hold, SpendGuard, over_cap

__all__ = [
    "BOOK_NAME",
    "CARD_MAX_BYTES",
    "CallLimit",
    "Estimate",
    "Hold",
    "Observation",
    "ObservedPrices",
    "ObservedSource",
    "PriceBook",
    "PriceCard",
    "PriceEntry",
    "PriceSource",
    "Seen",
    "SpendGuard",
    "bundled_card",
    "cap_estimate",
    "card_path",
    "estimate",
    "estimate_input",
    "estimate_plan",
    "load_card",
    "over_cap",
    "price_fields",
    "price_values",
]
