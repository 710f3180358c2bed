"""The generated client's modules, imported once with the first client, and looked up by endpoint name."""

from __future__ import annotations

import functools
import importlib
import threading
from typing import Any

__all__ = ["endpoint", "import_generated_client"]

_IMPORTING = threading.Lock()


@functools.cache
def _import_generated_client() -> None:
    """Import the generated client's modules now, in the thread that builds the first client.

    They import each other in cycles; imported on first use by several threads at once (a thread pool's first
    calls), they could deadlock in the import system (importlib's _DeadlockError, seen as a failed `kling
    batch`). Loaded here, with the first client, they are only looked up later.
    """
    import pkgutil

    import apikley_kling_api.api.default as default  # type: ignore[import-untyped, unused-ignore]
    import apikley_kling_api.models  # type: ignore[import-untyped, unused-ignore]  # noqa: F401

    for found in pkgutil.iter_modules(default.__path__):
        importlib.import_module(f"{default.__name__}.{found.name}")


def import_generated_client() -> None:
    """_import_generated_client once, whichever threads build clients at the same moment."""
    with _IMPORTING:
        _import_generated_client()


@functools.cache
def endpoint(name: str) -> Any:
    return importlib.import_module(f"apikley_kling_api.api.default.{name}")
