"""Start benchmarks._server in a child process and stop it (it exits when its stdin closes)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any


class Served:
    def __init__(self, info: dict[str, Any], proc: subprocess.Popen[str]) -> None:
        self.info = info
        self.proc = proc
        self.counters: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return str(self.info["url"])


@contextlib.contextmanager
def served(kind: str, *args: str, timeout: float = 300.0) -> Iterator[Served]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._server", kind, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmarks._server {kind} did not start")
        s = Served(json.loads(line), proc)
        yield s
    finally:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        try:
            last = proc.stdout.readline()
            if last:
                s_counters = json.loads(last).get("counters", {})
                with contextlib.suppress(NameError):
                    s.counters = s_counters
            proc.wait(timeout=timeout)
        except Exception:
            proc.kill()
            proc.wait()
