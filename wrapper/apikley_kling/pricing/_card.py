"""The rate card: credits per model as a table over the input fields that set the price.

The bundled card is `spec/prices.yaml` (shipped in the wheel as `apikley_kling/_spec/prices.yaml`);
a user's own card (a path or a mapping) has the same shape and comes first for every model it names.
A card is untrusted: its size is bounded, its shape checked with a JSON Schema, and every entry
checked against the bundled spec (the model exists, the fields are its own, each value is one the
field takes), each problem refused in one line naming the entry.
"""

from __future__ import annotations

import datetime
import functools
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..catalog import Field, Model, models
from ..errors import ConfigurationError

__all__ = ["CARD_MAX_BYTES", "PriceCard", "PriceEntry", "bundled_card", "card_path", "load_card"]

CARD_MAX_BYTES = 1024 * 1024
_REPO_CARD = Path(__file__).resolve().parents[3] / "spec" / "prices.yaml"
_VALUE = {"type": ["string", "number", "boolean"]}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["models"],
    "additionalProperties": False,
    "properties": {
        "models": {
            "type": "object",
            "maxProperties": 1000,
            "additionalProperties": {
                "type": "object",
                "required": ["source", "read", "by", "prices"],
                "additionalProperties": False,
                "properties": {
                    "source": {"type": "string", "pattern": "^https?://[^\\s]+$", "maxLength": 2000},
                    "read": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                    "by": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 10},
                    "prices": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 1000,
                        "items": {
                            "type": "object",
                            "required": ["when", "credits"],
                            "additionalProperties": False,
                            "properties": {
                                "when": {"type": "object", "additionalProperties": _VALUE, "maxProperties": 10},
                                "credits": {"type": "number", "minimum": 0},
                            },
                        },
                    },
                },
            },
        }
    },
}


@dataclass(frozen=True)
class PriceEntry:
    """One model's prices: the fields that set them, a row per combination of their values, and where they
    were read (`source` URL, `read` date) on which card (`card`: "bundled" or the user card's name)."""

    model: str
    by: tuple[str, ...]
    rows: tuple[tuple[tuple[Any, ...], float], ...]  # (values in the order of `by`, credits)
    source: str
    read: str
    card: str

    def credits_for(self, values: tuple[Any, ...]) -> float | None:
        """The credits for these values of the `by` fields, None when the card has no row for them."""
        for key, credits in self.rows:
            if len(key) == len(values) and all(_same(a, b) for a, b in zip(key, values, strict=True)):
                return credits
        return None

    def rule(self) -> str:
        """The price rule in words, e.g. "11 credits (duration=5), 22 credits (duration=10)"."""
        parts = []
        for key, credits in self.rows:
            when = ", ".join(f"{name}={_show(v)}" for name, v in zip(self.by, key, strict=True))
            parts.append(f"{credits:g} credits" + (f" ({when})" if when else ""))
        return ", ".join(parts)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):  # True == 1 in Python; on a card they are different values
        return type(a) is type(b) and a == b
    return bool(a == b)


