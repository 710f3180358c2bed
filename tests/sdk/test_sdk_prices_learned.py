"""Learned prices: a price book records what creates really cost, and estimates (and caps) use it afterwards.

The simulator charges by a card of its own (the bundled card's prices plus EXTRA), so that what the account pays
differs from what the SDK's card says. In-process, on a VirtualClock: nothing sleeps real seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from apikley_kling import AsyncKling, ConfigurationError, Kling, PriceDifference, SpendLimitExceeded
from apikley_kling.catalog import models
from apikley_kling.pricing import BOOK_NAME, Observation, ObservedSource, PriceBook, bundled_card, load_card
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator

from ..cli_env import invoke
from .conftest import sim_client, simulated

CATALOG = models()
CARD = bundled_card()
MODEL = CATALOG[next(m for m in CARD if m in CATALOG)]
ENTRY = CARD[MODEL.id]
SAMPLE = MODEL.sample_input()
FIELDS = {n: SAMPLE.get(n, MODEL.field(n).default) for n in ENTRY.by}
CARD_PRICE = ENTRY.credits_for(tuple(FIELDS.values()))
EXTRA = 7.0


def _dearer_card() -> Any:
    """The bundled card with EXTRA credits on every row of MODEL: what the simulated account really pays."""
    rows = [{"when": dict(zip(ENTRY.by, key, strict=True)), "credits": c + EXTRA} for key, c in ENTRY.rows]
    own = {"models": {MODEL.id: {"source": ENTRY.source, "read": ENTRY.read, "by": list(ENTRY.by), "prices": rows}}}
    return load_card(own, name="simulated").over(CARD)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    s = simulated(prices=_dearer_card())
    yield s
    s.close()


def _kling(sim: Simulator, transport: httpx.BaseTransport | None = None, **options: Any) -> Kling:
    return sim_client(sim, transport, **options)  # type: ignore[no-any-return]


def _rows(book: Path) -> int:
    if not book.exists():
        return 0
    with contextlib.closing(sqlite3.connect(book)) as db:
        return int(db.execute("SELECT COUNT(*) FROM observations").fetchone()[0])


def test_the_simulated_account_pays_other_than_the_card() -> None:
    assert CARD_PRICE is not None and _dearer_card()[MODEL.id].credits_for(tuple(FIELDS.values())) == CARD_PRICE + EXTRA


def test_an_observed_price_is_used_afterwards_and_its_difference_told_once(
    sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    book = tmp_path / "book.sqlite3"
    events: list[object] = []
    caplog.set_level(logging.WARNING, logger="apikley_kling")
    with _kling(sim, price_book=book) as kling:
        first = kling.estimate(**SAMPLE)
        assert first.credits == CARD_PRICE and not isinstance(first.source, ObservedSource)
        kling.tasks.create(on_progress=events.append, **SAMPLE)
        learned = kling.estimate(**SAMPLE)
        assert learned.credits == CARD_PRICE + EXTRA and dict(learned.fields) == FIELDS
        assert isinstance(learned.source, ObservedSource) and learned.source.times == 1
        kling.tasks.create(on_progress=events.append, **SAMPLE)
        again = kling.estimate(**SAMPLE)
    assert isinstance(again.source, ObservedSource) and again.source.times == 2
    assert "observed 2 times on this account" in str(again.source) and again.to_dict()["source"]["times"] == 2
    # Two balance reads per attributable create, and nothing else.
    assert (sim.counters.requests["createTask"], sim.counters.requests["credit"]) == (2, 4)
    told = [e for e in events if isinstance(e, PriceDifference)]
    assert told == [PriceDifference(MODEL.id, FIELDS, CARD_PRICE + EXTRA, CARD_PRICE)]
    lines = [r.getMessage() for r in caplog.records if "later estimates use" in r.getMessage()]
    assert len(lines) == 1 and MODEL.id in lines[0] and f"{CARD_PRICE + EXTRA:g}" in lines[0]
    with _kling(sim, price_book=book) as kling:  # the book persists: a new client starts from it, told already
        assert kling.estimate(**SAMPLE).credits == CARD_PRICE + EXTRA
        kling.tasks.create(on_progress=events.append, **SAMPLE)
    assert len([e for e in events if isinstance(e, PriceDifference)]) == 1 and _rows(book) == 3


def test_caps_use_the_observed_price(sim: Simulator, tmp_path: Path) -> None:
    book = tmp_path / "book.sqlite3"
    assert CARD_PRICE is not None
    with _kling(sim, price_book=book) as kling:
        kling.tasks.create(**SAMPLE)
    # The card's price would fit this cap; the price the account really pays does not.
    with _kling(sim, price_book=book, max_spend=CARD_PRICE) as kling, pytest.raises(SpendLimitExceeded) as info:
        kling.tasks.create(**SAMPLE)
    assert info.value.estimate.credits == CARD_PRICE + EXTRA
    assert sim.counters.requests["createTask"] == 1


class _HoldFirstCreate(httpx.BaseTransport):
    """Holds the first createTask until a second createTask has been answered: two creates overlap."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.creates = 0
        self.lock = threading.Lock()
        self.held = threading.Event()
        self.second_done = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/createTask"):
            return self.inner.handle_request(request)
        with self.lock:
            self.creates += 1
            first = self.creates == 1
        if first:
            self.held.set()
            assert self.second_done.wait(timeout=10)
            return self.inner.handle_request(request)
        try:
            return self.inner.handle_request(request)
        finally:
            self.second_done.set()


