"""Call overhead: `kling.tasks.get` vs raw httpx `.get()` + `.json()` on the same URL.

The simulator runs in its own process on 127.0.0.1; both clients keep one
connection alive and alternate in blocks of BLOCK calls, so noise on this
shared machine hits both alike. Figures are the median per-call latency.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx

from ._proc import served
from ._table import Row

BLOCK = 50


def _sync(url: str, key: str, task_id: str, n: int) -> tuple[float, float]:
    from apikley_kling import Kling

    ours: list[float] = []
    ref: list[float] = []
    path = f"{url}/api/v1/jobs/recordInfo"
    with (
        Kling(api_key=key, base_url=url) as kling,
        httpx.Client(headers={"Authorization": f"Bearer {key}"}) as raw,
    ):
        for _ in range(20):  # warm both: imports, connections, caches
            kling.tasks.get(task_id)
            raw.get(path, params={"taskId": task_id}).json()
        perf = time.perf_counter
        for _ in range(max(1, n // BLOCK)):
            for _ in range(BLOCK):
                t0 = perf()
                kling.tasks.get(task_id)
                ours.append(perf() - t0)
            for _ in range(BLOCK):
                t0 = perf()
                raw.get(path, params={"taskId": task_id}).json()
                ref.append(perf() - t0)
    return statistics.median(ours), statistics.median(ref)


async def _async(url: str, key: str, task_id: str, n: int) -> tuple[float, float]:
    from apikley_kling import AsyncKling

    ours: list[float] = []
    ref: list[float] = []
    path = f"{url}/api/v1/jobs/recordInfo"
    async with (
        AsyncKling(api_key=key, base_url=url) as kling,
        httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as raw,
    ):
        for _ in range(20):
            await kling.tasks.get(task_id)
            (await raw.get(path, params={"taskId": task_id})).json()
        perf = time.perf_counter
        for _ in range(max(1, n // BLOCK)):
            for _ in range(BLOCK):
                t0 = perf()
                await kling.tasks.get(task_id)
                ours.append(perf() - t0)
            for _ in range(BLOCK):
                t0 = perf()
                (await raw.get(path, params={"taskId": task_id})).json()
                ref.append(perf() - t0)
    return statistics.median(ours), statistics.median(ref)


def run(quick: bool) -> list[Row]:
    n = 300 if quick else 2000
    with served("sim", "--task") as s:
        url, key, tid = s.url, s.info["key"], s.info["task_id"]
        so, sr = _sync(url, key, tid, n)
        ao, ar = asyncio.run(_async(url, key, tid, n))
    note = f"median of {n} calls each, blocks of {BLOCK}"
    return [
        Row("overhead: Kling.tasks.get vs httpx", so * 1e6, sr * 1e6, "us", note=note),
        Row("overhead: AsyncKling.tasks.get vs httpx", ao * 1e6, ar * 1e6, "us", note=note),
    ]
