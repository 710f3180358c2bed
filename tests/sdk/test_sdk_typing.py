"""For a literal model, a type checker sees that model's fields: a misspelled field or a wrong type is an error.

The user's file below is written from the catalog (models and fields of the
bundled spec), then checked with mypy exactly as a user's CI would.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from apikley_kling import Field, load_models

MODELS = load_models()


def _string_field(fields: tuple[Field, ...]) -> Field:
    return next(f for f in fields if f.type == "string" and not f.choices and f.file is None)


def _keywords(values: dict[str, object]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in values.items())


def _user_code() -> tuple[str, set[int]]:
    lines = [
        "from apikley_kling import AsyncKling, Kling",
        "",
        "",
        "def sync(k: Kling) -> None:",
    ]
    bad: set[int] = set()

    def add(code: str, wrong: bool = False) -> None:
        lines.append("    " + code)
        if wrong:
            bad.add(len(lines))

    for model in MODELS.values():
        good = _keywords(model.sample_input())
        text = _string_field(model.fields)
        add(f"k.tasks.create(model={model.id!r}, {good})")
        add(f"k.generate(model={model.id!r}, output='x.mp4', {good})")
        # A required field with a page default may be left out: the SDK sends the default.
        lean = {k: v for k, v in model.sample_input().items() if k not in model.sent_defaults}
        add(f"k.tasks.create(model={model.id!r}, {_keywords(lean)})")
        add(f"k.tasks.create(model={model.id!r}, {text.name}_misspelled='x')", wrong=True)
        add(f"k.tasks.create(model={model.id!r}, {text.name}=12345)", wrong=True)
    default = MODELS[MODELS.default]
    add("k.tasks.create('a prompt', image='cat.png')")
    add("k.tasks.create(model='kling/not-a-model', input={'x': 1})")  # a dynamic id goes through input=
    add(f"k.tasks.create({_string_field(default.fields).name}_misspelled='x')", wrong=True)
    lines += ["", "", "async def not_sync(k: AsyncKling) -> None:"]
    model = next(iter(MODELS.values()))
    add(f"await k.tasks.create(model={model.id!r}, {_string_field(model.fields).name}=[1])", wrong=True)
    add(f"await k.generate(model={model.id!r}, output='x.mp4', {_keywords(model.sample_input())})")
    return "\n".join(lines) + "\n", bad


def test_mypy_flags_misspelled_fields_and_wrong_types_per_model(tmp_path: Path) -> None:
    code, bad = _user_code()
    user = tmp_path / "user_code.py"
    user.write_text(code, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "c"), str(user)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    flagged = {int(m.group(1)) for m in re.finditer(r"user_code\.py:(\d+): error", run.stdout)}
    assert flagged == bad, run.stdout + "\n" + code
    assert len(bad) == 2 * len(MODELS) + 2
