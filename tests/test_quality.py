"""The project's own promises about its code, checked in the test command so
that CI holds them: ruff clean everywhere, mypy --strict clean on wrapper/ and scripts/,
and no hand edits in generated/ (that one lives in contract_tests)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Callable
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


# -- no wall-clock assertions ------------------------------------------------------------------------------------

_WALL_READS = {"monotonic", "perf_counter", "time", "monotonic_ns", "perf_counter_ns", "time_ns"}
_BARE_WALL_READS = _WALL_READS - {"time", "time_ns"}  # `from time import monotonic`; a bare time() is ambiguous


def _reads_wall_clock(node: ast.AST, stamps: set[str]) -> bool:
    """`node` holds a reading of the real clock: time.monotonic() and kin, or a name bound to one."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in stamps:
            return True
        if isinstance(sub, ast.Call):
            f = sub.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "time":
                if f.attr in _WALL_READS:
                    return True
            elif isinstance(f, ast.Name) and f.id in _BARE_WALL_READS:
                return True
    return False


def _bound(func: ast.AST, holds: Callable[[ast.AST], bool]) -> set[str]:
    """The names `func` binds (=, :=, annotated =) to a value for which `holds` is true."""
    names: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if holds(node.value):
                names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def wall_clock_assertions(source: str) -> list[int]:
    """Lines where a test asserts on an elapsed real-time duration: an `assert` comparing a difference of two
    real-clock readings (time.monotonic() - t0, t1 - t0 with t0 = time.perf_counter()), or a name bound to one.
    A deadline guard (`assert time.monotonic() < deadline` in a wait loop), a timestamp moved back
    (time.time() - 3600) and a virtual clock pass."""
    lines: set[int] = set()
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        stamps = _bound(func, lambda v: _reads_wall_clock(v, set()))

        def is_elapsed(node: ast.AST, stamps: set[str] = stamps) -> bool:
            return any(
                isinstance(sub, ast.BinOp)
                and isinstance(sub.op, ast.Sub)
                and _reads_wall_clock(sub.left, stamps)
                and _reads_wall_clock(sub.right, stamps)
                for sub in ast.walk(node)
            )

        durations = _bound(func, is_elapsed)
        for node in ast.walk(func):
            if not isinstance(node, ast.Assert):
                continue
            for cmp in (c for c in ast.walk(node.test) if isinstance(c, ast.Compare)):
                sides = [cmp.left, *cmp.comparators]
                used = {n.id for side in sides for n in ast.walk(side) if isinstance(n, ast.Name)}
                if any(is_elapsed(side) for side in sides) or used & durations:
                    lines.add(node.lineno)
    return sorted(lines)


def test_the_wall_clock_guard_catches_what_it_should_and_nothing_else() -> None:
    caught = """
def test_demo():
    t0 = time.monotonic()
    run()
    elapsed = time.monotonic() - t0
    assert elapsed < 15
def test_ctrl_c():
    t0 = time.monotonic()
    assert time.monotonic() - t0 < 2.0, "slow"
def test_bench():
    start = perf_counter()
    took = perf_counter() - start
    assert took <= 1.5 and ok
"""
    passed = """
def test_virtual(clock):
    before = clock.monotonic()
    assert clock.monotonic() - before == pytest.approx(7.0)
def test_deadline():
    deadline = time.monotonic() + 20
    while not ready():
        assert time.monotonic() < deadline, "did not start"
def test_stale():
    stale = signed(ts=int(time.time()) - 3600)
    assert verify(stale) is False
"""
    assert wall_clock_assertions(caught) == [6, 9, 13]
    assert wall_clock_assertions(passed) == []


def test_no_test_asserts_on_wall_clock_time() -> None:
    """A test states what happened (finished, made a playable MP4, was woken), never how fast the machine was:
    `assert elapsed < 15` failed on a busy 2-core box. Wait on a VirtualClock, or bound a hang with a timeout."""
    hits = [
        f"{path.relative_to(ROOT)}:{line}"
        for folder in ("tests", "contract_tests")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line in wall_clock_assertions(path.read_text(encoding="utf-8"))
    ]
    assert not hits, "assertions on elapsed real time:\n" + "\n".join(hits)


def test_regen_under_a_bare_system_python_says_how_to_run_it_in_one_line() -> None:
    """`python3 -m scripts.regen --check` outside the venv ended in a PackageNotFoundError traceback. The base
    interpreter with -S -E -s (no site-packages: none of the project's tools, whatever that machine has installed;
    not -I, which would also drop the checkout's root that `-m scripts.regen` is found from)."""
    python = getattr(sys, "_base_executable", sys.executable)
    run = subprocess.run(
        [python, "-S", "-E", "-s", "-m", "scripts.regen", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0 and "Traceback" not in run.stderr, run.stderr
    [line] = run.stderr.splitlines()
    assert ".venv/bin/python" in line and "scripts/dev.py" in line
