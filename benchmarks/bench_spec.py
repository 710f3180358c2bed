"""Regenerating the whole family: `python -m scripts.regen --check` vs the pinned generator alone on the same bundle.

`--check` does everything a regeneration does (find and normalise every page,
bundle, validate, generate, write the typed inputs, format) into a temporary
folder, without touching the checkout. The reference is openapi-python-client
run once on the bundled spec with the same config and templates, in the same
interpreter, interleaved with ours: the part of the work we cannot make faster.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._table import Row

ROOT = Path(__file__).resolve().parents[1]


def _time(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - t0


def _generator_alone(out: Path) -> list[str]:
    return [
        sys.executable, "-m", "openapi_python_client", "generate",
        "--path", str(ROOT / "spec" / "openapi.yaml"), "--meta", "none",
        "--config", str(ROOT / "scripts" / "generator-config.yaml"),
        "--custom-template-path", str(ROOT / "scripts" / "templates"),
        "--output-path", str(out / "pkg"), "--overwrite",
    ]  # fmt: skip


def run(quick: bool) -> list[Row]:
    n = 1 if quick else 3
    ours, ref = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(n):
            ours.append(_time([sys.executable, "-m", "scripts.regen", "--check"]))
            ref.append(_time(_generator_alone(Path(tmp))))
    import yaml

    doc = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
    body = doc["paths"]["/api/v1/jobs/createTask"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    pages = len(list((ROOT / "spec" / "upstream").glob("*.yaml")))
    note = f"{pages} pages, {len(body['discriminator']['mapping'])} models; median of {n}"
    o, r = statistics.median(ours), statistics.median(ref)
    return [
        Row(
            "regen: whole family, absolute",
            o,
            10.0,
            "s",
            note=note + "; reference = goal",
        ),
        Row("regen: whole family vs generator alone", o, r, "s", note=note),
    ]
