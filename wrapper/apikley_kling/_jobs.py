"""Job files for ``kling batch``: one JSON object per line, all checked before anything is sent.

A line looks like::

    {"prompt": "waves roll in", "image": "assets/lighthouse.png", "duration": "5",
     "negative_prompt": "blur", "cfg_scale": 0.5, "output": "lighthouse.mp4"}

``image`` is a local path (relative paths are read from the job file's folder)
or an http(s) URL. Limits come from the bundled spec, never from numbers here.
Blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ._spec import CreateLimits, create_limits

ALLOWED_KEYS: Final = frozenset(
    {"prompt", "image", "duration", "negative_prompt", "cfg_scale", "output", "callback_url", "id"}
)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


@dataclass(frozen=True)
class Job:
    line: int
    key: str
    prompt: str
    image: str
    image_is_url: bool
    duration: str
    negative_prompt: str | None
    cfg_scale: float | None
    callback_url: str | None
    output: str
    raw: dict[str, Any] = field(compare=False)

    def create_options(self) -> dict[str, Any]:
        """Keyword arguments for ``tasks.create`` apart from the image."""
        opts: dict[str, Any] = {"prompt": self.prompt, "duration": int(self.duration)}
        if self.negative_prompt is not None:
            opts["negative_prompt"] = self.negative_prompt
        if self.cfg_scale is not None:
            opts["cfg_scale"] = self.cfg_scale
        if self.callback_url is not None:
            opts["callback_url"] = self.callback_url
        return opts


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


def sniff_image_type(head: bytes) -> str | None:
    """The MIME type from the first bytes; the extension is not trusted."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_image_file(path: Path, limits: CreateLimits | None = None) -> str | None:
    """None when the file can be uploaded as the task's image, else the reason it cannot."""
    lim = limits or create_limits()
    if not path.exists():
        return f"image not found: {path}"
    if not path.is_file():
        return f"image is not a file: {path}"
    size = path.stat().st_size
    if size > lim.image_max_bytes:
        return f"image is {_mb(size)}, over the {_mb(lim.image_max_bytes)} limit: {path}"
    if size == 0:
        return f"image is empty: {path}"
    with path.open("rb") as f:
        kind = sniff_image_type(f.read(16))
    if kind not in lim.image_types:
        accepted = ", ".join(t.split("/")[-1] for t in lim.image_types)
        return f"image is not {accepted}: {path}"
    return None


def check_create_fields(
    *,
    prompt: object,
    duration: object,
    negative_prompt: object,
    cfg_scale: object,
    limits: CreateLimits | None = None,
) -> list[str]:
    """Every reason the create fields would be refused (empty list: fine)."""
    lim = limits or create_limits()
    problems: list[str] = []
    if not isinstance(prompt, str) or not prompt.strip():
        problems.append("prompt must be a non-empty string")
    elif len(prompt) > lim.prompt_max:
        problems.append(f"prompt is {len(prompt)} characters, over the {lim.prompt_max} limit")
    if duration is not None and normalise_duration(duration) not in lim.durations:
        problems.append(f"duration must be one of {', '.join(lim.durations)} (seconds), not {duration!r}")
    if negative_prompt is not None:
        if not isinstance(negative_prompt, str):
            problems.append("negative_prompt must be a string")
        elif len(negative_prompt) > lim.negative_prompt_max:
            problems.append(
                f"negative_prompt is {len(negative_prompt)} characters, over the {lim.negative_prompt_max} limit"
            )
    if cfg_scale is not None:
        if isinstance(cfg_scale, bool) or not isinstance(cfg_scale, int | float) or not math.isfinite(cfg_scale):
            problems.append("cfg_scale must be a number")
        elif not lim.cfg_min <= float(cfg_scale) <= lim.cfg_max:
            problems.append(f"cfg_scale must be between {lim.cfg_min:g} and {lim.cfg_max:g}, not {cfg_scale:g}")
    return problems


