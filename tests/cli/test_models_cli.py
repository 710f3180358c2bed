"""The whole family from the catalog: `kling models`, `kling generate --model M` (help, a video, every limit).

Models, fields, limits and valid values all come from `apikley_kling.catalog`;
a new model in the spec is a new set of cases here with no edit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apikley_kling import Model, exit_codes, load_models
from apikley_kling.cli._fields import field_help

from ..catalog_values import breaking_value, input_args, local_file, stated_limits, valid_input
from ..cli_env import SIM_KEY, CliEnv, OfflineCli
from .test_commands import one_error_line

CATALOG = load_models()
MODELS = list(CATALOG.values())
IDS = [m.id for m in MODELS]


def words(text: str) -> str:
    """Text without its line breaks: click wraps help at spaces and after hyphens."""
    return " ".join(text.split()).replace("- ", "-")


# -- kling models ----------------------------------------------------------------


def test_models_lists_every_model(offline_cli: OfflineCli) -> None:
    r = offline_cli("models")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    for m in MODELS:
        line = next(x for x in lines if x.split()[:1] == [m.id])
        kind = "image" if m.image_field is not None else "text"
        assert kind in line.split() and m.title in line
        assert ("(default)" in line) == (m.id == CATALOG.default)
    assert offline_cli.requests == 0


def test_models_json(offline_cli: OfflineCli) -> None:
    r = offline_cli("models", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["default"] == CATALOG.default
    assert [e["model"] for e in doc["models"]] == IDS
    for entry, m in zip(doc["models"], MODELS, strict=True):
        assert entry["title"] == m.title
        assert entry["kind"] == ("image" if m.image_field is not None else "text")
        assert entry["image_field"] == (m.image_field.name if m.image_field is not None else None)
        assert entry["default"] is (m.id == CATALOG.default)


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_models_shows_each_field(offline_cli: OfflineCli, model: Model) -> None:
    r = offline_cli("models", model.id)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert model.id in lines[0] and model.title in lines[0]
    for f in model.fields:
        row = next(x for x in lines if x.split()[:1] == [f.name])
        assert f.type_name in row and ("required" if f.required else "optional") in row
        assert f.limits() in row  # choices, ranges, lengths, items, files, and the default
        if f.has_default:
            assert f"default {f.default}" in row
    for names in model.required_any_of:
        assert " + ".join(names) in r.stdout


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_models_json_of_one_model(offline_cli: OfflineCli, model: Model) -> None:
    r = offline_cli("models", model.id, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    expected = model.to_dict()
    for entry, f in zip(expected["fields"], model.fields, strict=True):
        entry["option"] = f.option
    assert {k: doc[k] for k in expected} == expected


def test_models_unknown_model(offline_cli: OfflineCli) -> None:
    r = offline_cli("models", "no/such-model")
    assert r.exit_code == exit_codes.USAGE
    line = one_error_line(r.stderr)
    assert "no/such-model" in line and CATALOG.default in line


# -- kling generate --model M --help ------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_generate_help_lists_the_models_fields_and_limits(offline_cli: OfflineCli, model: Model) -> None:
    r = offline_cli("generate", "--model", model.id, "--help")
    assert r.exit_code == 0, r.stderr
    text = words(r.stdout)
    assert model.id in text
    for f in model.fields:
        assert f.option in r.stdout, f.name
        assert words(field_help(f)) in text, f.name
        assert words(f.limits()) in text, f.name
    assert (" --image " in r.stdout) == (model.image_field is not None)
    others = [m for m in MODELS if m.id != model.id]
    only_theirs = {f.option for m in others for f in m.fields} - {f.option for f in model.fields}
    for option in only_theirs:
        assert option not in r.stdout.split(), option
    assert offline_cli.requests == 0


def test_generate_help_without_model_is_the_default_models(offline_cli: OfflineCli) -> None:
    r = offline_cli("generate", "--help")
    assert r.exit_code == 0
    default = CATALOG[CATALOG.default]
    assert words(offline_cli("generate", "--model", default.id, "--help").stdout) == words(r.stdout)
    assert "--model M" in words(r.stdout) and "kling models" in r.stdout
    for f in default.fields:
        assert words(f.limits()) in words(r.stdout)


# -- every model makes a video ---------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_generate_simulate_with_required_fields(kling_cli: CliEnv, tmp_path: Path, model: Model) -> None:
    values = valid_input(model, tmp_path)
    out = tmp_path / "out.mp4"
    r = kling_cli("generate", "--simulate", "--model", model.id, *input_args(model, values), "-o", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["model"] == model.id and doc["state"] == "success"
    assert out.read_bytes()[4:8] == b"ftyp"
    sent = json.loads(kling_cli.sim.record(doc["task_id"])["param"])
    assert sent["model"] == model.id and set(sent["input"]) == set(values)
    assert kling_cli.sim.counters.tasks_created[SIM_KEY] == 1


def test_image_shortcut_fills_the_first_image_field(kling_cli: CliEnv, tmp_path: Path) -> None:
    model = next(m for m in MODELS if m.image_field is not None and m.image_field.type == "array")
    assert model.image_field is not None
    values = valid_input(model, tmp_path)
    values.pop(model.image_field.name, None)
    image = str(local_file(model.image_field, tmp_path))
    args = input_args(model, values)
    r = kling_cli("generate", "--model", model.id, "--image", image, *args, "-o", str(tmp_path / "o.mp4"), "--json")
    assert r.exit_code == 0, r.stderr
    sent = json.loads(kling_cli.sim.record(json.loads(r.stdout)["task_id"])["param"])["input"]
    assert isinstance(sent[model.image_field.name], list) and len(sent[model.image_field.name]) == 1


def test_text_models_take_no_image_option(offline_cli: OfflineCli, tmp_path: Path) -> None:
    for model in (m for m in MODELS if m.image_field is None):
        r = offline_cli(
            "generate", "--model", model.id, "--image", "x.png", *input_args(model, valid_input(model, tmp_path))
        )
        assert r.exit_code == exit_codes.USAGE and "--image" in r.stderr
    assert offline_cli.requests == 0


def test_input_json_and_file(kling_cli: CliEnv, tmp_path: Path) -> None:
    model = CATALOG[CATALOG.default]
    values = valid_input(model, tmp_path)
    spec = tmp_path / "input.json"
    spec.write_text(json.dumps(values))
    for source in (json.dumps(values), str(spec)):
        r = kling_cli("generate", "--input", source, "-o", str(tmp_path / "o.mp4"), "--overwrite", "--json")
        assert r.exit_code == 0, r.stderr
    first = next(iter(values))
    r = kling_cli("generate", "--input", json.dumps(values), *input_args(model, {first: values[first]}))
    assert r.exit_code == exit_codes.USAGE and first in one_error_line(r.stderr)  # given twice
    for bad in ("[1, 2]", "{not json", str(tmp_path / "absent.json")):
        r = kling_cli("generate", "--input", bad)
        assert r.exit_code == exit_codes.USAGE and "--input" in one_error_line(r.stderr)
    assert kling_cli.sim.counters.tasks_created[SIM_KEY] == 2


# -- every limit is refused before anything is sent ------------------------------------------

LIMITS = [(m, f.name, limit) for m in MODELS for f in m.fields for limit in stated_limits(f)]


@pytest.mark.parametrize(("model", "name", "limit"), LIMITS, ids=[f"{m.id}:{n}:{lim}" for m, n, lim in LIMITS])
def test_each_limit_is_refused_before_sending(
    offline_cli: OfflineCli, tmp_path: Path, model: Model, name: str, limit: str
) -> None:
    f = model.field(name)
    values = {**valid_input(model, tmp_path), name: breaking_value(f, limit, tmp_path)}
    r = offline_cli("generate", "--model", model.id, *input_args(model, values), "-o", str(tmp_path / "o.mp4"))
    assert r.exit_code == exit_codes.USAGE, r.stdout + r.stderr
    line = one_error_line(r.stderr)
    assert model.id in line and f": {name}" in line, line
    expected = {
        "choices": [str(c) for c in f.choices or ()],
        "maximum": [f"{f.maximum:g}" if f.maximum is not None else ""],
        "minimum": [f"{f.minimum:g}" if f.minimum is not None else ""],
        "max_length": [str(f.max_length)],
        "min_length": [str(f.min_length)],
        "max_items": [str(f.max_items)],
        "min_items": [str(f.min_items)],
        "file_type": list(f.file.accepted_types) if f.file else [],
        "max_bytes": [str(f.file.max_bytes) if f.file else ""],
    }[limit]
    for fragment in expected:
        assert fragment in line, (fragment, line)
    assert offline_cli.requests == 0
