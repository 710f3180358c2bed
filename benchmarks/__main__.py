"""Run every benchmark and print one table.

python -m benchmarks            # full forms
python -m benchmarks --quick    # the forms CI can afford
python -m benchmarks --only import,wait
python -m benchmarks --quick --json   # one JSON document instead of the table
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time

from ._table import Row, render

BENCHES = {
    "import": "benchmarks.bench_import",
    "overhead": "benchmarks.bench_overhead",
    "wait": "benchmarks.bench_wait",
    "fleet": "benchmarks.bench_fleet",
    "download": "benchmarks.bench_download",
    "simulator": "benchmarks.bench_simulator",
    "spec": "benchmarks.bench_spec",
    "ledger": "benchmarks.bench_ledger",
    "peers": "benchmarks.bench_peers",
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    chosen = [b for b in BENCHES if not args.only or b in args.only.split(",")]
    rows: list[Row] = []
    t0 = time.monotonic()
    for name in chosen:
        t = time.monotonic()
        rows += importlib.import_module(BENCHES[name]).run(args.quick)
        print(f"{name}: {time.monotonic() - t:.1f}s", file=sys.stderr, flush=True)
    mode = "quick" if args.quick else "full"
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )
    if args.json:
        doc = {"machine": machine, "mode": mode, "seconds": time.monotonic() - t0, "rows": [r.as_dict() for r in rows]}
        print(json.dumps(doc, indent=2))
        return 0
    print(f"machine: {machine}; {mode} run, {time.monotonic() - t0:.0f}s")
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