def test_no_price_is_attributed_while_two_creates_overlap(sim: Simulator, tmp_path: Path) -> None:
    book = tmp_path / "book.sqlite3"
    gate = _HoldFirstCreate(sim.sync_transport())
    with _kling(sim, gate, price_book=book) as kling:
        held = threading.Thread(target=lambda: kling.tasks.create(**SAMPLE))
        held.start()
        assert gate.held.wait(timeout=10)
        kling.tasks.create(**SAMPLE)  # runs whole while the first is in flight
        held.join(timeout=10)
        assert not held.is_alive()
        estimate = kling.estimate(**SAMPLE)
    assert sim.counters.requests["createTask"] == 2 and _rows(book) == 0
    assert estimate.credits == CARD_PRICE and not isinstance(estimate.source, ObservedSource)
    # The first read the balance before it was sent; the second, starting while it was in flight, read nothing.
    assert sim.counters.requests["credit"] == 1


class _AsyncHoldFirstCreate(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.creates = 0
        self.held = asyncio.Event()
        self.second_done = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/createTask"):
            return await self.inner.handle_async_request(request)
        self.creates += 1
        if self.creates == 1:
            self.held.set()
            await asyncio.wait_for(self.second_done.wait(), timeout=10)
            return await self.inner.handle_async_request(request)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.second_done.set()


def _akling(sim: Simulator, transport: httpx.AsyncBaseTransport, **options: Any) -> AsyncKling:
    return AsyncKling(api_key=DEFAULT_API_KEY, base_url=sim.base_url, clock=sim.clock, transport=transport, **options)


async def test_async_learns_and_attributes_nothing_while_creates_overlap(sim: Simulator, tmp_path: Path) -> None:
    overlapped, alone = tmp_path / "overlapped.sqlite3", tmp_path / "alone.sqlite3"
    gate = _AsyncHoldFirstCreate(sim.async_transport())
    async with _akling(sim, gate, price_book=overlapped) as akling:
        first = asyncio.ensure_future(akling.tasks.create(**SAMPLE))
        await asyncio.wait_for(gate.held.wait(), timeout=10)
        await akling.tasks.create(**SAMPLE)
        await first
        assert akling.estimate(**SAMPLE).credits == CARD_PRICE
    assert _rows(overlapped) == 0 and sim.counters.requests["credit"] == 1
    events: list[object] = []
    async with _akling(sim, sim.async_transport(), price_book=alone) as akling:
        await akling.tasks.create(on_progress=events.append, **SAMPLE)
        learned = akling.estimate(**SAMPLE)
    assert learned.credits == CARD_PRICE + EXTRA and isinstance(learned.source, ObservedSource)
    assert [e for e in events if isinstance(e, PriceDifference)] == [
        PriceDifference(MODEL.id, FIELDS, CARD_PRICE + EXTRA, CARD_PRICE)
    ]


def _observation(credits: float, at: float) -> Observation:
    return Observation(MODEL.id, FIELDS, credits, at, CARD_PRICE)


def test_when_observations_differ_the_latest_wins(tmp_path: Path) -> None:
    book = PriceBook(tmp_path / "sub" / "book.sqlite3")
    assert CARD_PRICE is not None
    assert not book.record(_observation(CARD_PRICE, 1.0))  # the card's own price: nothing to tell
    assert book.record(_observation(CARD_PRICE + 1, 2.0))  # the first difference: told
    assert not book.record(_observation(CARD_PRICE + 2, 3.0))  # told once per (model, fields)
    assert not book.record(_observation(CARD_PRICE, 4.0))
    seen = book.observed.get(MODEL.id, FIELDS)
    assert seen is not None and (seen.credits, seen.times) == (CARD_PRICE, 2)
    reopened = PriceBook(book.path).observed.get(MODEL.id, FIELDS)
    assert reopened == seen and reopened.last.startswith("1970-01-01")


def test_a_book_that_is_not_ours_or_newer_is_refused_in_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ConfigurationError, match="not a price book"):
        PriceBook(garbage)
    newer = tmp_path / "newer.sqlite3"
    PriceBook(newer).record(_observation(1.0, 1.0))
    with contextlib.closing(sqlite3.connect(newer)) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(ConfigurationError, match="newer") as info:
        PriceBook(newer)
    assert "\n" not in str(info.value)


