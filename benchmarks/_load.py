"""A lean HTTP/1.1 keep-alive load generator (raw asyncio streams), run in its own process.

    python -m benchmarks._load URL PATH CONCURRENCY TOTAL [AUTH] [RATE]

`CONCURRENCY` clients, each on its own connection, send GETs until `TOTAL`
answers have arrived (a bounded count): back to back (closed loop), or with
RATE > 0 on a fixed schedule of RATE requests per second in all (open loop;
each latency counts from the request's scheduled time, so a late server is
not excused by the client waiting for it). Prints JSON: total, seconds, rps,
p50/p99 latency in ms and the count of non-200 answers. A raw client rather
than httpx: a Python httpx client costs more CPU per request than the
servers under test, and would measure itself.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit


async def _client(
    host: str,
    port: int,
    request: bytes,
    budget: list[int],
    lat: list[float],
    bad: list[int],
    schedule: tuple[float, float] | None = None,
) -> None:
    """schedule = (first send time, interval) for the open loop; None sends back to back."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        due = schedule[0] if schedule else 0.0
        while budget[0] > 0:
            budget[0] -= 1
            if schedule:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                t0, due = due, due + schedule[1]
            else:
                t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            if not head.startswith(b"HTTP/1.1 200"):
                bad[0] += 1
    finally:
        writer.close()


async def run(url: str, path: str, concurrency: int, total: int, auth: str, rate: float = 0.0) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {auth}\r\n"
        "Accept: */*\r\nUser-Agent: bench-load\r\n\r\n"
    ).encode()
    # warm-up: one request per connection is not counted
    budget = [concurrency]
    await asyncio.gather(*(_client(host, port, request, budget, [], [0]) for _ in range(concurrency)))
    budget = [total]
    lat: list[float] = []
    bad = [0]
    t0 = time.perf_counter()
    interval = concurrency / rate if rate > 0 else 0.0
    schedules = [(t0 + 0.05 + i * interval / concurrency, interval) if rate > 0 else None for i in range(concurrency)]
    await asyncio.gather(*(_client(host, port, request, budget, lat, bad, sched) for sched in schedules))
    elapsed = time.perf_counter() - t0
    lat.sort()
    return {
        "total": len(lat),
        "seconds": elapsed,
        "rps": len(lat) / elapsed,
        "p50_ms": lat[len(lat) // 2] * 1000,
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
        "bad": bad[0],
    }


def main() -> int:
    url, path, conc, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    auth = sys.argv[5] if len(sys.argv) > 5 else "sk-sim-local"
    rate = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    print(json.dumps(asyncio.run(run(url, path, conc, total, auth, rate))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