def _show(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class PriceCard(Mapping[str, PriceEntry]):
    """Entries by model id. `over(other)`: this card first, `other` for the models this one does not name."""

    def __init__(self, entries: Mapping[str, PriceEntry], name: str, stale: Mapping[str, str] | None = None) -> None:
        self._entries = dict(entries)
        self.name = name
        # Entries set aside because the spec changed under them (model id -> why): their price is unknown.
        self.stale = dict(stale or {})

    def __getitem__(self, key: str) -> PriceEntry:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def over(self, other: PriceCard) -> PriceCard:
        return PriceCard({**other._entries, **self._entries}, f"{self.name} over {other.name}")

    def __repr__(self) -> str:
        return f"PriceCard({self.name!r}, {', '.join(self._entries)})"


def card_path() -> Path:
    """Where the bundled card lives: inside the wheel, or in the checkout for an editable install."""
    packaged = resources.files("apikley_kling").joinpath("_spec/prices.yaml")
    if packaged.is_file():
        return Path(str(packaged))
    return _REPO_CARD


@functools.cache
def bundled_card() -> PriceCard:
    """The card shipped beside the spec (read once). An entry the spec no longer fits (a provider page changed
    a field the price depends on) is set aside with a warning: that model's price is unknown, every other model
    and every client still work. The suite holds the shipped card to the shipped spec strictly."""
    return load_card(card_path(), name="bundled", strict=False)


def _read(path: Path) -> Any:
    import yaml

    try:
        with path.open("rb") as f:
            data = f.read(CARD_MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigurationError(f"prices: cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > CARD_MAX_BYTES:
        raise ConfigurationError(f"prices: {path} is larger than {CARD_MAX_BYTES} bytes")
    try:
        return yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigurationError(f"prices: {path} is not YAML/JSON text ({first})") from None


def load_card(
    source: str | os.PathLike[str] | Mapping[str, Any], *, name: str | None = None, strict: bool = True
) -> PriceCard:
    """A card from a YAML/JSON file (at most CARD_MAX_BYTES) or a mapping of the same shape, checked entry by
    entry against the bundled spec; ConfigurationError in one line naming the entry. With strict=False an entry
    the spec does not fit is left out (its reason in `PriceCard.stale`, and a warning) instead."""
    if isinstance(source, Mapping):
        doc: Any = source
        label = name or "prices"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        doc = _read(path)
        label = name or str(path)
    else:
        raise ConfigurationError(f"prices: expected a path or a mapping, not {type(source).__name__}")
    doc = _dates_as_text(doc)
    _check_shape(doc, label)
    entries: dict[str, PriceEntry] = {}
    stale: dict[str, str] = {}
    for mid, raw in doc["models"].items():
        try:
            entries[mid] = _entry(mid, raw, label)
        except ConfigurationError as exc:
            if strict:
                raise
            stale[mid] = str(exc)
            warnings.warn(f"{exc}: its price is unknown until the card is updated", stacklevel=2)
    return PriceCard(entries, label, stale)


def _dates_as_text(doc: Any) -> Any:
    """YAML reads an unquoted 2026-12-06 as a date: the card keeps dates as text."""
    if isinstance(doc, Mapping) and isinstance(doc.get("models"), Mapping):
        fixed = {}
        for mid, raw in doc["models"].items():
            if isinstance(raw, Mapping) and isinstance(raw.get("read"), datetime.date):
                raw = {**raw, "read": raw["read"].isoformat()}
            fixed[mid] = raw
        return {**doc, "models": fixed}
    return doc


def _check_shape(doc: Any, label: str) -> None:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]
    from jsonschema.exceptions import best_match  # type: ignore[import-untyped, unused-ignore]

    error = best_match(Draft202012Validator(SCHEMA).iter_errors(doc))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "card"
        message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
        raise ConfigurationError(f"prices ({label}): {where}: {message}")


def _value(model: Model, f: Field, value: Any, where: str) -> Any:
    """A card value as a create sends it (digits of a string choice as that string), or refused."""
    if f.type == "string" and f.choices and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if f.choices is not None and not any(_same(value, c) for c in f.choices):
        choices = ", ".join(_show(c) for c in f.choices)
        raise ConfigurationError(f"{where}: {_show(value)!r} is not one of {choices}")
    if f.type == "boolean" and not isinstance(value, bool):
        raise ConfigurationError(f"{where}: {model.id}'s {f.name} is a boolean, not {_show(value)!r}")
    return value


def _entry(model_id: str, raw: Mapping[str, Any], label: str) -> PriceEntry:
    at = f"prices ({label}): {model_id}"
    catalog = models()
    if model_id not in catalog:
        raise ConfigurationError(f"{at}: not a model of the bundled spec ({', '.join(catalog)})")
    model = catalog[model_id]
    by = tuple(raw["by"])
    for name in by:
        if name not in model.names:
            raise ConfigurationError(f"{at}: by: {name!r} is not an input field of {model_id}")
    rows: list[tuple[tuple[Any, ...], float]] = []
    for i, row in enumerate(raw["prices"]):
        when = row["when"]
        if set(when) != set(by):
            raise ConfigurationError(f"{at}: prices.{i}: when names {sorted(when)}, not the by fields {list(by)}")
        key = tuple(_value(model, model.field(n), when[n], f"{at}: prices.{i}.when.{n}") for n in by)
        if any(all(_same(a, b) for a, b in zip(k, key, strict=True)) for k, _ in rows):
            raise ConfigurationError(f"{at}: prices.{i}: a second row for the same values")
        rows.append((key, float(row["credits"])))
    return PriceEntry(model_id, by, tuple(rows), raw["source"], raw["read"], label)
