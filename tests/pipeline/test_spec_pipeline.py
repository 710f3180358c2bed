"""The spec pipeline: spec/upstream + spec/fixes.yaml -> spec/openapi.yaml -> generated/.

The bundle must validate, must be what the pipeline produces today (and
deterministically so), must still carry every limit of the seed page, and
`python -m scripts.regen --check` must both pass here and fail on a stale copy.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from apikley_kling import load_models
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from contract_tests._paths import FIXES, ROOT, SEED_PAGE, SPEC, UPSTREAM, bundled_spec, load_yaml, resolve
from scripts import regen

CREATE = "/api/v1/jobs/createTask"
FIX_COMMAND = "python -m scripts.regen"


def _run_check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.regen", "--check"],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=120,
    )


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The parts of the checkout regen.py reads, copied so they can be spoiled."""
    for name in ("spec", "scripts", "generated"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


# ------------------------------------------------------------ validation


def test_bundled_spec_validates() -> None:
    validate(bundled_spec())


def test_validator_rejects_a_broken_document() -> None:
    # Proves the check above has teeth: the same validator on a spoiled copy.
    doc = copy.deepcopy(bundled_spec())
    name = load_models()[load_models().default].input_schema
    first = next(iter(doc["components"]["schemas"][name]["properties"].values()))
    first["type"] = "decimal"
    with pytest.raises(OpenAPIValidationError):
        validate(doc)


# ------------------------------------------------------------ regen --check


def test_regen_check_passes_on_the_checkout() -> None:
    run = _run_check(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "in sync" in run.stdout


def test_regen_check_fails_when_a_generated_file_was_edited(repo_copy: Path) -> None:
    target = repo_copy / "generated" / "apikley_kling_api" / "models" / "task_state.py"
    target.write_text(target.read_text(encoding="utf-8") + '    CANCELLED = "cancelled"\n', encoding="utf-8")
    run = _run_check(repo_copy)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "task_state.py" in run.stderr
    assert FIX_COMMAND in run.stderr


def test_regen_check_fails_when_an_upstream_page_changed(repo_copy: Path) -> None:
    page = repo_copy / "spec" / "upstream" / "kling-v2-1-standard.yaml"
    text = page.read_text(encoding="utf-8")
    assert text.count("maxLength: 5000") == 1
    page.write_text(text.replace("maxLength: 5000", "maxLength: 4000"), encoding="utf-8")
    run = _run_check(repo_copy)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "spec/openapi.yaml differs" in run.stderr
    assert "maxLength: 4000" in run.stderr
    assert FIX_COMMAND in run.stderr


# ------------------------------------------------------------ determinism


def test_bundling_is_deterministic_and_matches_the_checkout() -> None:
    first = regen.dump_bundle(regen.build_bundle())
    second = regen.dump_bundle(regen.build_bundle())
    assert first == second
    assert first == SPEC.read_text(encoding="utf-8")


# ------------------------------------------------------------ every page's limits


def _model_pages() -> list[tuple[str, dict[str, Any]]]:
    """Each model page of spec/upstream as the bundler reads it (rules and its own overlay actions applied)."""
    pages, _ = regen._set_aside(regen.load_pages(UPSTREAM, load_yaml(FIXES)))
    return [(name, page) for name, page in pages if CREATE in page.get("paths", {})]


def _bundled_request(page_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = bundled_spec()
    matches = [s for s in doc["components"]["schemas"].values() if s.get("x-page") == page_name]
    assert len(matches) == 1, f"{page_name} is not one request schema of the bundle"
    return matches[0], resolve(doc, matches[0]["properties"]["input"])


LIMIT_KEYS = ("type", "enum", "default", "maxLength", "minLength", "minimum", "maximum", "format", "multipleOf")
LIMIT_KEYS += ("maxItems", "minItems", "items")


def test_every_model_page_is_one_request_schema_of_the_one_operation() -> None:
    doc = bundled_spec()
    body = doc["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    pages = _model_pages()
    assert len(body["oneOf"]) == len(pages) == len(body["discriminator"]["mapping"]) > 1
    schemas = doc["components"]["schemas"]
    for name, page in pages:
        request, _ = _bundled_request(name)
        model = page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
        ref = body["discriminator"]["mapping"][model["properties"]["model"]["enum"][0]]
        assert schemas[ref.rsplit("/", 1)[-1]] is request


@pytest.mark.parametrize("page_name", [name for name, _ in _model_pages()])
def test_bundle_keeps_every_input_limit_of_every_model_page(page_name: str) -> None:
    page = dict(_model_pages())[page_name]
    body = page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    request, bundled_input = _bundled_request(page_name)
    fields = body["properties"]["input"]["properties"]
    assert set(fields) == set(bundled_input["properties"])
    for field, schema in fields.items():
        for key in LIMIT_KEYS:
            assert bundled_input["properties"][field].get(key) == schema.get(key), f"{page_name}: input.{field}.{key}"
    assert set(body["properties"]["input"].get("required", [])) == set(bundled_input.get("required", []))
    assert set(body.get("required", [])) <= set(request["required"])
    for key in ("type", "enum", "default"):
        assert request["properties"]["model"].get(key) == body["properties"]["model"].get(key)


def test_the_seed_page_is_the_default_model() -> None:
    seed = load_yaml(SEED_PAGE)["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = bundled_spec()["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["x-default-model"] == seed["properties"]["model"]["enum"][0]
    assert bundled_spec()["servers"] == load_yaml(SEED_PAGE)["servers"]


def test_seed_page_file_is_yaml_of_the_expected_operation() -> None:
    # Guards the comparisons above against reading the wrong node and
    # comparing two Nones.
    page = yaml.safe_load(SEED_PAGE.read_text(encoding="utf-8"))
    assert page["paths"][CREATE]["post"]["operationId"] == "kling-v2-1-standard"
    assert page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["input"][
        "properties"
    ]["prompt"]["maxLength"]
