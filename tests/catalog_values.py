"""Command-line values made from the catalog: valid ones per field, and one that breaks each stated limit.

Nothing here names a model or a field: values come from `Field.sample()` (the
page's example, else one made from its limits) and from the limits themselves;
file fields get small local files of a type the field accepts.
"""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path
from typing import Any

from apikley_kling import Field, Model

from .cli_env import LIGHTHOUSE


def _wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 800)
    return buf.getvalue()


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    with Image.open(LIGHTHOUSE) as im:
        im.convert("RGB").save(buf, "JPEG")
    return buf.getvalue()


# A small real file per type a page accepts (the first one we can make wins).
_MAKERS = {
    "image/png": LIGHTHOUSE.read_bytes,
    "image/jpeg": _jpeg,
    "audio/wav": _wav,
    "audio/x-wav": _wav,
    "audio/mpeg": lambda: b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\0" * 400,
}


def local_file(f: Field, folder: Path) -> Path:
    """A small local file of a type `f` accepts."""
    assert f.file is not None
    mime = next(t for t in f.file.accepted_types if t in _MAKERS)
    path = folder / f"{f.name}.{mime.split('/')[-1]}"
    if not path.exists():
        path.write_bytes(_MAKERS[mime]())
    return path


def oversized_file(f: Field, folder: Path) -> Path:
    """A file of an accepted type one byte over the field's size limit (sparse: nothing big is written)."""
    assert f.file is not None and f.file.max_bytes is not None
    path = folder / f"big-{f.name}"
    with path.open("wb") as out:
        out.write(local_file(f, folder).read_bytes()[:16])
        out.truncate(f.file.max_bytes + 1)
    return path


def valid_value(f: Field, folder: Path) -> Any:
    """A value `f` accepts; file fields hold local files (the in-process simulator fetches nothing)."""
    value = f.sample()
    if f.file is None:
        return value
    path = str(local_file(f, folder))
    return [path] * len(value) if isinstance(value, list) else path


def valid_input(model: Model, folder: Path, *, everything: bool = False) -> dict[str, Any]:
    """The model's sample input (its required fields) with local files in its file fields."""
    sample = model.sample_input(everything=everything)
    return {name: valid_value(model.field(name), folder) if model.field(name).file else v for name, v in sample.items()}


def option_args(f: Field, value: Any) -> list[str]:
    """`value` for `f` as `kling generate` options: repeated for arrays, --x/--no-x for booleans, JSON for objects."""
    if f.type == "boolean":
        return [f.option if value else f"--no-{f.option[2:]}"]
    if f.type == "array" and f.item_type in ("object", "array"):
        return [f.option, json.dumps(value)]
    if f.type == "array":
        return [arg for item in value for arg in (f.option, str(item))]
    if f.type == "object":
        return [f.option, json.dumps(value)]
    return [f.option, str(value)]


def input_args(model: Model, values: dict[str, Any]) -> list[str]:
    """A whole input as options; values no option can say (an empty array) go in --input."""
    args: list[str] = []
    rest: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, list) and not value:
            rest[name] = value
        else:
            args += option_args(model.field(name), value)
    return [*args, "--input", json.dumps(rest)] if rest else args


def stated_limits(f: Field) -> list[str]:
    """The limits the catalog states for `f`, by name (each gets a breaking value from `breaking_value`)."""
    found = [
        name
        for name, present in (
            ("choices", f.choices is not None),
            ("maximum", f.maximum is not None),
            ("minimum", f.minimum is not None),
            ("max_length", f.max_length is not None),
            ("min_length", (f.min_length or 0) > 1),
            ("max_items", f.max_items is not None),
            ("min_items", (f.min_items or 0) > 0),
            ("file_type", f.file is not None),
            ("max_bytes", f.file is not None and f.file.max_bytes is not None),
        )
        if present
    ]
    return found


def _past(f: Field, bound: float, sign: int) -> float | int:
    value = bound + sign * (f.step or 1)
    return int(value) if f.type == "integer" else value


def breaking_value(f: Field, limit: str, folder: Path) -> Any:
    """A value of `f` just past one of its stated limits (files are made in `folder`)."""
    good = valid_value(f, folder)
    item = good[0] if isinstance(good, list) and good else good
    as_file = (lambda p: [str(p)]) if f.type == "array" else str
    if limit == "choices":
        return "not-" + "-".join(str(c) for c in f.choices or ())
    if limit in ("maximum", "minimum"):
        bound = f.maximum if limit == "maximum" else f.minimum
        assert bound is not None
        return _past(f, bound, +1 if limit == "maximum" else -1)
    if limit == "max_length":
        return "x" * ((f.max_length or 0) + 1)
    if limit == "min_length":
        return "x" * ((f.min_length or 1) - 1)
    if limit == "max_items":
        return [item] * ((f.max_items or 0) + 1)
    if limit == "min_items":
        return [item] * ((f.min_items or 1) - 1)
    if limit == "file_type":
        text = folder / f"notes-{f.name}.txt"
        text.write_text("not a media file")
        return as_file(text)
    assert limit == "max_bytes"
    return as_file(oversized_file(f, folder))
