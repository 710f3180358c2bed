"""Soak suites: quick forms run with the normal tests; KLING_SOAK=full runs the full forms.

KLING_SOAK=full pytest tests/soak          # 1000-task fault soak, 10,000 hostile callbacks, ...
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator

import pytest
from apikley_kling.simulator import VideoCache
from PIL import Image

FULL = os.environ.get("KLING_SOAK", "").lower() == "full"

# Encoding an MP4 costs about a second and depends only on (image, seconds): one cache for all soaks.
VIDEOS = VideoCache()


def size(quick: int, full: int) -> int:
    return full if FULL else quick


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def videos() -> VideoCache:
    return VIDEOS


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG (root, httpx, httpcore, apikley_kling) during the test, as text."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    touched = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "apikley_kling")}
    for name in touched:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name, level in touched.items():
            logging.getLogger(name).setLevel(level)
