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


# -- structure: module size, function size, import cycles in wrapper/ -------------------------------------------

WRAPPER = ROOT / "wrapper"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60

# Known offenders: none since issue 21's restructuring landed. An entry would be a debt, not a licence: the guards
# fail on any offender not listed and on any entry that no longer offends.
KNOWN_LONG_MODULES: frozenset[str] = frozenset()
KNOWN_LONG_FUNCTIONS: frozenset[str] = frozenset()
KNOWN_IMPORT_CYCLES: frozenset[frozenset[str]] = frozenset()


def _wrapper_modules() -> dict[str, Path]:
    """Every module under wrapper/ by its dotted name (a package by its own name, not `__init__`)."""
    modules = {}
    for path in sorted(WRAPPER.rglob("*.py")):
        parts = path.relative_to(WRAPPER).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def long_modules(paths: list[Path], limit: int = MAX_MODULE_LINES) -> dict[str, int]:
    """`path -> line count` of every file over `limit` lines."""
    counts = {path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines()) for path in paths}
    return {name: n for name, n in counts.items() if n > limit}


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """`qualified name -> lines` of every function (methods and nested ones too) longer than `limit` lines,
    counted from its `def` (decorators excluded) to its last line."""
    found: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    size = (child.end_lineno or child.lineno) - child.lineno + 1
                    if size > limit:
                        found[name] = size
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """The imports a module runs when it is imported: its top level, inside `try`/`if`/`with` blocks too, but not
    under `if TYPE_CHECKING:` and not inside functions or classes (those run later, when the cycle is closed)."""
    found: list[ast.Import | ast.ImportFrom] = []
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            found.append(stmt)
        elif isinstance(stmt, ast.If):
            found += _runtime_imports(stmt.orelse if _is_type_checking(stmt.test) else stmt.body + stmt.orelse)
        elif isinstance(stmt, ast.Try):
            handlers = [s for h in stmt.handlers for s in h.body]
            found += _runtime_imports(stmt.body + handlers + stmt.orelse + stmt.finalbody)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            found += _runtime_imports(stmt.body)
    return found


def import_graph(sources: dict[str, str], packages: set[str]) -> dict[str, set[str]]:
    """`module -> the modules of `sources` it imports at import time`. `from pkg import name` is an edge to the
    submodule `pkg.name` when there is one, else to `pkg` (its __init__)."""
    graph: dict[str, set[str]] = {}
    for module, source in sources.items():
        package = module if module in packages else module.rpartition(".")[0]
        edges: set[str] = set()
        for stmt in _runtime_imports(ast.parse(source).body):
            if isinstance(stmt, ast.Import):
                edges |= {alias.name for alias in stmt.names}
                continue
            base = package
            for _ in range(stmt.level - 1):
                base = base.rpartition(".")[0]
            target = ".".join(p for p in (base if stmt.level else "", stmt.module or "") if p)
            for alias in stmt.names:
                sub = f"{target}.{alias.name}"
                edges.add(sub if sub in sources else target)
        graph[module] = {e for e in edges if e in sources and e != module}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: set[frozenset[str]] = set()
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.add(frozenset(component))
    return cycles


def _debts(found: set[str], known: frozenset[str], what: str) -> str:
    """Empty when `found` is exactly the known debt; else what changed, ready to paste into the list."""
    new, paid = sorted(found - known), sorted(known - found)
    lines = [f"new {what} (split it, do not list it): {n}" for n in new]
    lines += [f"no longer {what}: take {n!r} off the known list" for n in paid]
    return "\n".join(lines)


def test_no_module_in_the_wrapper_is_over_400_lines() -> None:
    found = long_modules(sorted(WRAPPER.rglob("*.py")))
    assert not _debts(set(found), KNOWN_LONG_MODULES, f"module over {MAX_MODULE_LINES} lines"), found


def test_no_function_in_the_wrapper_is_over_60_lines() -> None:
    found = {
        f"{path.relative_to(ROOT).as_posix()}:{name}": size
        for path in sorted(WRAPPER.rglob("*.py"))
        for name, size in long_functions(path.read_text(encoding="utf-8")).items()
    }
    assert not _debts(set(found), KNOWN_LONG_FUNCTIONS, f"function over {MAX_FUNCTION_LINES} lines"), found


def test_no_import_cycle_in_the_wrapper_outside_type_checking() -> None:
    """A module that imports, at import time, one that imports it back works only in one order, and the next
    import added to either breaks it. Imports under `if TYPE_CHECKING:` and inside functions do not count."""
    modules = _wrapper_modules()
    packages = {name for name, path in modules.items() if path.name == "__init__.py"}
    graph = import_graph({name: path.read_text(encoding="utf-8") for name, path in modules.items()}, packages)
    assert len(graph) == len(modules) and any(graph.values())  # the walk saw the package and its imports
    found = {",".join(sorted(cycle)) for cycle in import_cycles(graph)}
    known = frozenset(",".join(sorted(cycle)) for cycle in KNOWN_IMPORT_CYCLES)
    assert not _debts(found, known, "import cycle"), found


def test_the_structure_guards_catch_what_they_should_and_nothing_else() -> None:
    body = "".join(f"\n        x{i} = {i}" for i in range(59))
    source = f"class C:\n    def short(self):{body}\n\n    async def long(self):{body}\n        return 1\n"
    assert long_functions(source) == {"C.long": 61}  # 60 lines pass, 61 do not
    sources = {
        "p": "from . import a\n",
        "p.a": "from typing import TYPE_CHECKING\nfrom .b import thing\nif TYPE_CHECKING:\n    from . import c\n",
        "p.b": "try:\n    from p import a\nexcept ImportError:\n    a = None\n",
        "p.c": "from . import a\ndef later():\n    from . import c, d\n",
        "p.d": "import p.c\n",
    }
    graph = import_graph(sources, {"p"})
    assert graph == {"p": {"p.a"}, "p.a": {"p.b"}, "p.b": {"p.a"}, "p.c": {"p.a"}, "p.d": {"p.c"}}
    assert import_cycles(graph) == {frozenset({"p.a", "p.b"})}
