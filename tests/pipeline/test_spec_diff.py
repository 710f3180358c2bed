"""`python -m scripts.spec_diff`: provider edits are classified as a client would feel them."""

from __future__ import annotations

import copy
import shutil
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

from contract_tests._paths import ROOT, SEED_PAGE, SPEC, UPSTREAM, bundled_spec, load_yaml
from scripts import regen, spec_diff

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


def _model_pages() -> list[tuple[str, dict[str, Any]]]:
    pages, _ = regen._set_aside(regen.load_pages(UPSTREAM, load_yaml(regen.FIXES)))
    return [(name, page) for name, page in pages if CREATE in page.get("paths", {})]


@pytest.mark.parametrize("page_name", [name for name, _ in _model_pages()])
def test_the_bundle_never_narrows_a_model_page(page_name: str) -> None:
    """Our corrections may widen what answers can look like; they must never refuse a request a page allows.

    The deliberate narrowings: a request without `input` cannot carry the page's required fields, so the
    service refuses it anyway; and a kie.ai page speaks of kie's host, where the bundle is Apikley's.
    """
    page = dict(_model_pages())[page_name]
    model = _input(page)  # the page's own model id sits beside its input
    body = page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    model_id = body["properties"]["model"]["enum"][0]
    deliberate = (
        {f"POST {CREATE} request body [{model_id}]: input: became required"} if model.get("required") else set()
    )
    if page["servers"] != bundled_spec()["servers"]:
        deliberate |= {
            f"servers: base URL changed {page['servers'][0]['url']} -> {bundled_spec()['servers'][0]['url']}",
            f"POST {CREATE}: request body became required",
        }
    levels = _levels(page, bundled_spec())
    assert set(levels["breaking"]) <= deliberate, levels["breaking"]
    assert levels["non-breaking"], "the bundle adds pages; a diff that saw nothing is blind"


def test_two_bundles(tmp_path: Path) -> None:
    upstream = tmp_path / "upstream"
    shutil.copytree(UPSTREAM, upstream)
    seed = load_yaml(upstream / SEED_PAGE.name)
    name, field = next((n, f) for n, f in _input(seed)["properties"].items() if len(f.get("enum", [])) > 1)
    dropped = field["enum"][1:]
    field["enum"] = field["enum"][:1]
    (upstream / SEED_PAGE.name).write_text(yaml.safe_dump(seed, sort_keys=False), encoding="utf-8")
    spoiled = regen.build_bundle(upstream=upstream)
    levels = _levels(bundled_spec(), spoiled)
    model = seed["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["model"]
    assert levels["breaking"] == [
        f"POST {CREATE} request body [{model['enum'][0]}]: input.{name}: enum narrowed: {dropped} removed"
    ]


def test_the_april_to_july_update_is_breaking_for_callers() -> None:
    """The provider dropped webp from the accepted image types (stated in prose only) and rewrote its security
    scheme; the first breaks callers who send webp, the second changes nothing a client sees."""
    history = SPEC.parent / "history"
    pairs = sorted(history.glob("*.2026-04.yaml"))
    assert pairs
    for old in pairs:
        new = UPSTREAM / old.name.replace(".2026-04", "")
        changes = spec_diff.diff(spec_diff.load(str(old)), spec_diff.load(str(new)))
        breaking = [c for c in changes if c.level == spec_diff.BREAKING]
        assert len(breaking) == 1, breaking
        assert breaking[0].what == "accepted file types narrowed: ['image/webp'] removed"
        assert "[kling" in breaking[0].where
        assert not [c for c in changes if "security" in c.what]


# ------------------------------------------------------------ the command


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.spec_diff", *args], capture_output=True, text=True, timeout=60, cwd=ROOT
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


def test_a_page_by_url_is_read_within_the_page_limits(
    tmp_path: Path, file_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A URL is as untrusted as a page dropped into spec/upstream: read by page_guard, refused in one line."""
    from scripts.page_guard import LIMITS

    # 9**5 nodes once expanded: past the budget, yet small enough that a reader without it ends (and fails here)
    levels = ["  l0: &l0 [" + ", ".join(["lol"] * 9) + "]"]
    levels += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 5)]
    (tmp_path / "bomb.yaml").write_text("paths: {}\nx-bomb:\n" + "\n".join(levels) + "\n")
    (tmp_path / "huge.yaml").write_text("paths: {}\nx-pad: '" + "x" * (LIMITS.page_bytes + 10) + "'\n")
    for page, said in (("bomb.yaml", f"more than {LIMITS.nodes} YAML nodes"), ("huge.yaml", "larger than")):
        assert spec_diff.main([str(SEED_PAGE), f"{file_server}/{page}"]) == 2
        said_lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("spec_diff:")]
        assert len(said_lines) == 1 and said in said_lines[0]
