"""A client's money: its rate card and spend guard, its price book, and a call's own limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._engine.core import Core
    from ..pricing import CallLimit, PriceBook, PriceCard, SpendGuard
    from .base import StrPath

__all__ = ["call_limit", "learn", "money"]


def call_limit(max_credits: float | None, allow_unknown_price: bool | None) -> CallLimit | None:
    """A call's own money rules (None when it adds none)."""
    if max_credits is None and allow_unknown_price is None:
        return None
    from ..pricing import CallLimit

    return CallLimit(max_credits, allow_unknown_price)


def money(
    prices: StrPath | Mapping[str, Any] | PriceCard | None, max_spend: float | None, allow_unknown_price: bool
) -> tuple[PriceCard, SpendGuard]:
    """The client's card (its own first, then the bundled one) and its spend guard."""
    from ..pricing import PriceCard, SpendGuard, bundled_card, load_card

    card = bundled_card()
    if isinstance(prices, PriceCard):
        card = prices
    elif prices is not None:
        card = load_card(prices).over(card)
    return card, SpendGuard(max_spend, allow_unknown_price=allow_unknown_price)


def learn(core: Core, price_book: StrPath | PriceBook | None) -> PriceBook | None:
    """The client's price book (opened, read once) and the learner its creates go through; None: none."""
    if price_book is None:
        return None
    from .._engine.learn import Learner
    from ..pricing import PriceBook

    book = price_book if isinstance(price_book, PriceBook) else PriceBook(price_book)
    core.tasks.learner = Learner(book.observed)
    return book
