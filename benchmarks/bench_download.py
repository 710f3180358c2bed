"""Download: `Kling.download` of a large file from the served simulator vs `curl -o /dev/null`.

The simulator (own process) holds an uploaded file of S bytes (and one of
S/2); its file route serves it. Rounds alternate SDK and curl on the same
URL. Throughput is bytes per wall second (median of rounds). Memory: the
Python heap peak while downloading (tracemalloc, separate runs so that
tracing does not slow the timed ones) and the sampled RSS growth, at S/2 and
at S: flat means the figure does not grow with the file.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

from ._proc import served
from ._table import Row

MB = 1024 * 1024


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class RssPeak:
    """Samples this process's RSS every 5 ms; `.growth` is the peak over the start."""

    def __enter__(self) -> RssPeak:
        self.start = self.peak = _rss()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth(self) -> int:
        return self.peak - self.start


def _sdk(kling: object, url: str, folder: Path, size: int) -> float:
    target = folder / "out.bin"
    t0 = time.perf_counter()
    path = kling.download(url, target)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - t0
    got = path.stat().st_size
    path.unlink()
    if got != size:
        raise RuntimeError(f"SDK downloaded {got} of {size} bytes")
    return size / elapsed


def _curl(curl: str, url: str, size: int, output: str = "/dev/null") -> float:
    t0 = time.perf_counter()
    out = subprocess.run([curl, "-s", "-o", output, "-w", "%{size_download}", url], capture_output=True, check=True)
    elapsed = time.perf_counter() - t0
    if int(float(out.stdout)) != size:
        raise RuntimeError(f"curl downloaded {out.stdout!r} of {size} bytes")
    return size / elapsed


def run(quick: bool) -> list[Row]:
    from apikley_kling import Kling

    size = (50 if quick else 200) * MB
    half = size // 2
    rounds = 3 if quick else 5
    curl = shutil.which("curl")
    with served("sim", "--big-bytes", str(half), "--big-bytes", str(size)) as s:
        urls = {int(k): v for k, v in s.info["big_urls"].items()}
        with (
            tempfile.TemporaryDirectory(prefix="kling-bench-") as tmp,
            Kling(api_key=s.info["key"], base_url=s.url) as kling,
        ):
            folder = Path(tmp)
            _sdk(kling, urls[half], folder, half)  # warm: connection, imports
            ours, ref, ref_file, rss = [], [], [], {half: 0, size: 0}
            for _ in range(rounds):
                for n in (half, size):
                    with RssPeak() as peak:
                        speed = _sdk(kling, urls[n], folder, n)
                    rss[n] = max(rss[n], peak.growth)
                    if n == size:
                        ours.append(speed)
                if curl:
                    ref.append(_curl(curl, urls[size], size))
                    ref_file.append(_curl(curl, urls[size], size, str(folder / "curl.bin")))
                    (folder / "curl.bin").unlink()
            heap = {}
            for n in (half, size):
                tracemalloc.start()
                _sdk(kling, urls[n], folder, n)
                heap[n] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
    o = statistics.median(ours) / MB
    r = statistics.median(ref) / MB if ref else 0.0
    rows = [
        Row(
            f"download {size // MB} MB: SDK vs curl",
            o,
            r,
            "MB/s",
            ratio_ok=None if ref else False,
            note=f"median of {rounds}" if ref else "curl not found",
        )
    ]
    if ref_file:
        rows.append(
            Row(
                "download: SDK vs curl -o file",
                o,
                statistics.median(ref_file) / MB,
                "MB/s",
                note="context: the SDK writes a file too, curl -o /dev/null does not",
            )
        )
    for label, figure in (("heap peak", heap), ("RSS growth", rss)):
        small, big = figure[half] / MB, figure[size] / MB
        flat = big <= small * 1.25 + 1.0
        rows.append(
            Row(
                f"download: {label} {size // MB} vs {half // MB} MB",
                big,
                small,
                "MB",
                ratio_ok=big < 32 and flat,
            )
        )
    return rows
