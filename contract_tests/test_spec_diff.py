"""scripts/spec_diff.py: provider edits are classified as a client would feel them."""

from __future__ import annotations

import copy
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from ._paths import SCRIPTS, SEED_PAGE, SPEC, UPSTREAM, bundled_spec, load_script, load_yaml

spec_diff = load_script("spec_diff")
CREATE = "/api/v1/jobs/createTask"
QUERY = "/api/v1/jobs/recordInfo"


def _seed() -> dict[str, Any]:
    doc: dict[str, Any] = load_yaml(SEED_PAGE)
    return doc


def _input(doc: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = doc["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "properties"
    ]["input"]
    return node


def _levels(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"breaking": [], "warning": [], "non-breaking": []}
    for change in spec_diff.diff(old, new):
        out[change.level].append(f"{change.where}: {change.what}")
    return out


def _edited(edit: Callable[[dict[str, Any]], None], doc: dict[str, Any] | None = None) -> dict[str, Any]:
    new = copy.deepcopy(doc if doc is not None else _seed())
    edit(new)
    return new


# ------------------------------------------------------------ classification

BREAKING_EDITS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "field-removed": (lambda d: _input(d)["properties"].pop("negative_prompt"), "negative_prompt: field removed"),
    "field-renamed": (
        lambda d: _input(d)["properties"].__setitem__("negativePrompt", _input(d)["properties"].pop("negative_prompt")),
        "negative_prompt: renamed to input.negativePrompt",
    ),
    "new-required-field": (
        lambda d: (
            _input(d)["properties"].__setitem__("aspect_ratio", {"type": "string"}),
            _input(d)["required"].append("aspect_ratio"),
        ),
        "aspect_ratio: new required field",
    ),
    "optional-became-required": (lambda d: _input(d)["required"].append("duration"), "duration: became required"),
    "maxLength-narrowed": (
        lambda d: _input(d)["properties"]["prompt"].__setitem__("maxLength", 2500),
        "prompt: maxLength narrowed 5000 -> 2500",
    ),
    "maximum-narrowed": (
        lambda d: _input(d)["properties"]["cfg_scale"].__setitem__("maximum", 0.8),
        "cfg_scale: maximum narrowed 1 -> 0.8",
    ),
    "minimum-raised": (
        lambda d: _input(d)["properties"]["cfg_scale"].__setitem__("minimum", 0.1),
        "cfg_scale: minimum narrowed 0 -> 0.1",
    ),
    "limit-added": (
        lambda d: _input(d)["properties"]["image_url"].__setitem__("maxLength", 2048),
        "image_url: maxLength 2048 added",
    ),
    "enum-narrowed": (
        lambda d: _input(d)["properties"]["duration"].__setitem__("enum", ["5"]),
        "duration: enum narrowed: ['10'] removed",
    ),
    "type-changed": (
        lambda d: _input(d)["properties"]["cfg_scale"].__setitem__("type", "string"),
        "cfg_scale: type changed number -> string",
    ),
    "default-changed": (
        lambda d: _input(d)["properties"]["duration"].__setitem__("default", "10"),
        "duration: default changed '5' -> '10'",
    ),
    "operation-removed": (lambda d: d["paths"][CREATE].pop("post"), "operation removed"),
    "path-removed": (lambda d: d["paths"].pop(CREATE), f"{CREATE}: path removed"),
    "base-url-moved": (
        lambda d: d["servers"][0].__setitem__("url", "https://api.apikley.com"),
        "base URL changed https://api.apikley.ru -> https://api.apikley.com",
    ),
    "response-field-removed": (
        lambda d: d["paths"][CREATE]["post"]["responses"]["200"]["content"]["application/json"]["schema"]["allOf"][1][
            "properties"
        ]["data"]["properties"].pop("taskId"),
        "response 200: data.taskId: field removed",
    ),
    "content-type-removed": (
        lambda d: d["paths"][CREATE]["post"]["requestBody"]["content"].__setitem__(
            "multipart/form-data", d["paths"][CREATE]["post"]["requestBody"]["content"].pop("application/json")
        ),
        "content type application/json removed",
    ),
}


@pytest.mark.parametrize("name", sorted(BREAKING_EDITS))
def test_breaking_edits_are_reported_breaking(name: str) -> None:
    edit, expected = BREAKING_EDITS[name]
    levels = _levels(_seed(), _edited(edit))
    assert any(expected in line for line in levels["breaking"]), levels


