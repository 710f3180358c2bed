"""The bundler's named rules for the provider's habits, and the pages it refuses (scripts/spec_rules.py, spec_family.py)."""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract_tests._paths import FIXES, UPSTREAM, load_yaml
from scripts import regen
from scripts import spec_rules as rules

CREATE = "/api/v1/jobs/createTask"


def _page(input_props: dict[str, Any], *, model: str = "kling/test-model", **extra: Any) -> dict[str, Any]:
    return {
        "openapi": "3.0.1",
        "info": {"title": "", "version": "1"},
        "servers": [{"url": "https://api.kie.ai"}],
        "paths": {
            CREATE: {
                "post": {
                    "summary": "Test model",
                    "operationId": "test-model",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["model"],
                                    "properties": {
                                        "model": {"type": "string", "enum": [model]},
                                        "input": {"type": "object", "properties": input_props, **extra},
                                    },
                                }
                            }
                        }
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }


def _input(page: dict[str, Any]) -> dict[str, Any]:
    schema = page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    node: dict[str, Any] = schema["properties"]["input"]
    return node


# ------------------------------------------------------------------ rules


def test_bearer_scheme_becomes_http_bearer() -> None:
    page = {"components": {"securitySchemes": {"BearerAuth": {"type": "bearer", "scheme": "bearer"}}}}
    assert rules.bearer_scheme(page)["components"]["securitySchemes"]["BearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }


def test_apidog_keys_go_everywhere_even_inside_security_requirements() -> None:
    page = {
        "security": [{"BearerAuth": [], "x-apidog": {"required": True}}],
        "paths": {"/x": {"get": {"x-apidog-folder": "a", "x-run-in-apidog": "u", "summary": "s"}}},
        "x-apidog-orders": ["a"],
    }
    assert rules.apidog_keys(page) == {"security": [{"BearerAuth": []}], "paths": {"/x": {"get": {"summary": "s"}}}}


def test_unused_schemes_are_dropped_used_ones_kept() -> None:
    page = {
        "security": [{"BearerAuth": []}],
        "components": {"securitySchemes": {"BearerAuth": {"type": "http"}, "BearerAuth1": {"type": "http"}}},
    }
    assert list(rules.unused_schemes(page)["components"]["securitySchemes"]) == ["BearerAuth"]


def test_examples_lists_become_one_example_in_30_documents_only() -> None:
    media = {"examples": {"a": {"value": 1}}}  # a media type's examples map stays
    page = {"openapi": "3.0.1", "p": {"type": "string", "examples": ["x", "y"]}, "m": media}
    out = rules.examples_lists(copy.deepcopy(page))
    assert out["p"] == {"type": "string", "example": "x"} and out["m"] == media
    page31 = {**page, "openapi": "3.1.0"}
    assert rules.examples_lists(copy.deepcopy(page31)) == page31


@pytest.mark.parametrize(
    ("prose", "types", "size"),
    [
        (
            "URL of the image (File URL after upload, not file content; Accepted types: image/jpeg, image/png; "
            "Max size: 10.0MB)",
            ["image/jpeg", "image/png"],
            10 * 1024**2,
        ),
        (
            "Image URLs. (Uploaded file URLs, not file content; supported types: image/jpeg, image/png, image/webp; "
            "maximum file size: 10.0MB)",
            ["image/jpeg", "image/png", "image/webp"],
            10 * 1024**2,
        ),
        ("Image URLs for the element. Accepted formats: JPG, PNG. Maximum file size: 10MB per image.", None, None),
        (
            "The URL of the audio file (Accepted types: audio/mpeg, audio/wav, audio/x-wav; Max size: 5MB)",
            ["audio/mpeg", "audio/wav", "audio/x-wav"],
            5 * 1024**2,
        ),
        ("A prompt (Max length: 500 characters)", None, None),
        ("Accepted formats: GIF, BMP.", None, None),  # a wording we do not know says nothing
    ],
)
def test_file_fields_from_prose(prose: str, types: list[str] | None, size: int | None) -> None:
    field: dict[str, Any] = {"type": "string", "description": prose}
    if "URLs" in prose:
        field = {"type": "array", "items": {"type": "string"}, "description": prose}
    if types is None and "JPG, PNG" in prose:
        types, size = ["image/jpeg", "image/png"], 10 * 1024**2
    rules.file_fields_from_prose(field)
    assert field.get("x-accepted-types") == types
    assert field.get("x-max-bytes") == size


def test_file_fields_keep_what_a_field_states_itself() -> None:
    field = {"type": "string", "description": "Accepted types: image/png; Max size: 1MB", "x-accepted-types": ["a/b"]}
    assert rules.file_fields_from_prose(field)["x-accepted-types"] == ["a/b"]


def test_audio_switch_from_prose() -> None:
    said = [{"type": "boolean", "description": d} for d in ("Whether to generate sound.", "Adds Audio to the video")]
    for node in said:
        assert rules.audio_switch_from_prose(node)["x-role"] == rules.AUDIO_ROLE
    unsaid = [
        {"type": "boolean", "description": "Whether the clip loops."},
        {"type": "boolean", "description": "Whether to use multi-shot mode."},
        {"type": "string", "description": "The sound of the sea, as a prompt."},
        {"type": "boolean", "description": "Soundproof mode."},
    ]
    for node in unsaid:
        assert "x-role" not in rules.audio_switch_from_prose(node)


def test_step_from_prose() -> None:
    field = {"type": "number", "description": "CFG (Min: 0, Max: 1, Step: 0.1) (step: 0.1)", "maximum": 1}
    assert rules.step_from_prose(field)["x-step"] == 0.1
    assert "multipleOf" not in field  # nothing shows the service refusing a value between steps
    assert "x-step" not in rules.step_from_prose({"type": "string", "description": "(step: 2)"})


@pytest.mark.parametrize(
    ("field", "stated"),
    [
        # The provider's wordings: a span with units on a string, a range in words, a span on a number, "between".
        (
            {"type": "string", "description": "Optional duration: 3s - 15s"},
            {"enum": [str(n) for n in range(3, 16)], "x-unit": "s"},
        ),
        (
            {"type": "string", "description": "Total video duration in seconds. Integer value, range: 3 to 15."},
            {"enum": [str(n) for n in range(3, 16)], "x-unit": "s"},
        ),
        (
            {"type": "string", "description": "Clip length: 5-10", "default": "5"},
            {"enum": ["5", "6", "7", "8", "9", "10"]},
        ),
        (
            {"type": "integer", "description": "Duration of this shot in seconds. Range: 1-12."},
            {"minimum": 1, "maximum": 12, "x-unit": "s"},
        ),
        ({"type": "integer", "description": "Number of shots, between 1 and 10"}, {"minimum": 1, "maximum": 10}),
        ({"type": "number", "description": "Strength between 0.5 and 1.5"}, {"minimum": 0.5, "maximum": 1.5}),
        ({"type": "string", "description": "Generation mode, one of: std, pro or 4K."}, {"enum": ["std", "pro", "4K"]}),
        (
            {"type": "string", "description": "Video aspect ratio. Options: 16:9, 9:16, 1:1. Adapted to images."},
            {"enum": ["16:9", "9:16", "1:1"]},
        ),
        ({"type": "integer", "description": "Frames per second, one of: 24, 30"}, {"enum": [24, 30]}),
    ],
)
def test_ranges_from_prose(field: dict[str, Any], stated: dict[str, Any]) -> None:
    text = field["description"]
    out = rules.ranges_from_prose({"p": copy.deepcopy(field)}, "kling-x.yaml")["p"]
    assert {k: out[k] for k in stated} == stated
    assert out["x-from-prose"]["page"] == "kling-x.yaml"
    assert out["x-from-prose"]["text"] in text  # the words it read, as the page wrote them
    assert set(out) - set(field) == {*stated, "x-from-prose"}


@pytest.mark.parametrize(
    "field",
    [
        {
            "type": "string",
            "description": "A prompt: 1-5 sentences",
        },  # no unit, no digits of its own: not a range of it
        {"type": "integer", "description": "End time; the difference of the two must be within 3000 to 8000 ms"},
        {"type": "string", "description": "Optional duration: 3s - 15s", "default": "20"},  # its default contradicts
        {"type": "string", "description": "Optional duration: 3s - 15s", "example": "1"},  # so does its example
        {"type": "string", "description": "Duration: 3s - 15s", "enum": ["5", "10"]},  # the page's own enum stays
        {"type": "integer", "description": "Range: 1-12.", "minimum": 2},  # the page's own bound stays
        {"type": "string", "description": "URL of a clip between 3 and 8 seconds", "format": "uri"},
        {"type": "string", "description": "Between 3 and 8 seconds; for a loop, range: 1-2"},  # two statements
        {"type": "integer", "description": "Seed, between 1.5 and 9"},  # not whole numbers for an integer
        {"type": "string", "description": "one of: a cat, a dog"},  # not a list of values
        {"type": "string", "description": "Model v2-1 or v2-5, 2026-04 release"},  # numbers glued to words
        {"type": "string", "description": "Duration: 1s - 500s"},  # too many values for choices
        {"type": "string", "description": "Range: 15s - 3s"},  # backwards
        {"type": "array", "items": {"type": "string"}, "description": "2-4 URLs, between 5 and 30 seconds"},
    ],
)
def test_ranges_from_prose_leave_unclear_or_contradicted_prose_as_published(field: dict[str, Any]) -> None:
    assert rules.ranges_from_prose({"p": copy.deepcopy(field)}, "kling-x.yaml")["p"] == field


def test_ranges_from_prose_on_the_real_pages_read_nothing_that_is_not_a_field_s_own_range() -> None:
    """The real pages state their fields' ranges as constraints too; the one span in prose without its own
    constraint ("the difference between end_time and start_time must be within 3000 to 8000") is not a range
    of the field, and stays prose."""
    for path in sorted(UPSTREAM.glob("*.yaml")):
        page = load_yaml(path)
        assert rules.ranges_from_prose(copy.deepcopy(page), path.name) == page, path.name


def test_documented_error_codes() -> None:
    pages = [{"components": {"schemas": {"R": {"properties": {"code": {"enum": [200, 401, 433]}}}}}}]
    assert rules.documented_error_codes(pages) == {401, 433}


def test_every_rule_runs_in_normalise_and_is_idempotent() -> None:
    page = load_yaml(UPSTREAM / "kling-v2-1-pro.yaml")
    once = rules.normalise(page)
    assert rules.normalise(once) == once
    assert "x-apidog" not in yaml.safe_dump(once)
    assert once["components"]["securitySchemes"] == {
        "BearerAuth": {**page["components"]["securitySchemes"]["BearerAuth"], "type": "http"}
    }


# ------------------------------------------------------------------ the bundle


def test_the_bundle_knows_433() -> None:
    doc = regen.build_bundle()
    assert 433 in doc["components"]["schemas"]["ErrorCode"]["enum"]


def test_kie_copies_of_apikley_pages_are_set_aside_and_said_so() -> None:
    notes: list[str] = []
    regen.build_bundle(notes=notes)
    assert any(n.startswith("kie-kling-v2-1-standard.yaml: set aside") for n in notes)
    assert any(n.startswith("get-task-detail.yaml: set aside") for n in notes)


def _bundle_with(tmp_path: Path, name: str, page: dict[str, Any], fixes: dict[str, Any] | None = None) -> Any:
    upstream = tmp_path / "upstream"
    shutil.copytree(UPSTREAM, upstream)
    (upstream / name).write_text(yaml.safe_dump(page), encoding="utf-8")
    fixes_path = tmp_path / "fixes.yaml"
    fixes_path.write_text(yaml.safe_dump(fixes or load_yaml(FIXES)), encoding="utf-8")
    return regen.build_bundle(upstream=upstream, fixes=fixes_path)


def test_a_new_page_with_the_family_habits_needs_nothing(tmp_path: Path) -> None:
    page = _page(
        {
            "prompt": {"type": "string", "maxLength": 100, "examples": ["a cat"]},
            "image_url": {"type": "string", "description": "(Accepted types: image/png; Max size: 2MB)"},
        },
        required=["prompt", "image_url"],
    )
    page["components"] = {"securitySchemes": {"BearerAuth": {"type": "bearer"}, "BearerAuth1": {"type": "bearer"}}}
    page["paths"][CREATE]["post"]["x-apidog-folder"] = "x"
    doc = _bundle_with(tmp_path, "kling-test-model.yaml", page)
    body = doc["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["discriminator"]["mapping"]["kling/test-model"] == "#/components/schemas/KlingTestModelRequest"
    inp = doc["components"]["schemas"]["KlingTestModelInput"]
    assert inp["properties"]["image_url"]["x-accepted-types"] == ["image/png"]
    assert inp["properties"]["prompt"]["example"] == "a cat"
    assert doc["components"]["schemas"]["KlingTestModelRequest"]["required"] == ["model", "input"]
    regen.validate(regen.dump_bundle(doc))


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        (_page({"prompt": {"type": "string"}}, model="kling/v2-1-standard"), "described by two pages"),
        (_page({}), "declares no fields"),
        (_page({"prompt": {"type": "string"}}, required=["prompt", "nope"]), "does not declare: nope"),
        (_page({"prompt": {"type": "string"}}, anyOf=[{"required": ["prompt"]}]), "uses anyOf at its top"),
    ],
    ids=["duplicate-model", "no-fields", "undeclared-required", "anyof-input"],
)
def test_a_page_that_cannot_be_made_sound_is_refused_by_name(tmp_path: Path, page: Any, problem: str) -> None:
    page = copy.deepcopy(page)
    page["servers"] = [{"url": "https://api.apikley.ru"}]  # Apikley's own page: not set aside
    with pytest.raises(regen.BundleError) as info:
        _bundle_with(tmp_path, "kling-broken.yaml", page)
    assert "kling-broken.yaml" in str(info.value) and problem in str(info.value)


