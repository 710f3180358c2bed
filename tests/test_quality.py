"""The project's own promises about its code, checked in the test command so
that CI holds them: ruff clean everywhere, mypy --strict clean on wrapper/ and scripts/,
and no hand edits in generated/ (that one lives in contract_tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_check_is_clean() -> None:
    run = _run("ruff", "check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_format_is_clean() -> None:
    run = _run("ruff", "format", "--check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_strict_on_the_wrapper() -> None:
    # Settings (strict, files = wrapper/apikley_kling and scripts) live in pyproject.toml.
    run = _run("mypy")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Success" in run.stdout


def _input_field_names() -> set[str]:
    """Every input field name of every model the bundled spec and the provider's pages describe."""
    import yaml

    names: set[str] = set()
    sources = [ROOT / "spec" / "openapi.yaml", *sorted((ROOT / "spec" / "upstream").glob("*.yaml"))]
    for source in sources:
        doc = yaml.safe_load(source.read_text(encoding="utf-8"))
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            if name.endswith("Input") and isinstance(schema.get("properties"), dict):
                names |= set(schema["properties"])
        op = doc.get("paths", {}).get("/api/v1/jobs/createTask", {}).get("post", {})
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        names |= set(body.get("properties", {}).get("input", {}).get("properties", {}))
    return names


def test_no_input_field_name_is_written_in_the_wrapper() -> None:
    """The interface comes from the spec: a model's field name as a string in wrapper/ Python is a defect.

    `prompt` is the one field every model of the family has and the SDK's positional argument; `image` is the
    documented shortcut, not a field.
    """
    import re

    names = _input_field_names() - {"prompt"}
    assert len(names) > 10  # the walk found the family's fields
    pattern = re.compile(r"""["'](""" + "|".join(map(re.escape, sorted(names))) + r""")["']""")
    hits = []
    for path in sorted((ROOT / "wrapper").rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.lstrip().startswith("#") and (m := pattern.search(line)):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {m.group(1)}")
    assert not hits, "\n".join(hits)
