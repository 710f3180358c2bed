"""Import cost: `import apikley_kling` vs `import httpx`, each in a fresh interpreter.

Runs interleaved (ours, reference, empty) so machine noise hits both alike; the
empty interpreter's start-up is subtracted from both before taking the ratio.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from ._table import Row


def _run(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def run(quick: bool) -> list[Row]:
    n = 7 if quick else 25
    ours, ref, empty = [], [], []
    for _ in range(n):
        ours.append(_run("import apikley_kling"))
        ref.append(_run("import httpx"))
        empty.append(_run("pass"))
    base = statistics.median(empty)
    o = max(1e-6, statistics.median(ours) - base)
    r = max(1e-6, statistics.median(ref) - base)
    # The whole family is bundled: the catalog and the generated per-model classes load on first use.
    return [Row("import apikley_kling vs import httpx", o * 1000, r * 1000, "ms")]
