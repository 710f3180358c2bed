"""Where the contract tests find the project's files, and small loaders they share."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "openapi.yaml"
UPSTREAM = ROOT / "spec" / "upstream"
SEED_PAGE = UPSTREAM / "kling-v2-1-standard.yaml"
FIXES = ROOT / "spec" / "fixes.yaml"


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@functools.cache
def bundled_spec() -> dict[str, Any]:
    doc: dict[str, Any] = load_yaml(SPEC)
    return doc


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follow local $refs until a node that is not a reference."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node
