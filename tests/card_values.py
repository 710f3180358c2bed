"""What the bundled rate card says of the default model, for the CLI and batch money tests (read, never written)."""

from __future__ import annotations

from apikley_kling import load_models
from apikley_kling.pricing import bundled_card

CATALOG = load_models()
DEFAULT = CATALOG[CATALOG.default]
CARD = bundled_card()
ENTRY = CARD[DEFAULT.id]  # the default model has a price on the card
BY = DEFAULT.field(ENTRY.by[0])
UNPRICED = next(m for m in CATALOG.values() if m.id not in CARD)


def price(value: object) -> float:
    """The card's credits for the default model with its price-setting field at `value`."""
    found = ENTRY.credits_for((value,))
    assert found is not None
    return found
