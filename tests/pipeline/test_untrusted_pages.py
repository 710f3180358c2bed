"""A provider page is untrusted input: regen refuses, with one line naming the page, what would run code, exhaust
memory or time, or fail later (scripts/page_guard.py, scripts/spec_family.py); patterns from a page are matched
by RE2 in the SDK and the simulator alike (apikley_kling.catalog._schema).

End to end, a page is dropped into a copy of spec/ and scripts/ and `python -m scripts.regen --check` runs in a
subprocess with a hard timeout, so a regression (a hang, a traceback, an accepted page) fails rather than hangs;
the other refusals are checked where they are made (page_guard.load_page, check_refs, build_bundle).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract_tests._paths import ROOT, UPSTREAM, load_yaml
from scripts import page_guard as guard
from scripts import regen, spec_family, typed_inputs

from .test_spec_rules import _page

HARD_TIMEOUT = 60  # seconds: only a hang meets it


def _apikley_page(props: dict[str, Any], **extra: Any) -> dict[str, Any]:
    page = _page(props, **extra)
    page["servers"] = [{"url": "https://api.apikley.ru"}]  # Apikley's own page: never set aside
    return page


def _project(tmp_path: Path, *parts: str) -> Path:
    root = tmp_path / "project"
    for name in ("spec", "scripts", *parts):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _refused(root: Path, page: str) -> str:
    """regen's one line of refusal (exit 1, no traceback), which names `page`."""
    run = subprocess.run(
        [sys.executable, "-m", "scripts.regen", "--check"],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=HARD_TIMEOUT,
    )
    lines = run.stderr.splitlines()
    assert run.returncode == 1 and len(lines) == 1, run.stdout + run.stderr[-3000:]
    assert lines[0].startswith(f"regen: refused: {page}: "), lines[0]
    return lines[0]


def _load_refused(tmp_path: Path, name: str, text: str) -> str:
    """page_guard.load_page's refusal of a page: one line that names it."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(regen.BundleError) as info:
        guard.load_page(path)
    line = str(info.value)
    assert "\n" not in line and line.startswith(f"{name}: "), line
    return line


def _refs_refused(name: str, page: dict[str, Any]) -> str:
    """page_guard.check_refs' refusal of a page among the real ones: one line that names it."""
    pages = [(p.name, guard.load_page(p)) for p in sorted(UPSTREAM.glob("common.yaml"))]
    with pytest.raises(regen.BundleError) as info:
        guard.check_refs([*pages, (name, page)])
    line = str(info.value)
    assert "\n" not in line and line.startswith(f"{name}: "), line
    return line


def _write(root: Path, name: str, data: bytes | str) -> None:
    path = root / "spec" / "upstream" / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


# ------------------------------------------------------------ row 1: names that reach generated Python


def test_a_field_name_that_is_code_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = f"a = __import__('os').system('touch {marker}') #"
    root = _project(tmp_path)
    _write(
        root, "kling-evil.yaml", yaml.safe_dump(_apikley_page({"prompt": {"type": "string"}, evil: {"type": "string"}}))
    )
    line = _refused(root, "kling-evil.yaml")
    assert repr(evil) in line
    # Whatever regen left in the copy imports without running the page's text.
    env = {**os.environ, "PYTHONPATH": str(root / "generated")}
    subprocess.run([sys.executable, "-c", "import apikley_kling_api.inputs"], env=env, check=True, timeout=60)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["class", "a-b", "\u00fcn\u00ef", "1st", 'x"'])
def test_input_names_that_are_not_identifiers_are_refused(name: str) -> None:
    with pytest.raises(
        spec_family.BundleError, match=r"kling-odd.yaml: kling/odd's input field .* is not a Python identifier"
    ):
        spec_family.check_input_names("kling-odd.yaml", "kling/odd", {"prompt": {}, name: {}})


def test_typed_inputs_never_writes_a_name_that_is_not_an_identifier() -> None:
    doc = load_yaml(ROOT / "spec" / "openapi.yaml")
    schemas = doc["components"]["schemas"]
    name = next(n for n in schemas if n.endswith("Input"))
    schemas[name]["properties"]["x: int = 1; import os #"] = {"type": "string"}
    with pytest.raises(ValueError, match="is not a Python identifier"):
        typed_inputs.render(doc)


# ------------------------------------------------------------ row 3: sizes


def test_a_yaml_alias_bomb_is_refused_fast_with_one_line(tmp_path: Path) -> None:
    levels = ["  l0: &l0 [" + ", ".join(["lol"] * 9) + "]"]
    levels += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    page = yaml.safe_dump(_apikley_page({"prompt": {"type": "string"}})) + "x-bomb:\n" + "\n".join(levels) + "\n"
    root = _project(tmp_path)
    _write(root, "kling-bomb.yaml", page)
    assert f"more than {guard.LIMITS.nodes} YAML nodes" in _refused(root, "kling-bomb.yaml")


def test_an_enum_longer_than_the_limit_is_refused_naming_it(tmp_path: Path) -> None:
    choices = [f"v{i}" for i in range(guard.LIMITS.enum_values + 1)]
    line = _load_refused(tmp_path, "kling-wide.yaml", yaml.safe_dump(_apikley_page({"mode": {"enum": choices}})))
    assert "/input/properties/mode" in line and f"{len(choices)} values" in line


def test_a_page_nested_too_deep_is_refused(tmp_path: Path) -> None:
    deep = "openapi: 3.0.1\nx: " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert f"more than {guard.LIMITS.depth} levels" in _load_refused(tmp_path, "kling-deep.yaml", deep)


