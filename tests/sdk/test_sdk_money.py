"""Money against the simulator: estimates equal what the balance moves, caps hold under concurrency.

The simulator runs in-process on a VirtualClock (tasks end at once: Timings.instant), so nothing
here sleeps real seconds. Models, fields and prices are read from the spec and the bundled card.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from apikley_kling import AmbiguousSubmit, AsyncKling, BadRequestError, Kling, SpendLimitExceeded, errors
from apikley_kling.catalog import Field, Model, models
from apikley_kling.pricing import PriceCard, bundled_card
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator

from .conftest import sim_client, simulated

CATALOG = models()
CARD = bundled_card()
PRICED = [m for m in CARD if m in CATALOG]
THREADS = 8


def _values(f: Field) -> list[Any]:
    return [True, False] if f.type == "boolean" else list(f.choices or ())


def _combinations() -> Iterator[tuple[str, dict[str, Any]]]:
    """(model, price-setting values) for every model on the card and each value of each of its price fields."""
    for model_id in PRICED:
        m, by = CATALOG[model_id], CARD[model_id].by
        for values in itertools.product(*(_values(m.field(n)) for n in by)):
            yield model_id, dict(zip(by, values, strict=True))


def _input(model: Model, **values: Any) -> dict[str, Any]:
    return {**model.sample_input(), **values}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    s = simulated()
    yield s
    s.close()


def _kling(sim: Simulator, transport: httpx.BaseTransport | None = None, **options: Any) -> Kling:
    return sim_client(sim, transport, **options)  # type: ignore[no-any-return]


def _spent(sim: Simulator) -> float:
    return sim.money.credits - sim.credits()


def test_the_card_prices_every_value_of_its_fields() -> None:
    assert PRICED, "the bundled card prices no model of the bundled spec"
    for model_id, values in _combinations():
        found = bundled_card()[model_id].credits_for(tuple(values.values()))
        assert found is not None and found >= 0, (model_id, values)


@pytest.mark.parametrize(("model_id", "values"), list(_combinations()))
def test_estimate_equals_what_the_balance_moves(sim: Simulator, model_id: str, values: dict[str, Any]) -> None:
    model = CATALOG[model_id]
    given = _input(model, **values)
    with _kling(sim) as kling:
        est = kling.estimate(model=model_id, input=given)
        before = kling.credits()
        kling.tasks.create(model=model_id, input=given)
        after = kling.credits()
    assert est.credits is not None and est.source is not None
    assert before - after == est.credits
    assert dict(est.fields) == {n: given[n] for n in CARD[model_id].by}
    assert (est.source.url, est.source.read) == (CARD[model_id].source, CARD[model_id].read)


def test_a_field_not_given_is_priced_at_the_spec_default(sim: Simulator) -> None:
    model_id = next(m for m in PRICED if all(CATALOG[m].field(n).has_default for n in CARD[m].by))
    model = CATALOG[model_id]
    given = {k: v for k, v in model.sample_input().items() if k not in CARD[model_id].by}
    with _kling(sim) as kling:
        est = kling.estimate(model=model_id, input=given)
        kling.tasks.create(model=model_id, input=given)
    assert dict(est.fields) == {n: model.field(n).default for n in CARD[model_id].by}
    assert _spent(sim) == est.credits


class _Gate(httpx.BaseTransport):
    """Holds every createTask until each of `parties` callers has either reached it or been refused:
    the creates that pass the cap are all in flight at once."""

    def __init__(self, inner: httpx.BaseTransport, parties: int) -> None:
        self.inner, self.parties = inner, parties
        self.cond = threading.Condition()
        self.arrived = 0

    def done(self) -> None:
        with self.cond:
            self.arrived += 1
            self.cond.notify_all()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/createTask"):
            self.done()
            with self.cond:
                assert self.cond.wait_for(lambda: self.arrived >= self.parties, timeout=10)
        return self.inner.handle_request(request)


def test_eight_threads_never_spend_more_than_max_spend(sim: Simulator, tmp_path: Path) -> None:
    model = CATALOG[CATALOG.default]
    price = kling_price(model)
    cap = 3 * price + price / 2  # room for three creates, not four
    gate = _Gate(sim.sync_transport(), THREADS)
    outcomes: list[object] = []

    with _kling(sim, gate, max_spend=cap) as kling:

        def one(i: int) -> None:
            try:
                outcomes.append(kling.generate(output=tmp_path / f"{i}.mp4", **model.sample_input()))
            except SpendLimitExceeded as exc:
                gate.done()
                outcomes.append(exc)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert (kling.spend.spent, kling.spend.reserved) == (3 * price, 0)
    refused = [o for o in outcomes if isinstance(o, SpendLimitExceeded)]
    assert len(outcomes) == THREADS and len(refused) == THREADS - 3
    assert _spent(sim) == 3 * price <= cap
    assert sim.counters.requests["createTask"] == 3
    assert all(e.cap == "max_spend" and e.limit == cap and e.estimate.credits == price for e in refused)


class _AsyncGate(httpx.AsyncBaseTransport):
    """_Gate for one event loop: the creates that pass the cap are all in flight at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport, parties: int) -> None:
        self.inner, self.parties = inner, parties
        self.arrived = 0
        self.open = asyncio.Event()

    def done(self) -> None:
        self.arrived += 1
        if self.arrived >= self.parties:
            self.open.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/createTask"):
            self.done()
            await asyncio.wait_for(self.open.wait(), timeout=10)
        return await self.inner.handle_async_request(request)


