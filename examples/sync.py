"""One video with the blocking client: upload, create, wait, download.

python examples/sync.py                      # against the built-in simulator (no key, instant)
APIKLEY_API_KEY=sk-... python examples/sync.py   # against the real service (costs credits)
"""

from __future__ import annotations

import os
from pathlib import Path

from apikley_kling import DownloadProgress, Kling, TaskUpdate, UploadProgress, VirtualClock

HERE = Path(__file__).resolve().parent
OUT = Path(os.environ.get("EXAMPLES_OUT", HERE.parent / "out"))


def make_client() -> Kling:
    if os.environ.get("APIKLEY_API_KEY"):
        return Kling()
    from apikley_kling.simulator import DEFAULT_API_KEY, Simulator

    # One virtual clock for both sides: the client's waits are what age the simulated task,
    # so a 20-second generation takes no real time.
    clock = VirtualClock()
    sim = Simulator(clock=clock)
    return Kling(
        DEFAULT_API_KEY, base_url=sim.base_url, transport=sim.sync_transport(), clock=clock, allow_insecure_http=True
    )


def show(event: object) -> None:
    if isinstance(event, UploadProgress):
        print(f"upload   {event.sent}/{event.total} bytes")
    elif isinstance(event, TaskUpdate):
        print(f"task     {event.task.state.value:<10} after {event.elapsed:5.1f}s")
    elif isinstance(event, DownloadProgress) and event.received == event.total:
        print(f"download {event.received} bytes")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with make_client() as kling:
        print(f"credits before: {kling.credits():g}")
        task = kling.generate(
            "The camera pushes in slowly on the lighthouse as waves roll in",
            image=HERE / "assets" / "lighthouse.png",
            output=OUT / "sync.mp4",
            duration=5,
            on_progress=show,
        )
        print(f"task {task.id}: {task.state.value}, saved {OUT / 'sync.mp4'}")
        print(f"credits after: {kling.credits():g}")


if __name__ == "__main__":
    main()
