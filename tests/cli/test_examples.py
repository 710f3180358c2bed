"""Every example runs, against the simulator, in a few seconds."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ..cli_env import KLING, ROOT

EXAMPLES = ROOT / "examples"


@pytest.mark.parametrize(
    ("script", "outputs"),
    [
        ("sync.py", ["sync.mp4"]),
        ("async_many.py", [f"async_{i}.mp4" for i in range(4)]),
        ("callbacks.py", ["callbacks.mp4"]),
    ],
)
def test_example_script(script: str, outputs: list[str], tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    env = {**subprocess_env, "EXAMPLES_OUT": str(tmp_path)}
    res = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert res.returncode == 0, res.stdout + res.stderr
    for name in outputs:
        assert (tmp_path / name).read_bytes()[4:8] == b"ftyp", name
    if script == "callbacks.py":
        assert "verified callback" in res.stdout
        # One query at the start and one to confirm the callback: the wait never polled on its schedule.
        queries = int(re.search(r"after (\d+) status queries", res.stdout).group(1))  # type: ignore[union-attr]
        assert 1 <= queries <= 2, res.stdout


def test_example_batch_file(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    out = tmp_path / "batch"
    res = subprocess.run(
        [KLING, "batch", str(EXAMPLES / "batch.jsonl"), "--simulate", "--out", str(out), "--json"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["counts"] == {"done": 4}
    assert len({j["model"] for j in doc["jobs"]}) == 2  # the file shows more than one model
    assert sorted(p.name for p in out.glob("*.mp4")) == ["dawn.mp4", "push-in.mp4", "storm.mp4", "sunset.mp4"]
    dry = subprocess.run(
        [KLING, "batch", str(EXAMPLES / "batch.jsonl"), "--out", str(tmp_path / "dry"), "--dry-run"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dry.returncode == 0 and "would create 4" in dry.stdout
