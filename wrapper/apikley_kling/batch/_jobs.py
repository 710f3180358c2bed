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
import itertools
import json
import os
import re
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._text import for_terminal
from ..ledger import LEDGER_NAME

if TYPE_CHECKING:
    from ..catalog import Field, Model

#: Keys of a line that are not input fields.
LINE_KEYS: Final = ("model", "input", "image", "output", "id", "callback_url")
#: A line longer than this is refused unread: a job line is a few hundred bytes, and json.loads of a huge
#: one would hold it several times over.
MAX_LINE_BYTES: Final = 1 << 20
#: How much of a bad value an error quotes; and how many bad lines an error keeps (it counts them all).
QUOTE_CHARS: Final = 80
MAX_ERRORS: Final = 1000
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
        from ..catalog import models

        files = {f.name for f in models()[self.model].file_fields}
        return next((v for k, v in self.input.items() if isinstance(v, str) and k not in files), "")

    def with_uploads(self, upload: Callable[[Path], str]) -> tuple[dict[str, Any], Any]:
        """(input, image) with every local file replaced by `upload(path)`, the URL it returns."""
        from ..catalog import models

        files = {f.name for f in models()[self.model].file_fields}
        values = {k: each(v, upload) if k in files else v for k, v in self.input.items()}
        return values, each(self.image, upload) if self.image is not None else None

    def local_files(self) -> list[Path]:
        """The local files this job uploads before its create."""
        from ..catalog import models

        files = {f.name for f in models()[self.model].file_fields}
        values = [v for k, v in self.input.items() if k in files] + ([self.image] if self.image is not None else [])
        flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
        return [Path(x) for x in flat if is_local(x)]


@dataclass(frozen=True)
class LineError:
    """One bad line of a jobs file: its number and what is wrong with it."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class JobFileError(Exception):
    """The job file cannot be used; ``errors`` lists its bad lines (the first MAX_ERRORS), ``total`` counts them."""

    def __init__(self, errors: list[LineError], total: int | None = None) -> None:
        self.errors = errors
        self.total = n = len(errors) if total is None else total
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
    from ..catalog import models
    from ..errors import ValidationError

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


def _lines(src: Path) -> Iterator[tuple[int, str | LineError]]:
    """(number, text) of each line that is not blank or a comment, read as a stream and split on a newline only:
    U+2028 or U+0085 inside a JSON string is text, not a line end. A line over MAX_LINE_BYTES is an error."""
    try:
        f = src.open("rb")
    except FileNotFoundError:
        raise JobFileError([LineError(0, f"job file not found: {src}")]) from None
    except OSError as e:
        raise JobFileError([LineError(0, f"cannot read {src}: {e}")]) from None
    with f:
        for n in itertools.count(1):
            try:
                data = f.readline(MAX_LINE_BYTES + 1)
                too_long = len(data) > MAX_LINE_BYTES and not data.endswith(b"\n")
                while too_long and (rest := f.readline(1 << 16)) and not rest.endswith(b"\n"):
                    pass  # the rest of a line too long to use: read past it, keep none of it
            except OSError as e:
                raise JobFileError([LineError(0, f"cannot read {src}: {e}")]) from None
            if not data:
                return
            if too_long:
                yield n, LineError(n, f"longer than {MAX_LINE_BYTES} bytes")
                continue
            try:
                text = data.decode("utf-8").strip(" \t\r\n\f\v")
            except UnicodeDecodeError as e:
                yield n, LineError(n, f"not UTF-8 text (byte {e.start + 1} of the line)")
                continue
            if text and not text.startswith("#"):
                yield n, text


_Q = QUOTE_CHARS
_QUOTED = re.compile(f"'([^']{{{_Q}}})[^']+'|\"([^\"]{{{_Q}}})[^\"]+\"")
_LONG_WORD = re.compile(f"[^\\s'\"]{{{_Q + 1}}}[^\\s'\"]+")


def _bounded(message: str) -> str:
    """A message fit for a terminal that quotes no more than QUOTE_CHARS of any value it names: a line may carry
    a megabyte of it, and the error must stay one readable line."""
    message = _LONG_WORD.sub(lambda m: m.group()[:QUOTE_CHARS] + "...", message)
    message = _QUOTED.sub(lambda m: f"'{m.group(1) or m.group(2)}...'", message)
    return for_terminal(message, limit=1000)


def _parse_each(src: Path) -> Iterator[tuple[int, dict[str, Any], _Line] | LineError]:
    base = src.resolve().parent
    for n, text in _lines(src):
        if isinstance(text, LineError):
            yield text
            continue
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            yield LineError(n, f"not valid JSON ({e.msg} at column {e.colno})")
            continue
        except RecursionError:  # nesting deeper than the parser's stack
            yield LineError(n, "not valid JSON (nested too deeply)")
            continue
        if not isinstance(raw, dict):
            yield LineError(n, "must be a JSON object")
            continue
        try:
            yield n, raw, _parse_line(raw, base)
        except ValueError as e:
            yield LineError(n, _bounded(str(e)))


class _Outputs:
    """Which output names lines use, in little memory per line: a default name (`NNNN-<key>.mp4`) is unique to
    its line, so only its key's prefix is kept, by line number; named outputs are kept by name."""

    _DEFAULT = re.compile(r"([0-9]{4,})-([0-9a-f]{8})\.mp4")

    def __init__(self) -> None:
        self._named: dict[str, int] = {}
        self._default_prefix = array("q")  # by line number - 1; -1: no default name on that line

    @staticmethod
    def default(n: int, key: str) -> str:
        return f"{n:04d}-{key[:8]}.mp4"

    def claim(self, n: int, output: str, key: str | None) -> int | None:
        """Record line n's output (`key`: the job's key when the name is its default); the earlier line
        already using that name, if any."""
        name = output.casefold()
        earlier = self._named.get(name)
        if earlier is None and key is None and (m := self._DEFAULT.fullmatch(name)):
            line = int(m.group(1))
            if name == self.default(line, m.group(2)) and self._prefix(line) == int(m.group(2), 16):
                earlier = line
        if earlier is not None:
            return earlier
        self._default_prefix.extend([-1] * (n - len(self._default_prefix)))
        if key is None:
            self._named[name] = n
        else:
            self._default_prefix[n - 1] = int(key[:8], 16)
        return None

    def _prefix(self, line: int) -> int:
        return self._default_prefix[line - 1] if 0 < line <= len(self._default_prefix) else -1


