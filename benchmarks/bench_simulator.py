"""Simulator: recordInfo requests per second over loopback vs a plain Starlette constant-body handler.

Both run in their own processes, served the same way (uvicorn, h11, a
thread, 127.0.0.1, TCP_NODELAY: see _server.py). Load comes from a third
process (benchmarks._load, raw keep-alive sockets), rounds alternating
between the two servers. Throughput: 16 connections back to back. Latency
at 200 concurrent connections, twice: closed loop (every client sends again
as soon as it is answered: the servers are saturated, so by Little's law the
latency is 200 / throughput, whatever the handler does) and open loop (the
200 clients together offer OPEN_RATE requests per second, well under either
server's capacity: the latency a service sees in use).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Any

from ._proc import served
from ._table import Row

OPEN_RATE = 1000.0  # requests/s offered by the 200 open-loop clients together


def _load(url: str, path: str, conc: int, total: int, rate: float = 0.0) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks._load", url, path, str(conc), str(total), "sk-sim-local", str(rate)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    if result["bad"]:
        raise RuntimeError(f"{result['bad']} non-200 answers from {url}")
    return result


def run(quick: bool) -> list[Row]:
    rounds = 3 if quick else 7
    total = 2000 if quick else 6000
    lat_total = 2000 if quick else 8000
    with served("sim", "--task") as sim, served("plain") as plain:
        paths = {
            "sim": (sim.url, f"/api/v1/jobs/recordInfo?taskId={sim.info['task_id']}"),
            "plain": (plain.url, "/api/v1/jobs/recordInfo"),
        }
        rps: dict[str, list[float]] = {"sim": [], "plain": []}
        p99: dict[str, list[float]] = {"sim": [], "plain": []}
        p99_open: dict[str, list[float]] = {"sim": [], "plain": []}
        for _ in range(rounds):
            for name, (url, path) in paths.items():
                rps[name].append(_load(url, path, 16, total)["rps"])
        for _ in range(max(1, rounds // 2)):
            for name, (url, path) in paths.items():
                p99[name].append(_load(url, path, 200, lat_total)["p99_ms"])
                p99_open[name].append(_load(url, path, 200, lat_total, OPEN_RATE)["p99_ms"])
    s, p = statistics.median(rps["sim"]), statistics.median(rps["plain"])
    ls, lp = statistics.median(p99["sim"]), statistics.median(p99["plain"])
    os_, op = statistics.median(p99_open["sim"]), statistics.median(p99_open["plain"])
    return [
        Row("simulator: recordInfo req/s vs plain", s, p, "/s", note=f"median of {rounds} rounds, 16 conns"),
        Row(
            "simulator: p99 at 200 clients, saturated",
            ls,
            lp,
            "ms",
            note="closed loop; reference = plain Starlette p99",
        ),
        Row(
            f"simulator: p99 at 200 clients, {OPEN_RATE:g}/s",
            os_,
            op,
            "ms",
            note="open loop; reference = plain Starlette p99",
        ),
    ]
