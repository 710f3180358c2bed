"""`generate` tells the new task's id before its first query: a Ctrl-C then still knows the task it paid for."""

from __future__ import annotations

import random
from pathlib import Path

from apikley_kling import Kling, TaskUpdate, VirtualClock
from apikley_kling.catalog import models
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator, Timings


def test_the_first_update_is_the_created_task_before_any_query(tmp_path: Path) -> None:
    sim = Simulator(clock=VirtualClock(), timings=Timings.instant(), external_images="placeholder")
    model = models()[models().default]
    first: list[tuple[str, int]] = []

    def on_progress(event: object) -> None:
        if isinstance(event, TaskUpdate) and not first:
            first.append((event.task.id, sim.counters.requests["recordInfo"]))

    try:
        with Kling(
            api_key=DEFAULT_API_KEY,
            base_url=sim.base_url,
            clock=sim.clock,
            transport=sim.sync_transport(),
            rng=random.Random(1),
        ) as kling:
            done = kling.generate(output=tmp_path / "v.mp4", on_progress=on_progress, **model.sample_input())
    finally:
        sim.close()
    assert first == [(done.id, 0)]
