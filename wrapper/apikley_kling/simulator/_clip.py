"""What a create asks of its video, read from the model's fields in the catalog.

No field is named here: the pages name them differently from model to model,
so each role is found by what the spec says about a field.

- Length: the first input field whose choices are all digit strings holds the
  seconds, else the first number field whose page states it in seconds
  (`x-unit: s`, which the bundler also reads from prose such as "3s - 15s");
  the value sent, else the field's default. A model without one (the avatar
  page states no length) gets DEFAULT_SECONDS, within the field's range when
  it has one but no default.
- Shape: the first input field whose choices all read W:H (the value sent,
  else its default); without one, DEFAULT_ASPECT, the shape every
  image-to-video page shows.
- Sound: the first boolean input field whose description speaks of sound or
  audio (the word, any case): the pages say "whether the generated video
  contains sound", "whether to enable sound effects". On (the value sent,
  else its default), the MP4 gets an audio track; a model without one gets
  none. The description is the only place the spec says it: a boolean's
  choices do not tell sound from, say, multi-shot mode.
- First frame: the model's first image field (`Model.image_field`), a URL or
  the first of an array of them; a model without one draws its own frame.
- Files: every top-level field with `x-accepted-types` (a URL or an array of
  URLs) is fetched at create time. Nested URLs (e.g. inside an array of
  objects) are only checked by the schema: nothing here would use them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from apikley_kling.catalog import Field, FileRule, Model

DEFAULT_SECONDS = 5
DEFAULT_ASPECT = (16, 9)
# The short side of every result: 16:9 is 1280x720, as the simulator always made.
SHORT_SIDE = 720
CAPTION_WORDS = 6
_RATIO = re.compile(r"^(\d+):(\d+)$")
_DIGITS = re.compile(r"^\d+$")
# The bundler marks the boolean that switches a video's audio track (scripts/spec_rules.audio_switch_from_prose).
_AUDIO_ROLE = "audio-track"


@dataclass(frozen=True)
class Clip:
    seconds: int
    size: tuple[int, int]  # width, height in pixels
    frame_url: str | None  # where the first frame comes from; None: the simulator draws one
    caption: str | None  # the first words of the prompt, for a drawn frame
    sound: bool = False  # the video has an audio track


def _all_match(field: Field, pattern: re.Pattern[str]) -> bool:
    return bool(field.choices) and all(isinstance(c, str) and pattern.match(c) for c in field.choices or ())


def _in_seconds(field: Field) -> bool:
    return field.unit == "s" and field.type in ("integer", "number")


def seconds_field(model: Model) -> Field | None:
    found = next((f for f in model.fields if _all_match(f, _DIGITS)), None)
    return found or next((f for f in model.fields if _in_seconds(f)), None)


def aspect_field(model: Model) -> Field | None:
    return next((f for f in model.fields if _all_match(f, _RATIO)), None)


def sound_field(model: Model) -> Field | None:
    """The field that switches the video's audio track on: the boolean the bundle marks with that role."""
    return next((f for f in model.fields if f.type == "boolean" and f.schema.get("x-role") == _AUDIO_ROLE), None)


def _value(field: Field | None, given: Mapping[str, Any]) -> Any:
    if field is None:
        return None
    if field.name in given:
        return given[field.name]
    return field.default if field.has_default else None


def _within(field: Field | None) -> int:
    """DEFAULT_SECONDS, or the nearest length the field allows when it says nothing of its own."""
    choices = sorted(int(c) for c in field.choices or () if isinstance(c, str) and c.isdigit()) if field else []
    if choices:
        return min(choices, key=lambda c: (abs(c - DEFAULT_SECONDS), c))
    low = field.minimum if field is not None and field.minimum is not None else DEFAULT_SECONDS
    high = field.maximum if field is not None and field.maximum is not None else DEFAULT_SECONDS
    return max(math.ceil(low), min(DEFAULT_SECONDS, math.floor(high)))


def seconds(model: Model, given: Mapping[str, Any]) -> int:
    field = seconds_field(model)
    value = _value(field, given)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return max(1, math.ceil(value))  # a whole second more rather than a clip shorter than asked
    return _within(field)


def sound(model: Model, given: Mapping[str, Any]) -> bool:
    """Whether the create asks for sound (the value sent, else the field's default; no such field: no)."""
    return _value(sound_field(model), given) is True


def frame_size(ratio: tuple[int, int]) -> tuple[int, int]:
    """Pixels for a W:H ratio: the short side SHORT_SIDE, both sides even (yuv420p needs it)."""
    w, h = ratio
    long_side = 2 * round(SHORT_SIDE * max(w, h) / min(w, h) / 2)
    return (long_side, SHORT_SIDE) if w >= h else (SHORT_SIDE, long_side)


def aspect(model: Model, given: Mapping[str, Any]) -> tuple[int, int]:
    value = _value(aspect_field(model), given)
    match = _RATIO.match(value) if isinstance(value, str) else None
    if match is None or not int(match[1]) or not int(match[2]):
        return DEFAULT_ASPECT
    return int(match[1]), int(match[2])


def _urls(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def file_values(model: Model, given: Mapping[str, Any]) -> Iterator[tuple[str, str, FileRule]]:
    """(where, url, rule) for every file URL the input holds: "input.<field>" or "input.<field>.<index>"."""
    for field in model.file_fields:
        assert field.file is not None
        value = given.get(field.name)
        for index, url in enumerate(_urls(value)):
            where = f"input.{field.name}" if isinstance(value, str) else f"input.{field.name}.{index}"
            yield where, url, field.file


def clip_of(model: Model, given: Mapping[str, Any]) -> Clip:
    image = model.image_field
    urls = _urls(given.get(image.name)) if image is not None else []
    prompt = given.get("prompt")
    caption = " ".join(prompt.split()[:CAPTION_WORDS]) if isinstance(prompt, str) else None
    return Clip(
        seconds(model, given),
        frame_size(aspect(model, given)),
        urls[0] if urls else None,
        caption or None,
        sound(model, given),
    )
