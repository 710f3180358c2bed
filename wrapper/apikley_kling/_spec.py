"""The bundled OpenAPI document, read once, and the request limits it states.

The SDK, the simulator and the tests read limits from here, so a limit such as
"prompt at most 5000 characters" is written once: in spec/. The document is
parsed lazily (YAML parsing costs milliseconds) the first time a caller needs it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

_REPO_SPEC = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"


def spec_path() -> Path:
    """Where the bundled spec lives: inside the wheel, or in the checkout for an editable install."""
    packaged = resources.files("apikley_kling").joinpath("_spec/openapi.yaml")
    if packaged.is_file():
        return Path(str(packaged))
    if _REPO_SPEC.is_file():
        return _REPO_SPEC
    raise FileNotFoundError(
        "the bundled spec is missing: neither apikley_kling/_spec/openapi.yaml nor spec/openapi.yaml"
    )


@functools.cache
def load_spec() -> dict[str, Any]:
    import yaml

    with spec_path().open(encoding="utf-8") as f:
        doc: dict[str, Any] = yaml.safe_load(f)
    return doc


def schema(name: str) -> dict[str, Any]:
    """A component schema by name (no $ref resolution: the named ones are flat)."""
    found: dict[str, Any] = load_spec()["components"]["schemas"][name]
    return found


@dataclass(frozen=True)
class CreateLimits:
    """What the spec says a createTask request may hold."""

    models: tuple[str, ...]
    default_model: str
    prompt_max: int
    negative_prompt_max: int
    durations: tuple[str, ...]
    default_duration: str
    cfg_min: float
    cfg_max: float
    cfg_default: float
    cfg_step: float
    input_required: tuple[str, ...]
    image_types: tuple[str, ...]
    image_max_bytes: int


@functools.cache
def create_limits() -> CreateLimits:
    req = schema("CreateTaskRequest")["properties"]
    inp = schema("CreateTaskInput")
    props = inp["properties"]
    image = props["image_url"]
    return CreateLimits(
        models=tuple(req["model"]["enum"]),
        default_model=req["model"]["default"],
        prompt_max=int(props["prompt"]["maxLength"]),
        negative_prompt_max=int(props["negative_prompt"]["maxLength"]),
        durations=tuple(props["duration"]["enum"]),
        default_duration=props["duration"]["default"],
        cfg_min=float(props["cfg_scale"]["minimum"]),
        cfg_max=float(props["cfg_scale"]["maximum"]),
        cfg_default=float(props["cfg_scale"]["default"]),
        # The step is only in the description ("Step: 0.1"); the overlay has no
        # multipleOf because the provider does not reject 0.55 as far as we know.
        cfg_step=0.1,
        input_required=tuple(inp.get("required", ())),
        image_types=tuple(image["x-accepted-types"]),
        image_max_bytes=int(image["x-max-bytes"]),
    )