def test_rows_that_are_not_ours_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "book.sqlite3"
    PriceBook(path).record(_observation(5.0, 1.0))
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        bad = [("m", "{}", -1.0, "x"), ("m2", "{}", float("inf"), "x"), ("m3", "{}", "text", "x")]
        db.executemany("INSERT INTO observations (model, fields, credits, at) VALUES (?, ?, ?, ?)", bad)
    observed = PriceBook(path).observed
    assert len(observed) == 1 and observed.get(MODEL.id, FIELDS) is not None


def test_kling_batch_records_observed_prices_beside_its_ledger(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apikley_kling import estimate
    from apikley_kling.cli import _client as cli_client
    from typer.testing import CliRunner

    overrides = {"transport": sim.sync_transport(), "base_url": sim.base_url, "clock": sim.clock}
    monkeypatch.setattr(cli_client, "_overrides", {**overrides, "allow_insecure_http": True})
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps({"model": MODEL.id, **SAMPLE, "id": f"j{i}"}) + "\n" for i in range(2)))
    out = tmp_path / "out"
    r = invoke(CliRunner(), ("batch", str(jobs), "--out", str(out), "--concurrency", "1", "--json"), None)
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["counts"] == {"done": 2}
    found = estimate(model=MODEL.id, price_book=out / BOOK_NAME, **SAMPLE)
    assert found.credits == CARD_PRICE + EXTRA
    assert isinstance(found.source, ObservedSource) and found.source.times == 2
    # The batch's own estimates take what it learned first: a dry run of more jobs in that folder.
    more = tmp_path / "more.jsonl"
    more.write_text(json.dumps({"model": MODEL.id, **SAMPLE, "id": "j9"}) + "\n")
    dry = invoke(CliRunner(), ("batch", str(more), "--out", str(out), "--dry-run", "--json"), None)
    assert dry.exit_code == 0, dry.stderr
    assert json.loads(dry.stdout)["estimate"]["credits"] == CARD_PRICE + EXTRA


