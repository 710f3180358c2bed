"""The rate card: the bundled one is whole and sourced, a user's is checked entry by entry (untrusted)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from apikley_kling import ConfigurationError, Kling, ValidationError, estimate, load_card
from apikley_kling.catalog import models
from apikley_kling.pricing import CARD_MAX_BYTES, CallLimit, SpendGuard, bundled_card, card_path

ROOT = Path(__file__).resolve().parents[2]
CATALOG = models()
CARD = bundled_card()
MODEL = next(iter(CARD))
BY = CARD[MODEL].by[0]  # a field that sets MODEL's price
FIRST = CARD[MODEL].rows[0][0][0]  # one of its values on the card


def _own(**entry: Any) -> dict[str, Any]:
    """A user card of one entry: the bundled entry of MODEL with some keys replaced."""
    raw = copy.deepcopy(yaml.safe_load(card_path().read_text(encoding="utf-8"))["models"][MODEL])
    raw.update(entry)
    return {"models": {MODEL: raw}}


def test_the_bundled_card_is_the_spec_folder_one_and_every_entry_is_sourced_and_dated() -> None:
    assert card_path().resolve() == (ROOT / "spec" / "prices.yaml").resolve()
    for entry in CARD.values():
        assert entry.model in CATALOG and entry.card == "bundled"
        assert re.fullmatch(r"https://\S+", entry.source) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry.read)
        assert entry.rows and all(credits > 0 for _, credits in entry.rows)


def test_the_shipped_card_fits_the_shipped_spec_strictly() -> None:
    assert CARD.stale == {}
    assert set(load_card(card_path())) == set(CARD)  # strict: any stale entry would raise here


def test_an_entry_the_spec_no_longer_fits_is_set_aside_not_fatal() -> None:
    """After a provider page drops a field the price depends on, that model's price is unknown; the rest stand."""
    doc = _own(by=["no_such_field"])
    with pytest.raises(ConfigurationError, match="no_such_field"):
        load_card(doc)
    with pytest.warns(UserWarning, match="no_such_field"):
        lenient = load_card(doc, strict=False)
    assert MODEL not in lenient and "no_such_field" in lenient.stale[MODEL]


def test_the_wheel_ships_the_card_beside_the_spec() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"spec/prices.yaml" = "apikley_kling/_spec/prices.yaml"' in text


def test_estimate_needs_no_key_and_checks_like_a_create(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APIKLEY_API_KEY", raising=False)
    m = CATALOG[MODEL]
    found = estimate(model=MODEL, input=m.sample_input())
    assert found.credits is not None and found.model == MODEL
    assert MODEL in str(found) and CARD[MODEL].source in str(found)
    assert found.to_dict()["source"] == {"card": "bundled", "url": CARD[MODEL].source, "read": CARD[MODEL].read}
    with pytest.raises(ValidationError):
        estimate(model=MODEL, input=m.sample_input(), no_such_field=1)


def test_a_card_file_may_be_json_or_yaml_and_an_unquoted_date_reads_as_text(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    text = yaml.safe_dump(_own(read="2026-03-04")).replace("'2026-03-04'", "2026-03-04")
    assert "read: 2026-03-04" in text
    path.write_text(text, encoding="utf-8")
    card = load_card(path)
    assert card[MODEL].read == "2026-03-04" and card.name == str(path)


@pytest.mark.parametrize(
    ("doc", "names"),
    [
        ({"models": {MODEL: {"source": "https://x.example", "read": "2026-01-01", "by": []}}}, ["prices"]),
        (_own(source="ftp://x.example"), [MODEL, "source"]),
        (_own(read="yesterday"), [MODEL, "read"]),
        (_own(by=["no_such_field"]), [MODEL, "no_such_field"]),
        (_own(prices=[{"when": {}, "credits": 1}]), [MODEL, "prices.0"]),
        (_own(prices=[{"when": {BY: "no-such-value"}, "credits": 1}]), [MODEL, f"prices.0.when.{BY}"]),
        (_own(prices=[{"when": {BY: FIRST}, "credits": -1}]), [MODEL, "credits"]),
        (_own(prices=[{"when": {BY: FIRST}, "credits": 1}] * 2), [MODEL, "prices.1"]),
        ({"models": {"no/such-model": _own()["models"][MODEL]}}, ["no/such-model"]),
        ({"models": {}, "extra": 1}, ["extra"]),
    ],
)
def test_a_bad_card_is_refused_in_one_line_naming_the_entry(doc: dict[str, Any], names: list[str]) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_card(doc)
    message = str(info.value)
    assert "\n" not in message and all(n in message for n in names), message


def test_a_card_file_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (CARD_MAX_BYTES + 1))
    with pytest.raises(ConfigurationError, match="larger than"):
        load_card(path)
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_card(tmp_path / "missing.yaml")
    with pytest.raises(ConfigurationError, match="path or a mapping"):
        load_card(42)  # type: ignore[arg-type]


def test_digits_on_a_card_are_the_string_choice_a_create_sends() -> None:
    entry = CARD[MODEL]
    rows = [{"when": {n: int(v) for n, v in zip(entry.by, key, strict=True)}, "credits": c} for key, c in entry.rows]
    assert load_card(_own(prices=rows))[MODEL].rows == entry.rows


def test_a_bad_card_refuses_the_client_before_anything(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(MODEL)):
        Kling(api_key="sk-test", prices=_own(by=["nope"]))


def test_caps_must_be_numbers() -> None:
    for bad in (-1, "10", True, float("nan")):
        with pytest.raises(ConfigurationError):
            SpendGuard(bad)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            CallLimit(bad)  # type: ignore[arg-type]


def test_a_price_rule_reads_as_words() -> None:
    entry = CARD[MODEL]
    rule = entry.rule()
    for key, credits in entry.rows:
        assert f"{credits:g} credits" in rule and all(str(v) in rule for v in key)


def test_the_readme_money_table_is_the_card() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Money\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| (.+) \|$", section, re.M)
    shown = {model: [float(c) for c in cells.split(" | ")] for model, cells in rows}
    assert shown == {m: [credits for _, credits in e.rows] for m, e in CARD.items()}
    for entry in CARD.values():
        assert entry.source in section and entry.read in section
