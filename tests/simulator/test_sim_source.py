"""The simulator names no model's input field: every field it reads comes from the catalog (the spec)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import apikley_kling.simulator
from conftest import MODELS

SOURCES = sorted(Path(apikley_kling.simulator.__file__).parent.glob("*.py"))
# The one field the project tolerates by name: every model's text input.
TOLERATED = {"prompt"}
NAMES = sorted({f.name for m in MODELS.values() for f in m.fields} - TOLERATED)
# A name used as code would use it: the whole literal, or next to punctuation ("input.<name>:", "`<name>`");
# the same word inside prose (between spaces) is not a use of the field.
USE = re.compile(r"(?<![\w ])(" + "|".join(map(re.escape, NAMES)) + r")(?![\w ])")


def test_no_input_field_is_named_in_the_simulator() -> None:
    assert NAMES and SOURCES
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found += [f"{path.name}:{node.lineno}: {m[0]!r}" for m in USE.finditer(node.value)]
    assert not found, "\n".join(found)


def test_the_check_sees_a_field_named_in_code() -> None:
    planted = ast.parse(f"x = given[{NAMES[0]!r}]\ny = f'input.{NAMES[0]}: bad'")
    literals = [n.value for n in ast.walk(planted) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert sum(bool(USE.search(v)) for v in literals) == 2
