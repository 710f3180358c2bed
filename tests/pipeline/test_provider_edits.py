"""A provider edit is one diff in spec/upstream and one command: each edit below, made to a copy of the project,
is absorbed by `python -m scripts.regen` alone, and the regenerated package works: its catalog says what the edit says,
the SDK (sync and async) drives the model end to end against the simulator, and bad values are still refused.

Each copy holds spec/, scripts/, generated/, wrapper/ and examples/; only spec/upstream/ is edited, and the
probe (contract_tests/_edit_probe.py) imports the copy's wrapper/ and generated/ first. The edits are the six
typical ones a maintainer meets, and a new model page, with the habits of the provider's pages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract_tests._paths import ROOT, SEED_PAGE, UPSTREAM, load_yaml

CREATE = "/api/v1/jobs/createTask"
PROBE = Path(__file__).resolve().parent / "_edit_probe.py"
SEED = SEED_PAGE.name
Page = dict[str, Any]


def _input(page: Page) -> dict[str, Any]:
    node: dict[str, Any] = page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "properties"
    ]["input"]
    return node


def _model(page: Page) -> dict[str, Any]:
    node: dict[str, Any] = page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "properties"
    ]["model"]
    return node


def _seed_model() -> str:
    return str(_model(load_yaml(SEED_PAGE))["enum"][0])


def _first(page: Page, kind: str, key: str) -> str:
    """The name of the first input field of `kind` that states `key` (so edits follow the page, not a name)."""
    return next(n for n, f in _input(page)["properties"].items() if f.get("type") == kind and key in f)


class Copy:
    """A copy of the project whose pages can be edited and regenerated."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for name in ("spec", "scripts", "generated", "examples"):
            shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.mp4"))
        shutil.copytree(ROOT / "wrapper", root / "wrapper", ignore=shutil.ignore_patterns("__pycache__"))

    def edit(self, page: str, change: Callable[[Page], object]) -> None:
        path = self.root / "spec" / "upstream" / page
        doc = load_yaml(path) if path.exists() else {}
        change(doc)
        path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")

    def add_page(self, name: str, doc: Page) -> None:
        (self.root / "spec" / "upstream" / name).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    def regen(self) -> None:
        run = subprocess.run(
            [sys.executable, "-m", "scripts.regen"],
            capture_output=True,
            text=True,
            cwd=self.root,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr

    def probe(self, job: dict[str, Any], workdir: Path) -> dict[str, Any]:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(self.root / "wrapper"), str(self.root / "generated")]),
        }
        run = subprocess.run(
            [sys.executable, str(self.root / "probe.py"), json.dumps(job), str(workdir)],
            capture_output=True,
            text=True,
            env=env,
            cwd=workdir,
            timeout=180,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
        return result


@pytest.fixture
def project(tmp_path: Path) -> Copy:
    copy = Copy(tmp_path / "project")
    shutil.copy2(PROBE, copy.root / "probe.py")  # beside the copy's examples/, whose picture it uploads
    return copy


def _run(project: Copy, tmp_path: Path, job: dict[str, Any]) -> dict[str, Any]:
    project.regen()
    work = tmp_path / "work"
    work.mkdir()
    result = project.probe(job, work)
    assert result["sync"]["state"] == result["async"]["state"] == "success"
    assert result["sync"]["bytes"] > 0
    # The package imports what regen made from the copy, not the checkout.
    assert (
        project.root.as_posix()
        in subprocess.run(
            [sys.executable, "-c", "import apikley_kling, sys; print(apikley_kling.__file__)"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(project.root / "wrapper")},
            check=True,
        ).stdout
    )
    return result


def _field(result: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in result["catalog"]["fields"] if f["name"] == name)
    return found


# ------------------------------------------------------------------ the six edits


def test_a_new_optional_input_field(project: Copy, tmp_path: Path) -> None:
    new = {"type": "string", "enum": ["16:9", "9:16", "1:1"], "default": "16:9", "description": "The aspect ratio"}
    project.edit(SEED, lambda p: _input(p)["properties"].__setitem__("aspect_ratio", new))
    result = _run(
        project, tmp_path, {"model": _seed_model(), "send": {"aspect_ratio": "9:16"}, "refuse": {"aspect_ratio": "4:3"}}
    )
    assert _field(result, "aspect_ratio")["choices"] == new["enum"]
    assert result["sync"]["input"]["aspect_ratio"] == "9:16"
    assert "aspect_ratio" not in result["async"]["input"]  # not sent unasked (the page gives it a default)
    assert result["refused"] == {"aspect_ratio": "aspect_ratio"}


def test_limits_narrowed_and_widened(project: Copy, tmp_path: Path) -> None:
    seed = load_yaml(SEED_PAGE)
    text, number = _first(seed, "string", "maxLength"), _first(seed, "number", "maximum")
    old_max = _input(seed)["properties"][number]["maximum"]

    def change(p: Page) -> None:
        _input(p)["properties"][text]["maxLength"] = 2500
        _input(p)["properties"][number]["maximum"] = old_max * 2

    project.edit(SEED, change)
    result = _run(
        project,
        tmp_path,
        {"model": _seed_model(), "send": {number: old_max * 1.5}, "refuse": {text: "x" * 2501, number: old_max * 2.5}},
    )
    assert "at most 2500 characters" in _field(result, text)["limits"]
    assert result["sync"]["input"][number] == old_max * 1.5
    assert result["refused"] == {text: text, number: number}


def test_an_enum_gains_a_value(project: Copy, tmp_path: Path) -> None:
    seed = load_yaml(SEED_PAGE)
    choice = next(n for n, f in _input(seed)["properties"].items() if f.get("enum"))
    project.edit(SEED, lambda p: _input(p)["properties"][choice]["enum"].append("15"))
    result = _run(project, tmp_path, {"model": _seed_model(), "send": {choice: "15"}, "refuse": {choice: "16"}})
    assert "15" in _field(result, choice)["choices"]
    assert result["sync"]["input"][choice] == "15"


def test_a_field_removed(project: Copy, tmp_path: Path) -> None:
    seed = load_yaml(SEED_PAGE)
    optional = next(n for n in _input(seed)["properties"] if n not in _input(seed).get("required", []))
    project.edit(SEED, lambda p: _input(p)["properties"].pop(optional))
    result = _run(project, tmp_path, {"model": _seed_model(), "refuse": {optional: "x"}})
    assert optional not in [f["name"] for f in result["catalog"]["fields"]]
    assert result["refused"] == {optional: optional}  # now an unknown field, named as such


def test_a_second_model_in_a_page_s_enum(project: Copy, tmp_path: Path) -> None:
    project.edit(SEED, lambda p: _model(p)["enum"].append("kling/v2-1-standard-fast"))
    result = _run(project, tmp_path, {"model": "kling/v2-1-standard-fast"})
    assert _seed_model() in result["models"] and "kling/v2-1-standard-fast" in result["models"]


def test_a_new_field_in_the_task_record(project: Copy, tmp_path: Path) -> None:
    def change(p: Page) -> None:
        data = p["paths"]["/api/v1/jobs/recordInfo"]["get"]["responses"]["200"]["content"]["application/json"]
        data["schema"]["allOf"][1]["properties"]["data"]["properties"]["region"] = {"type": "string", "example": "eu-1"}

    project.edit("task-query.yaml", change)
    result = _run(project, tmp_path, {"model": _seed_model()})
    assert result["sync"]["raw"]["region"] == "eu-1"  # the simulator sends it, Task keeps it


# ------------------------------------------------------------------ a new model page


def _new_page() -> Page:
    """A kie.ai page for a model nobody has seen, with every habit of the family's pages."""
    page = load_yaml(UPSTREAM / "kling-v2-1-pro.yaml")
    model = _model(page)
    model["default"] = "kling/v9-synthetic"
    model["enum"] = ["kling/v9-synthetic"]
    model["examples"] = ["kling/v9-synthetic"]
    page["paths"][CREATE]["post"]["operationId"] = "kling-v9-synthetic"
    page["paths"][CREATE]["post"]["summary"] = "Kling V9 Synthetic"
    props = _input(page)["properties"]
    props["style"] = {
        "type": "string",
        "enum": ["film", "anime"],
        "description": "Rendering style",
        "examples": ["film"],
    }
    props["end_frame_urls"] = {
        "type": "array",
        "items": {"type": "string", "format": "uri"},
        "maxItems": 2,
        "description": "End frames (Uploaded file URLs, not file content; supported types: image/png; maximum file "
        "size: 5.0MB)",
    }
    _input(page)["required"] = ["prompt", "image_url", "style"]
    page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["example"]["model"] = (
        "kling/v9-synthetic"
    )
    return page


def test_a_new_model_page_works_end_to_end(project: Copy, tmp_path: Path) -> None:
    project.add_page("kling-v9-synthetic.yaml", _new_page())
    result = _run(
        project,
        tmp_path,
        {
            "model": "kling/v9-synthetic",
            "send": {"style": "anime"},
            "refuse": {"style": "oil", "end_frame_urls": ["https://x.example/a.png"] * 3},
            "cli": ["--prompt", "a slow push", "--style", "film"],
        },
    )
    assert result["catalog"]["title"] == "Kling V9 Synthetic"
    style = _field(result, "style")
    assert style["required"] and style["choices"] == ["film", "anime"]
    assert "png file, at most 5 MB" in _field(result, "end_frame_urls")["limits"]
    assert result["sync"]["input"]["style"] == "anime"
    assert result["refused"] == {"style": "style", "end_frame_urls": "end_frame_urls"}
    cli = result["cli"]  # and the CLI, which knows the model from the spec alone
    assert cli["models_exit"] == 0 and "style" in [f["name"] for f in cli["model"]["fields"]]
    assert "--style" in cli["help"] and "--end-frame-urls" in cli["help"] and "film, anime" in cli["help"]
    assert cli["generate_exit"] == 0, cli["generate"]
    assert cli["bytes"] > 0 and '"style": "film"' in cli["generate"]
    # and the documentation, in the same regen: the model's page, listed in the index
    docs = project.root / "docs" / "models"
    page = (docs / "kling-v9-synthetic.md").read_text(encoding="utf-8")
    assert "| `style` | string | yes |" in page and "`end_frame_urls`" in page
    assert "(kling-v9-synthetic.md)" in (docs / "index.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------ a range stated only in prose


def test_a_duration_range_only_in_prose_is_checked_and_makes_that_length(project: Copy, tmp_path: Path) -> None:
    """A page that states its length only as "Optional duration: 3s - 15s" (no enum): regen reads the range, the
    SDK refuses a length outside it before sending, and one inside it makes an MP4 of that many seconds."""
    import av

    page = load_yaml(UPSTREAM / "kling-v2-1-master-text-to-video.yaml")
    for key in ("default", "enum", "operationId"):
        _model(page).pop(key, None)
    _model(page)["enum"] = ["kling/v9-prose"]
    page["paths"][CREATE]["post"]["operationId"] = "kling-v9-prose"
    props = _input(page)["properties"]
    # The page's length field, whatever it is called: its choices are all digits.
    length = next(n for n, f in props.items() if f.get("enum") and all(str(c).isdigit() for c in f["enum"]))
    wording = "Optional duration: 3s - 15s"
    props[length] = {"type": "string", "description": wording}
    page["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"].pop("example", None)
    project.add_page("kling-v9-prose.yaml", page)
    result = _run(project, tmp_path, {"model": "kling/v9-prose", "send": {length: "10"}, "refuse": {length: "20"}})
    field = _field(result, length)
    assert field["choices"] == [str(n) for n in range(3, 16)]
    assert result["refused"] == {length: length}
    assert result["sync"]["input"][length] == "10"
    with av.open(str(tmp_path / "work" / "sync.mp4")) as video:
        stream = video.streams.video[0]
        frames = sum(1 for packet in video.demux(stream) if packet.size)
        assert frames / (stream.average_rate or 24) == 10
    schemas = load_yaml(project.root / "spec" / "openapi.yaml")["components"]["schemas"]
    read = [s["properties"][length]["x-from-prose"] for s in schemas.values() if "x-from-prose" in str(s)]
    assert read == [{"page": "kling-v9-prose.yaml", "text": "3s - 15s"}] and read[0]["text"] in wording