def normalise_duration(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value.strip()
    return None


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def read_jobs(path: str | Path, *, limits: CreateLimits | None = None) -> list[Job]:
    """Parse and check every line; raise JobFileError listing all bad lines (nothing is sent)."""
    lim = limits or create_limits()
    src = Path(path)
    try:
        text = src.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobFileError([LineError(0, f"job file not found: {src}")]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise JobFileError([LineError(0, f"cannot read {src}: {e}")]) from None
    base = src.resolve().parent
    errors: list[LineError] = []
    parsed: list[tuple[int, dict[str, Any], str, bool, str]] = []  # line, raw, image, is_url, image identity
    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            raw = json.loads(stripped)
        except json.JSONDecodeError as e:
            errors.append(LineError(n, f"not valid JSON ({e.msg} at column {e.colno})"))
            continue
        if not isinstance(raw, dict):
            errors.append(LineError(n, "must be a JSON object"))
            continue
        problems: list[str] = []
        unknown = sorted(set(raw) - ALLOWED_KEYS)
        if unknown:
            problems.append(f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        problems += check_create_fields(
            prompt=raw.get("prompt"),
            duration=raw.get("duration"),
            negative_prompt=raw.get("negative_prompt"),
            cfg_scale=raw.get("cfg_scale"),
            limits=lim,
        )
        image = raw.get("image")
        identity = ""
        url = False
        if not isinstance(image, str) or not image.strip():
            problems.append("image must be a local path or an http(s) URL")
            image = ""
        elif is_url(image):
            url = True
            identity = image
        else:
            p = Path(image).expanduser()
            p = p if p.is_absolute() else base / p
            why = check_image_file(p, lim)
            if why:
                problems.append(why)
            else:
                image = str(p)
                # The key follows the picture, not where it lives: moving the folder
                # must not turn a paid job into a new one.
                identity = "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
        for opt in ("output", "id", "callback_url"):
            v = raw.get(opt)
            if v is not None and not isinstance(v, str):
                problems.append(f"{opt} must be a string")
        out = raw.get("output")
        if isinstance(out, str) and not _SAFE_NAME.match(out):
            problems.append("output must be a plain file name (letters, digits, . _ -), no folders")
        cb = raw.get("callback_url")
        if isinstance(cb, str) and not is_url(cb):
            problems.append("callback_url must be an http(s) URL")
        if problems:
            errors.append(LineError(n, "; ".join(problems)))
            continue
        parsed.append((n, raw, image, url, identity))
    if errors:
        raise JobFileError(errors)

    jobs: list[Job] = []
    seen: dict[str, int] = {}
    outputs: dict[str, int] = {}
    for n, raw, image, url, identity in parsed:
        duration = normalise_duration(raw.get("duration")) or lim.default_duration
        content = {
            "prompt": raw["prompt"],
            "image": identity,
            "duration": duration,
            "negative_prompt": raw.get("negative_prompt"),
            "cfg_scale": None if raw.get("cfg_scale") is None else float(raw["cfg_scale"]),
            "callback_url": raw.get("callback_url"),
            "output": raw.get("output"),
            "id": raw.get("id"),
        }
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:20]
        # Two identical lines are two videos: the n-th copy gets its own stable key.
        copy = seen.get(digest, 0)
        seen[digest] = copy + 1
        key = digest if copy == 0 else f"{digest}-{copy}"
        output = raw.get("output") or f"{n:04d}-{key[:8]}.mp4"
        if output in outputs:
            errors.append(LineError(n, f"output {output} is also used on line {outputs[output]}"))
            continue
        outputs[output] = n
        jobs.append(
            Job(
                line=n,
                key=key,
                prompt=raw["prompt"],
                image=image,
                image_is_url=url,
                duration=duration,
                negative_prompt=raw.get("negative_prompt"),
                cfg_scale=None if raw.get("cfg_scale") is None else float(raw["cfg_scale"]),
                callback_url=raw.get("callback_url"),
                output=output,
                raw=raw,
            )
        )
    if errors:
        raise JobFileError(errors)
    if not jobs:
        raise JobFileError([LineError(0, f"no jobs in {src}")])
    return jobs


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"