NON_BREAKING_EDITS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "maxLength-widened": (
        lambda d: _input(d)["properties"]["prompt"].__setitem__("maxLength", 10000),
        "prompt: maxLength widened 5000 -> 10000",
    ),
    "enum-widened": (
        lambda d: _input(d)["properties"]["duration"]["enum"].append("15"),
        "duration: enum widened: ['15'] added",
    ),
    "optional-field-added": (
        lambda d: _input(d)["properties"].__setitem__("seed", {"type": "integer"}),
        "input.seed: field added",
    ),
    "required-dropped": (lambda d: _input(d)["required"].remove("image_url"), "image_url: no longer required"),
    "description-only": (
        lambda d: _input(d)["properties"]["prompt"].__setitem__("description", "reworded"),
        None,
    ),
    "path-added": (
        lambda d: d["paths"].__setitem__(
            "/api/v1/jobs/cancel", {"post": {"responses": {"200": {"description": "ok"}}}}
        ),
        "/api/v1/jobs/cancel: path added",
    ),
}


@pytest.mark.parametrize("name", sorted(NON_BREAKING_EDITS))
def test_non_breaking_edits_are_not_breaking(name: str) -> None:
    edit, expected = NON_BREAKING_EDITS[name]
    levels = _levels(_seed(), _edited(edit))
    assert levels["breaking"] == []
    if expected is None:
        assert levels == {"breaking": [], "warning": [], "non-breaking": []}
    else:
        assert any(expected in line for line in levels["non-breaking"]), levels


def test_a_new_answer_state_is_a_warning() -> None:
    page = load_yaml(UPSTREAM / "task-query.yaml")

    def add_state(doc: dict[str, Any]) -> None:
        data = doc["paths"][QUERY]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["allOf"][1]
        data["properties"]["data"]["properties"]["state"]["enum"].append("cancelled")

    levels = _levels(page, _edited(add_state, page))
    assert levels["breaking"] == []
    assert any("state: enum widened: ['cancelled'] added" in w for w in levels["warning"]), levels


def test_a_new_required_query_parameter_is_breaking() -> None:
    page = load_yaml(UPSTREAM / "task-query.yaml")

    def add_param(doc: dict[str, Any]) -> None:
        doc["paths"][QUERY]["get"]["parameters"].append(
            {"name": "model", "in": "query", "required": True, "schema": {"type": "string"}}
        )

    levels = _levels(page, _edited(add_param, page))
    assert any("required query parameter model added" in b for b in levels["breaking"]), levels


def test_identical_documents_have_no_changes() -> None:
    assert spec_diff.diff(bundled_spec(), copy.deepcopy(bundled_spec())) == []


def test_the_overlay_never_narrows_the_seed_page() -> None:
    # Our corrections may widen what answers can look like; they must never
    # refuse a request the provider's own page allows.
    # The one deliberate narrowing: a request without `input` cannot carry the
    # required prompt and image_url, so the service rejects it anyway.
    deliberate = [f"POST {CREATE} request body: input: became required"]
    levels = _levels(_seed(), bundled_spec())
    assert levels["breaking"] == deliberate, levels["breaking"]
    assert levels["non-breaking"], "the bundle adds pages; a diff that saw nothing is blind"


def test_two_bundles() -> None:
    regen = load_script("regen")
    pages = [(name, load_yaml(UPSTREAM / name)) for name in regen.PAGE_ORDER]
    _input(pages[0][1])["properties"]["duration"]["enum"] = ["5"]
    spoiled = regen.apply_overlay(regen.bundle_pages(pages), load_yaml(regen.FIXES))
    levels = _levels(bundled_spec(), spoiled)
    assert levels["breaking"] == [f"POST {CREATE} request body: input.duration: enum narrowed: ['10'] removed"]


# ------------------------------------------------------------ the command


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "spec_diff.py"), *args], capture_output=True, text=True, timeout=60
    )


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_cli_exit_codes_and_report(tmp_path: Path) -> None:
    narrowed = _write(tmp_path / "narrowed.yaml", _edited(BREAKING_EDITS["field-removed"][0]))
    widened = _write(tmp_path / "widened.yaml", _edited(NON_BREAKING_EDITS["maxLength-widened"][0]))
    broke = _cli(str(SEED_PAGE), str(narrowed))
    assert broke.returncode == 1, broke.stdout + broke.stderr
    assert "BREAKING (1)" in broke.stdout
    assert "input.negative_prompt: field removed" in broke.stdout
    fine = _cli(str(SEED_PAGE), str(widened))
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert "NON-BREAKING (1)" in fine.stdout and "no breaking changes" in fine.stdout
    same = _cli(str(SPEC), str(SPEC), "--json")
    assert (same.returncode, same.stdout.strip()) == (0, "[]")
    missing = _cli(str(SEED_PAGE), str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2
    assert "nope.yaml" in missing.stderr


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[str]:
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_new_may_be_a_url(tmp_path: Path, file_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "page.yaml", _edited(BREAKING_EDITS["enum-narrowed"][0]))
    assert spec_diff.main([str(SEED_PAGE), f"{file_server}/page.yaml"]) == 1
    assert "enum narrowed" in capsys.readouterr().out
