"""The peers the benchmarks compare with (benchmarks/requirements-peers.txt), and the answers that
make their clients believe they talk to their own service: each peer's task, pending or done.

The peers are installed in the benchmark environment only; a missing one is reported as a row
saying "not installed" and one line on stderr saying how to install it, never left out.
"""

from __future__ import annotations

import importlib.metadata
import sys
from datetime import UTC, datetime
from typing import Any

INSTALL = "pip install -r benchmarks/requirements-peers.txt"
# distribution name -> module to import
PEERS = {"runwayml": "runwayml", "openai": "openai", "replicate": "replicate", "fal-client": "fal_client"}


def version(dist: str) -> str | None:
    """The installed version of `dist`, or None (and one line on stderr saying how to install it)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        print(f"peer {dist} not installed: {INSTALL}", file=sys.stderr, flush=True)
        return None


def _iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def runway_task(task_id: str, done: bool, created_ms: float = 1765187766581) -> dict[str, Any]:
    """runwayml's GET /v1/tasks/{id}: RUNNING, or SUCCEEDED with one output URL."""
    body: dict[str, Any] = {"id": task_id, "createdAt": _iso(created_ms)}
    if done:
        return {**body, "status": "SUCCEEDED", "cost": {"credits": 10}, "output": ["https://x.invalid/v.mp4"]}
    return {**body, "status": "RUNNING", "estimatedCost": {"credits": 10.0}, "progress": 0.5}


def openai_video(video_id: str, done: bool) -> dict[str, Any]:
    """openai's GET /v1/videos/{id}."""
    return {
        "id": video_id,
        "object": "video",
        "created_at": 1765187766,
        "model": "sora-2",
        "progress": 100 if done else 50,
        "seconds": "4",
        "size": "720x1280",
        "status": "completed" if done else "in_progress",
    }


def replicate_prediction(pid: str, done: bool) -> dict[str, Any]:
    """replicate's GET /v1/predictions/{id}."""
    return {
        "id": pid,
        "model": "owner/model",
        "version": "v1",
        "status": "succeeded" if done else "processing",
        "input": {},
        "output": ["https://x.invalid/v.mp4"] if done else None,
        "logs": "",
        "error": None,
        "metrics": {},
        "created_at": "2026-12-06T00:00:00Z",
        "urls": {},
    }


def fal_status(done: bool) -> dict[str, Any]:
    """fal's queue GET .../requests/{id}/status."""
    return {"status": "COMPLETED", "logs": None, "metrics": {}} if done else {"status": "IN_PROGRESS", "logs": None}