async def test_asyncio_gather_never_spends_more_than_max_spend(sim: Simulator, tmp_path: Path) -> None:
    model = CATALOG[CATALOG.default]
    price = kling_price(model)
    cap = 2 * price + price / 2
    gate = _AsyncGate(sim.async_transport(), THREADS)
    async with AsyncKling(
        api_key=DEFAULT_API_KEY, base_url=sim.base_url, clock=sim.clock, transport=gate, max_spend=cap
    ) as akling:

        async def one(i: int) -> object:
            try:
                return await akling.generate(output=tmp_path / f"{i}.mp4", **model.sample_input())
            except SpendLimitExceeded as exc:
                gate.done()
                return exc

        outcomes = await asyncio.gather(*(one(i) for i in range(THREADS)))
        assert (akling.spend.spent, akling.spend.reserved) == (2 * price, 0)
    assert sum(isinstance(o, SpendLimitExceeded) for o in outcomes) == THREADS - 2
    assert _spent(sim) == 2 * price <= cap
    assert sim.counters.requests["createTask"] == 2


def kling_price(model: Model) -> float:
    price = bundled_card()[model.id].credits_for(tuple(model.field(n).default for n in CARD[model.id].by))
    assert price is not None
    return price


def test_max_credits_caps_one_call(sim: Simulator, tmp_path: Path) -> None:
    model = CATALOG[CATALOG.default]
    price = kling_price(model)
    with _kling(sim) as kling:
        with pytest.raises(SpendLimitExceeded) as info:
            kling.generate(output=tmp_path / "a.mp4", max_credits=price - 1, **model.sample_input())
        assert sim.counters.requests["createTask"] == 0 and _spent(sim) == 0
        assert info.value.cap == "max_credits" and info.value.limit == price - 1
        assert f"{price:g}" in str(info.value) and "refused before sending" in str(info.value)
        kling.generate(output=tmp_path / "b.mp4", max_credits=price, **model.sample_input())
    assert _spent(sim) == price


def test_unknown_price_is_refused_under_a_cap_and_allowed_explicitly(sim: Simulator) -> None:
    model = CATALOG[CATALOG.default]
    unknown = PriceCard({}, "empty")  # a card that prices nothing: every price is unknown
    with _kling(sim, max_spend=1e6, prices=unknown) as kling:
        est = kling.estimate(**model.sample_input())
        assert est.credits is None and est.source is None and est.reason
        with pytest.raises(SpendLimitExceeded) as info:
            kling.tasks.create(**model.sample_input())
        assert "unknown" in str(info.value) and sim.counters.requests["createTask"] == 0
        kling.tasks.create(allow_unknown_price=True, **model.sample_input())
        assert sim.counters.requests["createTask"] == 1 and kling.spend.unpriced == 1
    with _kling(sim, max_spend=1e6, prices=unknown, allow_unknown_price=True) as kling:
        kling.tasks.create(**model.sample_input())
    with _kling(sim, prices=unknown) as kling:  # no cap: nothing to refuse
        kling.tasks.create(**model.sample_input())
    assert sim.counters.requests["createTask"] == 3


def test_models_without_a_price_are_unknown_never_zero() -> None:
    from apikley_kling import estimate

    for model_id in (m for m in CATALOG if m not in CARD):
        found = estimate(model=model_id, input=CATALOG[model_id].sample_input())
        assert found.credits is None and model_id in str(found.reason)


def test_a_refused_create_releases_its_reservation_an_ambiguous_one_keeps_it(sim: Simulator) -> None:
    model = CATALOG[CATALOG.default]
    price = kling_price(model)
    with _kling(sim, max_spend=10 * price) as kling:
        sim.faults.add("createTask", "http200_error", code=400, times=1)
        with pytest.raises(BadRequestError):
            kling.tasks.create(**model.sample_input())
        assert (kling.spend.spent, kling.spend.reserved) == (0, 0)
        sim.faults.add("createTask", "drop_after_record", times=1)
        with pytest.raises(AmbiguousSubmit):
            kling.tasks.create(**model.sample_input())
        assert (kling.spend.spent, kling.spend.reserved) == (price, 0)
    assert _spent(sim) == price  # the ambiguous create was paid: keeping it was right


def test_spend_limit_is_a_kling_error_with_its_own_exit_code() -> None:
    from apikley_kling import KlingError, exit_codes
    from apikley_kling.pricing import Estimate

    err = SpendLimitExceeded("max_spend", 10, 8, 0, Estimate("m", 5.0))
    assert isinstance(err, KlingError) and errors.SpendLimitExceeded is SpendLimitExceeded
    assert exit_codes.for_error(err) == exit_codes.SPEND
    others = {v for k, v in vars(exit_codes).items() if k.isupper() and isinstance(v, int) and k != "SPEND"}
    assert exit_codes.SPEND not in others and exit_codes.SPEND in exit_codes.MEANINGS
    assert "8 spent and 0 reserved" in str(err)


def test_user_card_comes_first(sim: Simulator) -> None:
    model_id = PRICED[0]
    model, entry = CATALOG[model_id], CARD[model_id]
    rows = [{"when": dict(zip(entry.by, key, strict=True)), "credits": c + 1} for key, c in entry.rows]
    own = {
        "models": {
            model_id: {"source": "https://example.com/mine", "read": "2026-01-02", "by": list(entry.by), "prices": rows}
        }
    }
    with _kling(sim, prices=own) as kling:
        est = kling.estimate(model=model_id, input=model.sample_input())
        assert est.source is not None and (est.source.card, est.source.url) == ("prices", "https://example.com/mine")
        assert est.credits == kling_price(model) + 1
        other = next((m for m in PRICED if m != model_id), None)
        if other is not None:  # a model the user's card does not name: the bundled card's price
            assert kling.estimate(model=other, input=CATALOG[other].sample_input()).credits == kling_price(
                CATALOG[other]
            )