def test_two_model_ids_in_one_page_share_its_input(tmp_path: Path) -> None:
    page = _page({"prompt": {"type": "string"}})
    page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["model"][
        "enum"
    ] = ["kling/a", "kling/b"]
    doc = _bundle_with(tmp_path, "kling-two.yaml", page)
    mapping = doc["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]["discriminator"]
    assert mapping["mapping"]["kling/a"] == mapping["mapping"]["kling/b"] == "#/components/schemas/KlingARequest"


def test_a_model_id_listed_twice_is_refused(tmp_path: Path) -> None:
    page = _page({"prompt": {"type": "string"}})
    page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["model"][
        "enum"
    ] = ["kling/a", "kling/a"]
    with pytest.raises(regen.BundleError, match=re.escape("kling-two.yaml: `model` lists a model id twice")):
        _bundle_with(tmp_path, "kling-two.yaml", page)


def test_an_overlay_action_for_a_missing_page_is_refused(tmp_path: Path) -> None:
    fixes = load_yaml(FIXES)
    fixes["actions"].append({"page": "kling-gone.yaml", "target": "/info", "description": "x", "update": {}})
    with pytest.raises(regen.BundleError, match=re.escape("kling-gone.yaml")):
        _bundle_with(tmp_path, "kling-v2-1-pro.yaml", load_yaml(UPSTREAM / "kling-v2-1-pro.yaml"), fixes)


def test_regen_says_refused_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = _page({})
    page["servers"] = [{"url": "https://api.apikley.ru"}]
    upstream = tmp_path / "upstream"
    shutil.copytree(UPSTREAM, upstream)
    (upstream / "kling-empty.yaml").write_text(yaml.safe_dump(page), encoding="utf-8")
    original = regen.UPSTREAM
    regen.UPSTREAM = upstream
    try:
        assert regen.main(["--check"]) == 1
    finally:
        regen.UPSTREAM = original
    err = capsys.readouterr().err
    assert "regen: refused: kling-empty.yaml" in err
