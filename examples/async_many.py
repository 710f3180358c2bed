"""Several videos at once with the asyncio client: bounded creates, one shared poll budget.

    python examples/async_many.py                       # built-in simulator (no key, instant)
    APIKLEY_API_KEY=sk-... python examples/async_many.py    # real service (costs credits)

Creates are not retried blindly (a lost answer raises AmbiguousSubmit: the task
may exist and be paid for); waits share one budget of queries per second so
that many tasks never turn into a poll storm.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from apikley_kling import AmbiguousSubmit, AsyncKling, KlingError, Task, VirtualClock

HERE = Path(__file__).resolve().parent
OUT = Path(os.environ.get("EXAMPLES_OUT", HERE.parent / "out"))
PROMPTS = [
    "Waves roll in under a grey sky",
    "The lighthouse beam sweeps across the sea at dusk",
    "Seagulls circle the tower in the wind",
    "Fog drifts slowly past the lighthouse",
]


def make_client() -> AsyncKling:
    if os.environ.get("APIKLEY_API_KEY"):
        return AsyncKling()
    from apikley_kling.simulator import DEFAULT_API_KEY, Simulator

    clock = VirtualClock()  # shared: the client's waits age the simulated tasks, instantly
    sim = Simulator(clock=clock)
    return AsyncKling(
        DEFAULT_API_KEY, base_url=sim.base_url, transport=sim.async_transport(), clock=clock, allow_insecure_http=True
    )


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    async with make_client() as kling:
        # Upload once, use the URL for every task (image= fills the model's image field, path or URL).
        image_url = await kling.files.upload(HERE / "assets" / "lighthouse.png")
        limit = asyncio.Semaphore(2)

        async def create(prompt: str) -> Task | None:
            async with limit:
                try:
                    return await kling.tasks.create(prompt, image=image_url, duration=5)
                except AmbiguousSubmit as exc:
                    print(f"not sure whether '{prompt}' was created ({exc.reason}); not resending")
                    return None

        created = [t for t in await asyncio.gather(*(create(p) for p in PROMPTS)) if t is not None]
        print(f"created {len(created)} tasks")
        results = await kling.tasks.wait_many([t.id for t in created], rate=2.0, timeout=900)
        for i, (task_id, outcome) in enumerate(results.items()):
            if isinstance(outcome, KlingError):
                print(f"{task_id}: {type(outcome).__name__}: {outcome}")
                continue
            path = await kling.download(outcome, OUT / f"async_{i}.mp4")
            print(f"{task_id}: saved {path}")


if __name__ == "__main__":
    asyncio.run(main())