def test_a_balance_that_cannot_be_read_records_nothing_and_the_create_goes_on(sim: Simulator, tmp_path: Path) -> None:
    book = tmp_path / "book.sqlite3"
    sim.faults.add("credit", "http200_error", code=400, times=1)  # the read before the create is refused
    with _kling(sim, price_book=book) as kling:
        task = kling.tasks.create(**SAMPLE)
        assert task.id and kling.estimate(**SAMPLE).credits == CARD_PRICE
    assert sim.counters.requests["createTask"] == 1 and _rows(book) == 0 and not book.exists()


# -- found in review: what follows a create's answer, unchecked fields, low observations, one client per journal


def test_a_callback_that_raises_on_the_price_report_neither_unpays_nor_loses_the_create(
    sim: Simulator, tmp_path: Path
) -> None:
    def strict(event: object) -> None:  # a caller's on_progress that knows only upload events
        if isinstance(event, PriceDifference):
            raise ConfigurationError("unexpected event")

    with _kling(sim, price_book=tmp_path / "book.sqlite3", max_spend=1e5, journal=tmp_path / "j.sqlite3") as kling:
        task = kling.tasks.create(**SAMPLE, key="k1", on_progress=strict)
        assert task.id and kling.spend.spent == CARD_PRICE  # its reservation (by the card: nothing seen yet) kept
        again = kling.tasks.create(**SAMPLE, key="k1")
    assert again.id == task.id and sim.counters.requests["createTask"] == 1


def test_extra_body_is_unpriced_unlearned_and_part_of_a_key(sim: Simulator, tmp_path: Path) -> None:
    extra = {"negative_prompt": "blur"}
    with _kling(sim, price_book=tmp_path / "book.sqlite3", max_spend=1e5, journal=tmp_path / "j.sqlite3") as kling:
        with pytest.raises(SpendLimitExceeded):  # under a cap, an unchecked field may set the price: unknown
            kling.tasks.create(**SAMPLE, extra_body=extra)
        kling.tasks.create(**SAMPLE, extra_body=extra, allow_unknown_price=True, key="k2")
        assert _rows(tmp_path / "book.sqlite3") == 0  # nothing learned from a create priced by unchecked fields
        with pytest.raises(ConfigurationError):  # the same key with other extra_body is another request
            kling.tasks.create(**SAMPLE, extra_body={"negative_prompt": "rain"}, allow_unknown_price=True, key="k2")


def test_a_cap_reserves_the_card_price_when_the_account_was_seen_paying_less(sim: Simulator, tmp_path: Path) -> None:
    book = PriceBook(tmp_path / "book.sqlite3")
    book.record(Observation(MODEL.id, FIELDS, CARD_PRICE / 2, 0.0, CARD_PRICE))  # a refund landed mid-measure
    with _kling(sim, price_book=book, max_spend=1e5) as kling:
        assert kling.estimate(**SAMPLE).credits == CARD_PRICE / 2  # the estimate tells what was seen
        kling.tasks.create(**SAMPLE)
        assert kling.spend.spent >= CARD_PRICE  # the cap counted no less than the card


def test_one_client_per_journal_file(sim: Simulator, tmp_path: Path) -> None:
    with _kling(sim, journal=tmp_path / "j.sqlite3"), pytest.raises(ConfigurationError, match="in use"):
        _kling(sim, journal=tmp_path / "j.sqlite3")
    with _kling(sim, journal=tmp_path / "j.sqlite3"):  # free again once the first client closed
        pass


def test_a_cap_counts_the_higher_of_the_card_and_what_was_seen(tmp_path: Path) -> None:
    """The one rule the client's caps and kling batch's (its admissions and its ledger's spend) share."""
    from apikley_kling.pricing import cap_estimate

    for seen, counted in ((CARD_PRICE / 2, CARD_PRICE), (CARD_PRICE + EXTRA, CARD_PRICE + EXTRA)):
        book = PriceBook(tmp_path / f"{seen}.sqlite3")
        book.record(Observation(MODEL.id, FIELDS, seen, 0.0, CARD_PRICE))
        assert cap_estimate(CARD, MODEL, SAMPLE, book.observed).credits == counted
    assert cap_estimate(CARD, MODEL, SAMPLE, None).credits == CARD_PRICE
