"""The SDKs our users already know, measured side by side with ours (benchmarks/requirements-peers.txt).

- Call overhead: one task query through Kling / AsyncKling, through runwayml's RunwayML /
  AsyncRunwayML (base_url pointed at the same served simulator, which answers runwayml's
  GET /v1/tasks/{id} in runwayml's shape: one GET, one JSON decode, as ours) and through raw
  httpx on each of the two routes, in rotating blocks of BLOCK calls. Each client's median is
  taken as a ratio to raw httpx on its own route; the row compares the two ratios.
- Waiting: see benchmarks/_peer_wait.py.
- Import: `import X` in a fresh interpreter, interleaved, the empty interpreter subtracted.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from . import _peer_wait
from ._peers import INSTALL, PEERS, version
from ._proc import served
from ._table import Row
from .bench_import import _run

BLOCK = 50
MISSING = f"not installed: {INSTALL}"


def _rotate(calls: dict[str, Callable[[], Any]], n: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in calls}
    for call in calls.values():
        for _ in range(20):  # warm: imports, connections, caches
            call()
    perf = time.perf_counter
    for _ in range(max(1, n // BLOCK)):
        for name, call in calls.items():
            out = times[name]
            for _ in range(BLOCK):
                t0 = perf()
                call()
                out.append(perf() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


async def _arotate(calls: dict[str, Callable[[], Awaitable[Any]]], n: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in calls}
    for call in calls.values():
        for _ in range(20):
            await call()
    perf = time.perf_counter
    for _ in range(max(1, n // BLOCK)):
        for name, call in calls.items():
            out = times[name]
            for _ in range(BLOCK):
                t0 = perf()
                await call()
                out.append(perf() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def _sync(url: str, key: str, tid: str, n: int, runway: bool) -> dict[str, float]:
    from apikley_kling import Kling

    ours = f"{url}/api/v1/jobs/recordInfo"
    with Kling(api_key=key, base_url=url) as kling, httpx.Client(headers={"Authorization": f"Bearer {key}"}) as raw:
        calls: dict[str, Callable[[], Any]] = {
            "ours": lambda: kling.tasks.get(tid),
            "httpx": lambda: raw.get(ours, params={"taskId": tid}).json(),
        }
        if not runway:
            return _rotate(calls, n)
        from runwayml import RunwayML

        with RunwayML(api_key=key, base_url=url, max_retries=0) as rw:
            calls["runwayml"] = lambda: rw.tasks.retrieve(tid)
            calls["httpx/runwayml"] = lambda: raw.get(f"{url}/v1/tasks/{tid}").json()
            return _rotate(calls, n)


async def _async(url: str, key: str, tid: str, n: int, runway: bool) -> dict[str, float]:
    from apikley_kling import AsyncKling

    ours = f"{url}/api/v1/jobs/recordInfo"
    async with (
        AsyncKling(api_key=key, base_url=url) as kling,
        httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as raw,
    ):

        async def plain(path: str, **params: str) -> Any:
            return (await raw.get(path, params=params)).json()

        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "ours": lambda: kling.tasks.get(tid),
            "httpx": lambda: plain(ours, taskId=tid),
        }
        if not runway:
            return await _arotate(calls, n)
        from runwayml import AsyncRunwayML

        async with AsyncRunwayML(api_key=key, base_url=url, max_retries=0) as rw:
            calls["runwayml"] = lambda: rw.tasks.retrieve(tid)
            calls["httpx/runwayml"] = lambda: plain(f"{url}/v1/tasks/{tid}")
            return await _arotate(calls, n)


def _overhead_rows(quick: bool) -> list[Row]:
    n = 300 if quick else 2000
    rw_version = version("runwayml")
    with served("sim", "--task") as s:
        url, key, tid = s.url, s.info["key"], s.info["task_id"]
        sync = _sync(url, key, tid, n, rw_version is not None)
        asy = asyncio.run(_async(url, key, tid, n, rw_version is not None))
    rows = []
    for shell, m in (("Kling", sync), ("AsyncKling", asy)):
        ours = m["ours"] / m["httpx"]
        name = f"peers overhead: {shell} vs runwayml, each / httpx"
        if rw_version is None:
            rows.append(Row(name, ours, 0.0, "x", note=f"runwayml {MISSING}"))
            continue
        theirs = m["runwayml"] / m["httpx/runwayml"]
        note = (
            f"runwayml {rw_version}; medians of {n} calls, blocks of {BLOCK}: ours {m['ours'] * 1e6:.0f}us vs "
            f"httpx {m['httpx'] * 1e6:.0f}us; runwayml {m['runwayml'] * 1e6:.0f}us vs httpx {m['httpx/runwayml'] * 1e6:.0f}us"
        )
        rows.append(Row(name, ours, theirs, "x", note=note))
    return rows


def _import_rows(quick: bool) -> list[Row]:
    n = 7 if quick else 25
    installed = {dist: v for dist in PEERS if (v := version(dist)) is not None}
    codes = {"ours": "import apikley_kling", "httpx": "import httpx", "empty": "pass"}
    codes |= {dist: f"import {PEERS[dist]}" for dist in installed}
    runs: dict[str, list[float]] = {k: [] for k in codes}
    for _ in range(n):
        for name, code in codes.items():
            runs[name].append(_run(code))
    base = statistics.median(runs["empty"])
    cost = {k: max(1e-6, statistics.median(v) - base) * 1000 for k, v in runs.items()}
    rows = []
    for dist in PEERS:
        name = f"peers import: apikley_kling vs {dist}"
        if dist not in installed:
            rows.append(Row(name, cost["ours"], 0.0, "ms", note=f"{dist} {MISSING}"))
            continue
        note = (
            f"{dist} {installed[dist]}; median of {n}; vs import httpx ({cost['httpx']:.0f}ms): "
            f"ours {cost['ours'] / cost['httpx']:.2f}x, {dist} {cost[dist] / cost['httpx']:.2f}x"
        )
        rows.append(Row(name, cost["ours"], cost[dist], "ms", note=note))
    return rows


def run(quick: bool) -> list[Row]:
    return _overhead_rows(quick) + _peer_wait.rows(quick) + _import_rows(quick)
