"""The documentation site builds with `mkdocs build --strict`, and its model pages say what the spec says.

The expected fields, types, limits and defaults are read from the bundled spec here, never written down.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from apikley_kling import load_models

from scripts import model_docs, regen

ROOT = Path(__file__).resolve().parents[2]


class _Rows(HTMLParser):
    """The text of each table cell, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _expected(schema: dict[str, Any]) -> list[str]:
    """Every limit the spec states for a field, as text its row must contain."""
    out = [_shown(c) for c in schema.get("enum", [])]
    keys = ("minimum", "maximum", "x-step", "minLength", "maxLength", "minItems", "maxItems", "x-max-bytes")
    out += [model_docs.number(schema[k]) for k in keys if k in schema]
    out += [str(t) for t in schema.get("x-accepted-types", [])]
    return out + ([_shown(schema["default"])] if "default" in schema else [])


def _rows(page: Path) -> dict[str, list[str]]:
    parser = _Rows()
    parser.feed(page.read_text(encoding="utf-8"))
    return {html.unescape(r[0]): r for r in parser.rows if len(r) == 6}  # the fields table: six columns


def test_the_site_builds_strict_with_every_section(site: Path) -> None:
    for page in ("index.html", "cli/index.html", "INTERFACES/index.html", "reference/apikley_kling/index.html"):
        assert (site / page).is_file(), page
    # mkdocstrings rendered every public class and function the package exports, each under its own anchor.
    import inspect

    import apikley_kling

    reference = (site / "reference/apikley_kling/index.html").read_text(encoding="utf-8")
    public = [
        n for n in apikley_kling.__all__ if inspect.isclass(v := getattr(apikley_kling, n)) or inspect.isfunction(v)
    ]
    assert public
    assert [n for n in public if f'id="apikley_kling.{n}"' not in reference] == []


def test_the_cli_page_holds_every_commands_help(site: Path) -> None:
    from scripts import cli_docs

    page = html.unescape((site / "cli/index.html").read_text(encoding="utf-8"))
    for name in cli_docs.command_names():
        assert f"Usage: kling {name} [OPTIONS]" in page, name


def test_each_model_page_states_the_spec(site: Path) -> None:
    doc = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
    catalog = load_models()
    found = model_docs.models(doc)
    assert [m for m, _, _ in found] == list(catalog)  # every model of the bundle, none left out
    for model_id, _, schema in found:
        page = site / "models" / model_docs.slug(model_id) / "index.html"
        assert page.is_file(), model_id
        rows = _rows(page)
        sent = catalog[model_id].sent_defaults
        for field, prop in schema["properties"].items():
            row = rows.get(field)
            assert row is not None, f"{model_id}: no row for {field}"
            assert row[1] == model_docs.type_name(prop), f"{model_id}.{field}"
            assert row[2] == ("yes" if field in schema.get("required", []) else "")
            for limit in _expected(prop):
                assert limit in " ".join(row[3:5]), f"{model_id}.{field}: {limit!r} not on its row"
            assert (row[5] == "yes") == (field in sent), f"{model_id}.{field}: sent when omitted"
        assert html.escape(model_id, quote=False) in (site / "models/index.html").read_text(encoding="utf-8")


def test_a_page_out_of_date_is_drift(tmp_path: Path) -> None:
    pages = regen.model_pages((ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
    regen.write_docs(pages, tmp_path)
    assert regen.docs_drift(pages, tmp_path) == []
    first = next(n for n in pages if n != model_docs.INDEX)
    (tmp_path / first).write_text("edited by hand\n", encoding="utf-8")
    (tmp_path / "gone-model.md").write_text("a model the spec no longer has\n", encoding="utf-8")
    assert regen.docs_drift(pages, tmp_path) == sorted([first, "gone-model.md"])
    regen.write_docs(pages, tmp_path)
    assert regen.docs_drift(pages, tmp_path) == []


def test_provider_text_is_inert_markdown() -> None:
    hostile = "see [guide](/x) <script>alert(1)</script> | *bold* `code`"
    out = model_docs.text(hostile)
    assert html.unescape(out) == hostile
    assert not set(out) & set("[]<>|*`")
