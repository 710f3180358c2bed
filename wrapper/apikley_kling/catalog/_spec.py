"""The bundled OpenAPI document, read once.

The SDK, the simulator and the tests read models, fields and limits from it
(through `catalog` and `_schema`), so a limit is written once: in spec/. The document is
parsed lazily (YAML parsing costs milliseconds) the first time a caller needs it.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

_REPO_SPEC = Path(__file__).resolve().parents[3] / "spec" / "openapi.yaml"


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
