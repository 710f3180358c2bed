"""Job files for ``kling batch``: one JSON object per line, all checked before anything is sent.

A line names a model (default: the spec's default model) and gives that model's
input fields under their own names (`kling models MODEL` lists them)::

    {"model": "kling/v2-1-pro", "prompt": "waves roll in", "image": "assets/lighthouse.png", "output": "a.mp4"}

Besides the fields a line may hold ``image`` (the model's first image field),
``input`` (fields as one object), ``output`` (a file name), ``id`` and
``callback_url``. File fields take local paths (relative ones are read from
the job file's folder) or http(s) URLs. Each line is checked by the SDK's own
create check (`Model.check`: fields, types, limits, local files), so a line
that passes is one the SDK will send. Blank lines and lines starting with
``#`` are skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .ledger import LEDGER_NAME

if TYPE_CHECKING:
    from .catalog import Field, Model

#: Keys of a line that are not input fields.
LINE_KEYS: Final = ("model", "input", "image", "output", "id", "callback_url")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


@dataclass(frozen=True)
class Job:
    """One checked line: the model, its input as given (local paths made absolute), where the video goes."""

    line: int
    key: str
    model: str
    input: Mapping[str, Any]
    image: Any  # the `image` shortcut: path(s) or URL(s); None when the line does not use it
    callback_url: str | None
    output: str
    raw: dict[str, Any] = field(compare=False)

    @property
    def summary(self) -> str:
        """A few words for a person: the first text field that is not a file (the prompt, mostly)."""
        from .catalog import models

        files = {f.name for f in models()[self.model].file_fields}
        return next((v for k, v in self.input.items() if isinstance(v, str) and k not in files), "")

    def with_uploads(self, upload: Callable[[Path], str]) -> tuple[dict[str, Any], Any]:
        """(input, image) with every local file replaced by `upload(path)`, the URL it returns."""
        from .catalog import models

        files = {f.name for f in models()[self.model].file_fields}
        values = {k: each(v, upload) if k in files else v for k, v in self.input.items()}
        return values, each(self.image, upload) if self.image is not None else None

    def local_files(self) -> list[Path]:
        """The local files this job uploads before its create."""
        from .catalog import models

        files = {f.name for f in models()[self.model].file_fields}
        values = [v for k, v in self.input.items() if k in files] + ([self.image] if self.image is not None else [])
        flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
        return [Path(x) for x in flat if is_local(x)]


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class JobFileError(Exception):
    """The job file cannot be used; ``errors`` lists every bad line, not only the first."""

    def __init__(self, errors: list[LineError]) -> None:
        self.errors = errors
        n = len(errors)
        super().__init__(f"{n} bad line{'s' if n != 1 else ''} in the job file: " + "; ".join(map(str, errors[:5])))


def is_local(value: object) -> bool:
    """A file value that names a local file (the SDK's rule: no scheme), not a URL."""
    return isinstance(value, str) and "://" not in value


def each(value: Any, fn: Callable[[Path], Any]) -> Any:
    """`value` (a file value, or a list of them) with `fn(path)` in place of each local file."""
    if isinstance(value, list):
        return [each(v, fn) for v in value]
    return fn(Path(value)) if is_local(value) else value


def _identity(path: Path) -> str:
    # The key follows the file, not where it lives: moving the folder must not turn a paid job into a new one.
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _canonical(f: Field, value: Any) -> Any:
    if value is None:
        # A field with choices left out counts as its default, as in the first version of job
        # files: keys of lines written then stay the same, and so do their ledger rows.
        return f.default if f.choices is not None and f.has_default else None
    if f.file is not None:
        return each(value, _identity)
    if f.type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if f.type == "string" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def job_digest(
    model: Model, default_model: str, values: Mapping[str, Any], image: Any, extra: Mapping[str, Any]
) -> str:
    """The stable part of a job's ledger key: what the job makes, never where its files live.

    Every field of the model counts (absent ones as null), files by their content; the image field
    under the name `image` however it was given; `model` only when it is not the default model.
    """
    content: dict[str, Any] = dict(extra)
    if model.id != default_model:
        content["model"] = model.id
    for f in model.fields:
        if f is model.image_field:
            chosen = image if image is not None else values.get(f.name)
            content["image"] = _canonical(f, chosen)
        else:
            content[f.name] = _canonical(f, values.get(f.name))
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class _Line:
    model: Model
    values: dict[str, Any]
    image: Any
    callback_url: str | None
    output: str | None
    id: str | None


def _absolute(value: Any, base: Path) -> Any:
    def resolve(p: Path) -> str:
        p = p.expanduser()
        return os.fspath(p if p.is_absolute() else base / p)

    return each(value, resolve) if isinstance(value, str | list) else value


def _parse_line(raw: dict[str, Any], base: Path) -> _Line:
    """One line checked; ValueError says every reason it cannot be sent (the SDK's check first)."""
    from .catalog import models
    from .errors import ValidationError

    catalog = models()
    model_id = raw.get("model", catalog.default)
    if not isinstance(model_id, str) or model_id not in catalog:
        raise ValueError(f"model: {model_id!r} is not one of {', '.join(catalog)}")
    m = catalog[model_id]
    given = raw.get("input", {})
    if not isinstance(given, dict):
        raise ValueError("input must be a JSON object of fields")
    fields = {k: v for k, v in raw.items() if k not in LINE_KEYS}
    files = {f.name for f in m.file_fields}
    inner = {k: _absolute(v, base) if k in files else v for k, v in given.items()}
    outer = {k: _absolute(v, base) if k in files else v for k, v in fields.items()}
    image = _absolute(raw.get("image"), base)
    problems = [f"{opt} must be a string" for opt in ("output", "id") if not isinstance(raw.get(opt, ""), str)]
    out = raw.get("output")
    if isinstance(out, str):
        problems.extend(output_problems(out))
    try:
        m.check(inner, image=image, callback_url=raw.get("callback_url"), **outer)
    except ValidationError as exc:
        problems.insert(0, exc.message)  # refused before sending: no status code to show
    if problems:
        raise ValueError("; ".join(problems))
    return _Line(m, {**inner, **outer}, image, raw.get("callback_url"), out, raw.get("id"))


def output_problems(name: str) -> list[str]:
    """Why `name` cannot be a job's output: matched whole (a trailing newline is no plain name), and never
    the ledger's own files, whose loss or replacement would lose paid videos or let two runs share a folder."""
    if not _SAFE_NAME.fullmatch(name):
        return ["output must be a plain file name (letters, digits, . _ -), no folders"]
    # casefold: on a case-insensitive file system LEDGER.SQLITE3 is the ledger too.
    if name.casefold().startswith(LEDGER_NAME.casefold()):
        return [f"output {name} is reserved: {LEDGER_NAME}* are the batch's ledger files"]
    return []


def _lines(src: Path) -> list[tuple[int, str]]:
    try:
        text = src.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobFileError([LineError(0, f"job file not found: {src}")]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise JobFileError([LineError(0, f"cannot read {src}: {e}")]) from None
    found = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    return [(n, line) for n, line in found if line and not line.startswith("#")]


def _parse_all(src: Path) -> list[tuple[int, dict[str, Any], _Line]]:
    base = src.resolve().parent
    errors: list[LineError] = []
    parsed: list[tuple[int, dict[str, Any], _Line]] = []
    for n, text in _lines(src):
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            errors.append(LineError(n, f"not valid JSON ({e.msg} at column {e.colno})"))
            continue
        if not isinstance(raw, dict):
            errors.append(LineError(n, "must be a JSON object"))
            continue
        try:
            parsed.append((n, raw, _parse_line(raw, base)))
        except ValueError as e:
            errors.append(LineError(n, str(e)))
    if errors:
        raise JobFileError(errors)
    return parsed


def read_jobs(path: str | Path) -> list[Job]:
    """Parse and check every line; raise JobFileError listing all bad lines (nothing is sent)."""
    from .catalog import models

    src = Path(path)
    default = models().default
    errors: list[LineError] = []
    jobs: list[Job] = []
    seen: dict[str, int] = {}
    outputs: dict[str, int] = {}
    for n, raw, ln in _parse_all(src):
        extra = {"callback_url": ln.callback_url, "output": ln.output, "id": ln.id}
        digest = job_digest(ln.model, default, ln.values, ln.image, extra)
        # Two identical lines are two videos: the n-th copy gets its own stable key.
        copy = seen.get(digest, 0)
        seen[digest] = copy + 1
        key = digest if copy == 0 else f"{digest}-{copy}"
        output = ln.output or f"{n:04d}-{key[:8]}.mp4"
        if output.casefold() in outputs:
            errors.append(LineError(n, f"output {output} is also used on line {outputs[output.casefold()]}"))
            continue
        outputs[output.casefold()] = n
        jobs.append(Job(n, key, ln.model.id, ln.values, ln.image, ln.callback_url, output, raw))
    if errors:
        raise JobFileError(errors)
    if not jobs:
        raise JobFileError([LineError(0, f"no jobs in {src}")])
    return jobs
