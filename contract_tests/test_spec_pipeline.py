"""The spec pipeline: spec/upstream + spec/fixes.yaml -> spec/openapi.yaml -> generated/.

The bundle must validate, must be what the pipeline produces today (and
deterministically so), must still carry every limit of the seed page, and
`scripts/regen.py --check` must both pass here and fail on a stale copy.
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
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from ._paths import ROOT, SEED_PAGE, SPEC, bundled_spec, load_script, load_yaml, resolve

CREATE = "/api/v1/jobs/createTask"
FIX_COMMAND = "python scripts/regen.py"


def _run_check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "scripts" / "regen.py"), "--check"],
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
    doc["components"]["schemas"]["CreateTaskInput"]["properties"]["cfg_scale"]["type"] = "decimal"
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
    regen = load_script("regen")
    first = regen.dump_bundle(regen.build_bundle())
    second = regen.dump_bundle(regen.build_bundle())
    assert first == second
    assert first == SPEC.read_text(encoding="utf-8")


# ------------------------------------------------------------ seed limits


def _seed_create_body() -> dict[str, Any]:
    page = load_yaml(SEED_PAGE)
    body: dict[str, Any] = page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return body


def _bundled_create_body() -> tuple[dict[str, Any], dict[str, Any]]:
    doc = bundled_spec()
    body = resolve(doc, doc["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"])
    return body, resolve(doc, body["properties"]["input"])


LIMIT_KEYS = ("type", "enum", "default", "maxLength", "minLength", "minimum", "maximum", "format", "multipleOf")


@pytest.mark.parametrize("field", ["prompt", "image_url", "duration", "negative_prompt", "cfg_scale"])
def test_bundle_keeps_every_input_limit_of_the_seed_page(field: str) -> None:
    seed = _seed_create_body()["properties"]["input"]["properties"][field]
    _, bundled_input = _bundled_create_body()
    bundled = bundled_input["properties"][field]
    for key in LIMIT_KEYS:
        assert bundled.get(key) == seed.get(key), f"input.{field}.{key}"


def test_bundle_keeps_the_seed_requirements_and_model_enum() -> None:
    seed = _seed_create_body()
    body, bundled_input = _bundled_create_body()
    assert set(seed["required"]) <= set(body["required"])
    assert set(seed["properties"]["input"]["required"]) <= set(bundled_input["required"])
    for key in ("type", "enum", "default"):
        assert body["properties"]["model"][key] == seed["properties"]["model"][key]
    assert body["properties"]["callBackUrl"]["format"] == seed["properties"]["callBackUrl"]["format"]


def test_seed_documented_values_literally() -> None:
    # The test of record: the numbers the provider's page prints, written out
    # once here so that an edit of the seed page itself cannot go unnoticed.
    body, inp = _bundled_create_body()
    props = inp["properties"]
    assert props["prompt"]["maxLength"] == 5000
    assert props["negative_prompt"]["maxLength"] == 500
    assert (props["cfg_scale"]["type"], props["cfg_scale"]["minimum"], props["cfg_scale"]["maximum"]) == (
        "number",
        0,
        1,
    )
    assert props["cfg_scale"]["default"] == 0.5
    assert props["duration"]["enum"] == ["5", "10"]
    assert props["duration"]["default"] == "5"
    assert body["properties"]["model"]["enum"] == ["kling/v2-1-standard"]
    # The seed requires model; the overlay adds input (see spec/fixes.yaml).
    assert "model" in body["required"]
    assert sorted(inp["required"]) == ["image_url", "prompt"]
    assert body["properties"]["callBackUrl"]["format"] == "uri"


def test_seed_page_file_is_yaml_of_the_expected_operation() -> None:
    # Guards the comparisons above against reading the wrong node and
    # comparing two Nones.
    page = yaml.safe_load(SEED_PAGE.read_text(encoding="utf-8"))
    assert page["paths"][CREATE]["post"]["operationId"] == "kling-v2-1-standard"
    assert page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["input"][
        "properties"
    ]["prompt"]["maxLength"]