class _Keys:
    """Each job's stable key: the digest of what it makes, `-<k>` on the k-th copy of an identical line."""

    def __init__(self) -> None:
        self._once: set[int] = set()  # ints: a third of the memory of the hex strings, a million lines deep
        self._copies: dict[int, int] = {}

    def key(self, digest: str) -> str:
        d = int(digest, 16)
        if d not in self._once:
            self._once.add(d)
            return digest
        copy = self._copies.get(d, 1)
        self._copies[d] = copy + 1
        return f"{digest}-{copy}"


def iter_jobs(path: str | Path) -> Iterator[Job]:
    """Each good job of the file as it is read (the file streamed, little kept per line); after the last,
    JobFileError if any line was bad (listing the first MAX_ERRORS of them) or there was no job."""
    from ..catalog import models

    src = Path(path)
    default = models().default
    errors: list[LineError] = []
    bad = good = 0
    keys, outputs = _Keys(), _Outputs()
    for item in _parse_each(src):
        if isinstance(item, LineError):
            bad += 1
            if len(errors) < MAX_ERRORS:
                errors.append(item)
            continue
        n, raw, ln = item
        extra = {"callback_url": ln.callback_url, "output": ln.output, "id": ln.id}
        key = keys.key(job_digest(ln.model, default, ln.values, ln.image, extra))
        output = ln.output or outputs.default(n, key)
        earlier = outputs.claim(n, output, None if ln.output else key)
        if earlier is not None:
            bad += 1
            if len(errors) < MAX_ERRORS:
                errors.append(LineError(n, f"output {output} is also used on line {earlier}"))
            continue
        good += 1
        if not bad:
            yield Job(n, key, ln.model.id, ln.values, ln.image, ln.callback_url, output, raw)
    if bad:
        raise JobFileError(errors, total=bad)
    if not good:
        raise JobFileError([LineError(0, f"no jobs in {src}")])


def read_jobs(path: str | Path) -> list[Job]:
    """Parse and check every line; raise JobFileError listing all bad lines (nothing is sent)."""
    return list(iter_jobs(path))