def test_a_page_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    big = "openapi: 3.0.1\n" + "# padding\n" * (guard.LIMITS.page_bytes // 10)
    assert f"larger than {guard.LIMITS.page_bytes} bytes" in _load_refused(tmp_path, "kling-big.yaml", big)


def test_the_real_pages_are_well_inside_the_limits() -> None:
    for path in [*sorted(UPSTREAM.glob("*.yaml")), ROOT / "spec" / "fixes.yaml"]:
        fast = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        assert guard.load_page(path) == yaml.load(path.read_text(encoding="utf-8"), Loader=fast), path.name


# ------------------------------------------------------------ row 4: $refs, encodings, not YAML


def test_a_ref_cycle_inside_a_page_is_refused_naming_the_pointer() -> None:
    page = _apikley_page({"node": {"$ref": "#/components/schemas/Loop"}})
    loop = {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Loop"}}}
    page["components"] = {"schemas": {"Loop": loop}}
    line = _refs_refused("kling-loop.yaml", page)
    assert "'#/components/schemas/Loop' at /components/schemas/Loop/properties/next" in line and "cycle" in line


def test_a_ref_cycle_through_common_yaml_is_refused(tmp_path: Path) -> None:
    root = _project(tmp_path)
    common_path = root / "spec" / "upstream" / "common.yaml"
    common = load_yaml(common_path)
    common["components"]["schemas"]["Shared"] = {
        "type": "object",
        "properties": {"back": {"$ref": "#/components/schemas/Mine"}},
    }
    common_path.write_text(yaml.safe_dump(common, sort_keys=False), encoding="utf-8")
    page = _apikley_page({"node": {"$ref": "#/components/schemas/Mine"}})
    page["components"] = {
        "schemas": {"Mine": {"type": "object", "properties": {"s": {"$ref": "#/components/schemas/Shared"}}}}
    }
    _write(root, "kling-via-common.yaml", yaml.safe_dump(page))
    # common.yaml comes first and meets the cycle first; either page is named with the $ref that closes it.
    line = _refused(root, "common.yaml")
    assert "cycle" in line and ("'#/components/schemas/Mine'" in line or "'#/components/schemas/Shared'" in line)


@pytest.mark.parametrize("ref", ["#/components/schemas/Nope", "other.yaml#/x", "#/paths/~1nowhere"])
def test_a_ref_to_nothing_is_refused_naming_page_and_pointer(ref: str) -> None:
    line = _refs_refused("kling-dangling.yaml", _apikley_page({"node": {"$ref": ref}}))
    assert repr(ref) in line and "/input/properties/node" in line


def test_a_latin1_page_is_one_line_naming_it(tmp_path: Path) -> None:
    root = _project(tmp_path)
    text = yaml.safe_dump(_apikley_page({"prompt": {"type": "string", "description": "caf\u00e9"}}), allow_unicode=True)
    _write(root, "kling-latin1.yaml", text.encode("latin-1"))
    assert "not UTF-8" in _refused(root, "kling-latin1.yaml")


@pytest.mark.parametrize("text", ["openapi: 3.0.1\npaths: {\n", "a: b\n\tc: [d\n", "key: 'unclosed\n", "a: *nope\n"])
def test_a_page_that_is_not_yaml_is_one_line_naming_it(tmp_path: Path, text: str) -> None:
    assert "not YAML" in _load_refused(tmp_path, "kling-garbled.yaml", text)


# ------------------------------------------------------------ row 2: patterns


def test_a_pattern_re2_cannot_match_is_refused_naming_page_and_field(tmp_path: Path) -> None:
    upstream = tmp_path / "upstream"
    shutil.copytree(UPSTREAM, upstream)
    page = _apikley_page({"prompt": {"type": "string", "pattern": "^(?=a)a+$"}})
    (upstream / "kling-lookahead.yaml").write_text(yaml.safe_dump(page), encoding="utf-8")
    with pytest.raises(regen.BundleError) as info:
        regen.build_bundle(upstream=upstream)
    line = str(info.value)
    assert line.startswith("kling-lookahead.yaml: ") and "/input/properties/prompt" in line and "RE2" in line


_ADVERSARIAL = textwrap.dedent(
    """
    import json, sys
    from apikley_kling.catalog import _schema

    schema = {"type": "object", "properties": {"p": {"type": "string", "pattern": sys.argv[1]}}}
    _schema.load_spec = lambda: {"components": {"schemas": {"Evil": schema}}}
    _schema.validator.cache_clear()
    errors = list(_schema.validator("Evil").iter_errors({"p": "a" * int(sys.argv[2]) + "!"}))
    print(json.dumps([_schema.describe(e) for e in errors]))
    """
)


def test_a_catastrophic_pattern_is_matched_by_re2_in_the_sdk_and_simulator() -> None:
    from apikley_kling.catalog import _schema
    from apikley_kling.simulator import _validation

    pattern = "^(a+)+$"
    assert type(_schema.compile_pattern(pattern)).__module__.startswith("re2")
    # The simulator checks with the SDK's validator (one place), so both meet RE2.
    assert _validation.validator is _schema.validator and _validation.describe is _schema.describe
    assert _schema.validator_class().VALIDATORS["pattern"] is _schema._pattern_keyword
    # A backtracking engine never finishes `(a+)+$` on 100 characters, let alone 10,000.
    run = subprocess.run(
        [sys.executable, "-c", _ADVERSARIAL, pattern, "10000"], capture_output=True, text=True, timeout=20
    )
    assert run.returncode == 0, run.stderr[-2000:]
    [[field, message]] = json.loads(run.stdout)
    assert field == "p" and message.endswith(f"does not match {pattern!r}") and len(message) < 200


def test_a_valid_value_still_matches_its_pattern() -> None:
    from apikley_kling.catalog import _schema

    check = _schema.validator_class()({"type": "string", "pattern": "^[^/](.*[^/])?$"})
    assert check.is_valid("a/b") and not check.is_valid("/a")
