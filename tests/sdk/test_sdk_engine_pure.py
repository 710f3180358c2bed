"""The engine (`apikley_kling/_engine/`) does no IO: no open(), no os calls, no Path IO, no environment reads.

Its file work is effects (ReadFile, Target, FileSize, CheckMp4, Rename, Remove) that the shells perform; this
scan keeps it that way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import apikley_kling._engine

ENGINE = Path(apikley_kling._engine.__file__).parent

# Methods that touch the disk when called on a Path (or a file).
PATH_IO = frozenset({
    "chmod", "exists", "expanduser", "glob", "is_dir", "is_file", "iterdir", "lstat", "mkdir", "open", "read_bytes",
    "read_text", "resolve", "rglob", "rmdir", "samefile", "stat", "symlink_to", "touch", "unlink", "write_bytes",
    "write_text",
})  # fmt: skip
BANNED_MODULES = frozenset({"shutil", "tempfile", "io", "subprocess", "glob"})
NO_CALLS = frozenset({"socket"})  # its exception classes may be named (neterr reads them), nothing called
PURE_OS = frozenset({"PathLike", "fspath", "sep"})  # names of os that do no IO


def io_in(source: str) -> list[str]:
    """Every IO the source does, as 'line: what'."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("open", "input"):
            found.append(f"{line}: {node.func.id}()")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os":
            if node.attr not in PURE_OS:
                found.append(f"{line}: os.{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in PATH_IO:
            found.append(f"{line}: .{node.func.attr}()")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in NO_CALLS
        ):
            found.append(f"{line}: {node.func.value.id}.{node.func.attr}()")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            found += [f"{line}: import {n}" for n in names if n.split(".")[0] in BANNED_MODULES]
            if isinstance(node, ast.ImportFrom) and node.module == "os":
                found.append(f"{line}: from os import ...")
    return found


def test_the_engine_does_no_io() -> None:
    files = sorted(ENGINE.glob("*.py"))
    assert len(files) >= 10  # the scan sees the whole engine
    found = {f.name: io_in(f.read_text(encoding="utf-8")) for f in files}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_the_scan_sees_each_kind_of_io() -> None:
    source = (
        "import os, shutil\nfrom pathlib import Path\n"
        "def f(p: Path) -> None:\n"
        "    open(p)\n    os.environ.get('X')\n    os.getenv('X')\n    os.replace(p, p)\n"
        "    p.mkdir()\n    p.stat()\n    p.unlink()\n    p.read_bytes()\n    x: os.PathLike[str]\n"
        "    socket.create_connection(('h', 1))\n"
    )
    assert sorted(hit.split(": ", 1)[1] for hit in io_in(source)) == sorted(
        [
            "import shutil",
            "open()",
            "os.environ",
            "os.getenv",
            "os.replace",
            ".mkdir()",
            ".stat()",
            ".unlink()",
            ".read_bytes()",
            "socket.create_connection()",
        ]
    )
