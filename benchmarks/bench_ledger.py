"""Ledger: 1, 2 and 4 `kling batch` workers sharing one PostgreSQL ledger and one budget of R requests/s.

A real PostgreSQL (initdb + pg_ctl in a temp dir, as tests/pg_server.py starts it) and,
for each fleet size, a served simulator limited to R requests/s per key (its own
process). Each worker is a `kling batch` process with the ledger's URL in its
environment and `--rate-limit R`: its client draws every request from the token
bucket in the ledger's database, so the fleet as a whole stays under R.

Figures, per fleet size: wall time (first start to last exit), the sustained rate
(the API requests the simulator saw / the span from the first claim to the last
video in the ledger), the share of 429 answers. Goals: with the budget binding
(4 workers) the rate is 0.9..1.0 R; 429s <= 2 % everywhere; wall time falls from 1
to 2 workers and does not rise after. Separately, in process: the ledger's own cost
per job (claim, created, path, done: the four transactions of a job), PostgreSQL
on loopback, against 5 ms.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._table import Row

R = 40.0
CONCURRENCY = 6  # per worker: one worker's demand (~15 req/s) is under R, four workers' is over it
KLING = str(Path(sys.executable).with_name("kling"))


def _upload_image(url: str, key: str) -> str:
    import io

    import httpx
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 200)).save(png, "PNG")
    r = httpx.post(
        f"{url}/file-upload/api/file-stream-upload",
        headers={"Authorization": f"Bearer {key}"},
        files={"file": ("bench.png", png.getvalue(), "image/png")},
        data={"uploadPath": "bench", "fileName": "bench.png"},
    )
    return str(r.json()["data"]["downloadUrl"])


def _rows(url: str) -> tuple[int, int]:
    """(jobs in the ledger, workers registered)."""
    from apikley_kling.ledger import PgLedger

    with PgLedger(url) as led:
        [(jobs,)] = led._query("SELECT count(*) FROM jobs")
        [(workers,)] = led._query("SELECT count(*) FROM workers")
    return int(jobs), int(workers)


def _fleet(url: str, workers: int, jobs: int, tmp: Path) -> dict[str, float]:
    """N workers on a fresh ledger against a simulator limited to R. The sustained rate is measured while every
    worker runs and jobs are still unclaimed (the simulator's counters, read in this process, at both ends)."""
    from apikley_kling.simulator import DEFAULT_API_KEY, Limits, Money, Simulator, Timings, VideoCache

    sim = Simulator(
        limits=Limits(rate=R),
        timings=Timings(waiting=0.1, queuing=0.2, generation=0.5),
        money=Money(credits=1e12),
        video_cache=VideoCache(),
    )
    with sim.serve(port=0) as sim_url:
        image = _upload_image(sim_url, DEFAULT_API_KEY)
        job_file = tmp / f"jobs{workers}.jsonl"
        job_file.write_text(
            "".join(json.dumps({"prompt": f"ledger bench {i}", "image": image}) + "\n" for i in range(jobs))
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("APIKLEY_")}
        env.update(APIKLEY_BASE_URL=sim_url, APIKLEY_API_KEY=DEFAULT_API_KEY, APIKLEY_LEDGER_URL=url)
        cmd = [KLING, "batch", str(job_file), "--json", "--concurrency", str(CONCURRENCY), "--poll-interval", "0.25"]
        cmd += ["--rate-limit", str(R), "--timeout", "300"]

        def api() -> int:
            return sum(v for k, v in sim.counters.requests.items() if k in ("createTask", "recordInfo"))

        t0 = time.monotonic()
        procs = [
            subprocess.Popen(
                [*cmd, "--out", str(tmp / f"w{workers}-{i}")],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(workers)
        ]
        window: list[tuple[float, int]] = []
        while any(p.poll() is None for p in procs):
            claimed, registered = _rows(url)
            if registered == workers and claimed > 0 and not window:
                window.append((time.monotonic(), api()))  # every worker is up and sending
            if claimed >= jobs and len(window) == 1:
                window.append((time.monotonic(), api()))  # nothing left to claim: demand falls from here
            time.sleep(0.05)
        wall = time.monotonic() - t0
        for p in procs:
            assert p.stderr is not None
            err = p.stderr.read()
            p.stderr.close()
            if p.returncode != 0:
                raise RuntimeError(f"a worker failed ({p.returncode}): {err[-2000:]}")
        total, limited = api(), sum(sim.counters.rate_limited.values())
    (t_a, n_a), (t_b, n_b) = window if len(window) == 2 else ((t0, 0), (t0 + wall, total))
    if t_b - t_a < 1.0:  # (quick form: every job was claimed before all workers were up) the whole run, then
        (t_a, n_a), (t_b, n_b) = (t0, 0), (t0 + wall, total)
    rate = (n_b - n_a) / (t_b - t_a) if t_b > t_a else 0.0
    return {
        "wall": wall,
        "rate": rate,
        "share": limited / total * 100 if total else 0.0,
        "api": total,
        "span": t_b - t_a,
    }


def _ledger_cost(url: str, n: int) -> float:
    """Seconds per job of the ledger's four transactions (what a worker adds to each job), PostgreSQL."""
    from apikley_kling.ledger import PgLedger

    with PgLedger(url) as led:
        led.register("/bench", lease=30)
        t0 = time.perf_counter()
        for i in range(n):
            key = f"k{i}"
            led.claim(key, i, {"prompt": key})
            led.mark_created(key, f"t{i}", attempt=1)
            led.note_path(key, f"/bench/{key}.mp4")
            led.mark_done(key, f"/bench/{key}.mp4")
        return (time.perf_counter() - t0) / n


def run(quick: bool) -> list[Row]:
    from tests.pg_server import PgServer  # `python -m benchmarks` runs from the checkout's root

    # The quick form shows that it runs (process start-up dominates its figures); the full form measures.
    jobs = 12 if quick else 160
    fleets = (1, 4) if quick else (1, 2, 4)
    results: dict[int, dict[str, float]] = {}
    with PgServer.start(fsync=True) as pg, tempfile.TemporaryDirectory(prefix="kling-bench-ledger-") as tmp:
        for n in fleets:
            results[n] = _fleet(pg.create_database(f"fleet{n}"), n, jobs, Path(tmp))
        cost = _ledger_cost(pg.create_database("cost"), 100 if quick else 500)
    rows: list[Row] = []
    for n in fleets:
        r = results[n]
        note = f"{jobs} jobs, {r['api']:.0f} requests, wall {r['wall']:.1f}s, rate over {r['span']:.1f}s"
        rows.append(Row(f"ledger: {n} worker(s) req/s vs budget R", r["rate"], R, "/s", note=note))
        rows.append(Row(f"ledger: {n} worker(s) 429 share", r["share"], 2.0, "%"))
    rows.append(
        Row(
            "ledger: 4 workers, budget binds: rate",
            results[4]["rate"],
            R,
            "/s",
        )
    )
    walls_in_order = [results[n]["wall"] for n in fleets]
    # Falling from one worker on, and not rising once the budget binds (10 % of noise allowed there).
    falls = walls_in_order[1] < walls_in_order[0] and all(
        b <= a * 1.1 for a, b in itertools.pairwise(walls_in_order[1:])
    )
    walls = ", ".join(f"{n}: {results[n]['wall']:.1f}s" for n in fleets)
    rows.append(
        Row(
            "ledger: wall 4 workers vs 1",
            results[4]["wall"],
            results[1]["wall"],
            "s",
            ratio_ok=falls,
            note=walls,
        )
    )
    rows.append(Row("ledger: cost per job (4 transactions)", cost * 1000, 5.0, "ms"))
    return rows
