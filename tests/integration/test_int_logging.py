"""DEBUG on the root logger across a whole generate flow (with retries and faults): the key is in no record."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from apikley_kling import Kling, TaskState
from apikley_kling.simulator import Simulator

CANARY = "sk-canary-integration-7d1e5a"


def test_key_never_logged_with_root_debug(
    make_sim: Callable[..., Simulator], caplog: pytest.LogCaptureFixture, image_file: Path, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every logger's records, children included
    sim = make_sim(api_keys=(CANARY,))
    sim.faults.add("recordInfo", "status_429", retry_after=2)
    sim.faults.add("fileStreamUpload", "html_502")
    sim.faults.add("files", "drop_before_read")
    with Kling(
        api_key=CANARY, base_url=sim.base_url, transport=sim.sync_transport(), clock=sim.clock, rng=random.Random(1)
    ) as kling:
        task = kling.generate("A slow pan", image=image_file, output=tmp_path / "out" / "v.mp4")
        logging.getLogger("apikley_kling.simulator").debug("a child logger given the key: %s", CANARY)
    assert task.state is TaskState.SUCCESS
    names = {r.name for r in caplog.records}
    assert "apikley_kling" in names and any(n.startswith("httpx") for n in names)  # logging really was on
    assert len(caplog.records) > 10
    assert CANARY not in caplog.text
    for rec in caplog.records:
        assert CANARY not in rec.getMessage()
        assert CANARY not in repr(rec.args) and CANARY not in str(rec.msg)
