"""`kling generate` with an option the model lacks: one line in the tool's style, naming the model and its fields.

The models, their fields and which of them takes an image all come from the
catalog: a model without a field another model has, and a model with no image field.
"""

from __future__ import annotations

import json

import pytest
from apikley_kling import Field, Model, exit_codes, load_models

from ..cli_env import OfflineCli
from .test_commands import one_error_line

CATALOG = load_models()
MODELS = list(CATALOG.values())


def _fields_text(model: Model) -> str:
    return "(its fields: " + ", ".join(f.option for f in model.fields) + ")"


def _missing_fields() -> list[tuple[Model, Field]]:
    """(model, a field another model has and this one lacks): the default model first, one case per model."""
    ordered = sorted(MODELS, key=lambda m: m.id != CATALOG.default)
    cases: list[tuple[Model, Field]] = []
    for model in ordered:
        other = next((f for m in MODELS for f in m.fields if f.name not in model.names and f.type != "boolean"), None)
        if other is not None:
            cases.append((model, other))
    return cases


CASES = _missing_fields()


def test_the_catalog_has_the_cases() -> None:
    assert CASES and CASES[0][0].id == CATALOG.default
    assert any(m.image_field is None for m in MODELS)


@pytest.mark.parametrize(("model", "field"), CASES, ids=[f"{m.id}:{f.name}" for m, f in CASES])
def test_a_field_of_another_model_is_one_line(offline_cli: OfflineCli, model: Model, field: Field) -> None:
    value = str(field.sample()) if not isinstance(field.sample(), (list, dict)) else json.dumps(field.sample())
    r = offline_cli("generate", "--model", model.id, field.option, value)
    assert r.exit_code == exit_codes.USAGE
    line = one_error_line(r.stderr)
    assert f"model {model.id} has no field {field.option} {_fields_text(model)}" in line
    having = [m.id for m in MODELS if field.name in m.names]
    assert line.endswith(", ".join(having) + (" has it" if len(having) == 1 else " have it"))
    assert "Usage:" not in r.stderr and "Try " not in r.stderr
    assert offline_cli.requests == 0


def test_the_default_model_is_named_without_model(offline_cli: OfflineCli) -> None:
    model, field = CASES[0]
    r = offline_cli("generate", field.option, "x")
    assert r.exit_code == exit_codes.USAGE
    assert f"model {model.id} has no field {field.option} {_fields_text(model)}" in one_error_line(r.stderr)


@pytest.mark.parametrize("flag", ["--image", "-i"])
def test_an_image_to_a_model_without_an_image_field(offline_cli: OfflineCli, flag: str) -> None:
    for model in (m for m in MODELS if m.image_field is None):
        r = offline_cli("generate", "--model", model.id, flag, "x.png")
        assert r.exit_code == exit_codes.USAGE
        assert one_error_line(r.stderr) == (
            f"kling: error: model {model.id} takes no image, so no {flag} {_fields_text(model)}"
        )
    assert offline_cli.requests == 0


def test_json_mode_gets_the_line_as_json(offline_cli: OfflineCli) -> None:
    model, field = CASES[0]
    r = offline_cli("generate", "--model", model.id, field.option, "x", "--json")
    assert r.exit_code == exit_codes.USAGE
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["exit_code"] == exit_codes.USAGE
    assert f"has no field {field.option}" in doc["error"]["message"]


def test_an_unknown_model_is_one_line(offline_cli: OfflineCli) -> None:
    r = offline_cli("generate", "--model", "no/such-model")
    assert r.exit_code == exit_codes.USAGE
    line = one_error_line(r.stderr)
    assert "--model" in line and "no/such-model" in line and CATALOG.default in line


def test_an_option_with_control_characters_is_escaped(offline_cli: OfflineCli) -> None:
    r = offline_cli("generate", "--x\x1b[31m", "1")
    assert r.exit_code == exit_codes.USAGE
    assert "\x1b" not in r.stderr and "has no field --x" in one_error_line(r.stderr)
