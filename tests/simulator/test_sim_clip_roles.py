"""A video's length is found from what the spec states about a field, whatever the field is called: choices that
are all digit strings (also those the bundler reads from prose such as "3s - 15s"), or a number whose page says
seconds (`x-unit: s`, from "Duration in seconds, range: 3 to 15")."""

from __future__ import annotations

from typing import Any

import pytest
from apikley_kling.catalog import Model
from apikley_kling.catalog._models import _field
from apikley_kling.simulator._clip import DEFAULT_SECONDS, seconds, seconds_field

from scripts import spec_rules  # the bundler's rules as regen applies them


def model_with(name: str, schema: dict[str, Any]) -> Model:
    """A model whose only field is `schema` as the bundler leaves it after its rules."""
    page = spec_rules.ranges_from_prose({"p": schema}, "test.yaml")["p"]
    return Model("kling/test", "Test", (_field(name, page, False),), (), "R", "I")


@pytest.mark.parametrize(
    ("schema", "given", "expected"),
    [
        ({"type": "string", "description": "Optional duration: 3s - 15s"}, "10", 10),
        ({"type": "integer", "description": "Length in seconds, range: 3 to 15", "default": 4}, None, 4),
        ({"type": "integer", "description": "Length in seconds, range: 3 to 15"}, 12, 12),
        ({"type": "number", "description": "Clip: 2s - 9s"}, 7.5, 8),  # a whole second more, never shorter
        ({"type": "integer", "description": "Length: 8s - 12s"}, None, 8),  # none asked: the nearest it allows
    ],
)
def test_the_length_role_is_read_from_the_constraint(schema: dict[str, Any], given: Any, expected: int) -> None:
    model = model_with("span", schema)
    assert seconds_field(model) is model.fields[0]
    assert seconds(model, {} if given is None else {"span": given}) == expected


def test_a_number_that_is_not_in_seconds_has_no_length_role() -> None:
    model = model_with("strength", {"type": "number", "description": "Strength between 0.5 and 1.5"})
    assert seconds_field(model) is None and seconds(model, {"strength": 1.0}) == DEFAULT_SECONDS
