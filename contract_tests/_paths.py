"""Where the contract tests find the project's files, and small loaders they share."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "openapi.yaml"
UPSTREAM = ROOT / "spec" / "upstream"
SEED_PAGE = UPSTREAM / "kling-v2-1-standard.yaml"
SCRIPTS = ROOT / "scripts"
FIXES = ROOT / "spec" / "fixes.yaml"


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@functools.cache
def bundled_spec() -> dict[str, Any]:
    doc: dict[str, Any] = load_yaml(SPEC)
    return doc


def load_script(name: str) -> ModuleType:
    """Import scripts/<name>.py as a module (scripts/ is not a package)."""
    module_name = f"_script_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is built.
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follow local $refs until a node that is not a reference."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node
