"""Fleet: N tasks created and awaited from one AsyncKling against a rate-limited served simulator.

The simulator (own process, system clock, short generation times) allows R
requests per second per key. The client is given the same budget
(`AsyncKling(rate_limit=R)`, shared by every call): it creates all tasks, then
`wait_many(rate=R)` waits for all. Figures: the sustained request rate (all
requests the server saw / wall time) against R, the share of 429 answers,
errors reaching the caller.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ._proc import served
from ._table import Row

R = 50.0


async def _fleet(url: str, key: str, image_url: str, n: int) -> tuple[float, int, list[str]]:
    from apikley_kling import AsyncKling, KlingError, Task

    errors: list[str] = []
    ids: list[str] = []
    # One budget of R requests/s for the whole client: creates and queries alike.
    async with AsyncKling(api_key=key, base_url=url, max_retries=8, rate_limit=R) as kling:
        t0 = time.monotonic()
        sem = asyncio.Semaphore(16)

        async def create(i: int) -> None:
            async with sem:
                try:
                    task = await kling.tasks.create(f"fleet {i}", image_url=image_url)
                except KlingError as exc:
                    errors.append(f"create: {type(exc).__name__}: {exc}")
                else:
                    ids.append(task.id)

        await asyncio.gather(*(create(i) for i in range(n)))
        results: dict[str, Any] = await kling.tasks.wait_many(ids, rate=R, max_in_flight=16, timeout=600)
        elapsed = time.monotonic() - t0
    for tid, r in results.items():
        if not isinstance(r, Task):
            errors.append(f"wait {tid}: {type(r).__name__}: {r}")
    return elapsed, len(ids), errors


def run(quick: bool) -> list[Row]:
    n = 150 if quick else 1000
    args = ("--rate-limit", str(R), "--generation-time", "0.5", "--waiting-time", "0.2", "--queuing-time", "0.3")
    with served("sim", *args) as s:
        elapsed, created, errors = asyncio.run(_fleet(s.url, s.info["key"], s.info["image_url"], n))
    c = s.counters
    req = c.get("requests", {})
    api = sum(v for k, v in req.items() if k in ("createTask", "recordInfo"))
    limited = int(c.get("rate_limited", 0))
    rate = api / elapsed
    share = limited / api * 100 if api else 0.0
    note = f"{n} tasks, {api} requests in {elapsed:.1f}s, created {created}"
    return [
        Row("fleet: sustained req/s vs limit R", rate, R, "/s", note=note),
        Row("fleet: 429 share of answers", share, 2.0, "%"),
        Row(
            "fleet: errors reaching the caller",
            float(len(errors)),
            0.0,
            "",
            note="; ".join(errors[:2]),
        ),
    ]
