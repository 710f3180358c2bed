"""Waiting, ours vs each peer's own default waiter, on the same seeded tasks of 30..300 s.

Ours: bench_wait.sdk (Kling.tasks.wait_many on a virtual clock, the simulator in process). The
peers: their own default waiters, unchanged and with their default intervals (runwayml's
wait_for_task_output: 6 s +- 1.5 s, sleeping first; openai's videos.poll: 1 s unless the server
says otherwise; replicate's Prediction.wait: the client's poll_interval, 0.5 s; fal-client's
SyncRequestHandle.get: status every 0.1 s, then one result GET), each task driven alone through
respx (nothing leaves the process) on a virtual clock: `time.sleep` is patched while a peer
waits, to move that clock instead of sleeping (none of them takes a clock). Every task starts at
0 and is done at its span; queries per task count every request the waiter sends, detection
delay is the clock at return minus the span. The fixed-interval peers cost CPU in proportion to
their rate, so each runs on the first tasks of the same list, up to BUDGET queries (the row says
how many).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

from . import _peers
from ._peers import INSTALL, version
from ._table import Row

BUDGET = {True: 6_000, False: 40_000}  # quick, full: queries per peer
INTERVAL = {"runwayml": 6.0, "openai": 1.0, "replicate": 0.5, "fal-client": 0.1}  # their defaults, to size the run


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.done_at = 0.0
        self.queries = 0

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)

    def answer(self, body: Callable[[bool], dict[str, Any]]) -> Any:
        import httpx

        def side_effect(request: httpx.Request) -> httpx.Response:
            self.queries += 1
            return httpx.Response(200, json=body(self.now >= self.done_at))

        return side_effect


def _runwayml(router: Any, clock: _Clock) -> Callable[[str], object]:
    from runwayml import RunwayML
    from runwayml.lib import polling

    client = RunwayML(api_key="k", base_url="http://runwayml.peer.invalid", max_retries=0)
    router.get(url__regex=r"/v1/tasks/").mock(side_effect=clock.answer(lambda d: _peers.runway_task("t", d)))
    polling.random = random.Random(7)  # type: ignore[attr-defined,assignment]  # its jitter, seeded

    def wait(tid: str) -> None:
        polling.inject_sync_wait_method(client, polling.NewTaskCreatedResponse(id=tid)).wait_for_task_output()

    return wait


def _openai(router: Any, clock: _Clock) -> Callable[[str], object]:
    import httpx2  # openai 3 sends through httpx2, which respx does not patch: its MockTransport instead
    from openai import OpenAI

    def answer(request: httpx2.Request) -> httpx2.Response:
        clock.queries += 1
        return httpx2.Response(200, json=_peers.openai_video("v", clock.now >= clock.done_at))

    http = httpx2.Client(transport=httpx2.MockTransport(answer))
    client = OpenAI(api_key="k", base_url="http://openai.peer.invalid/v1", max_retries=0, http_client=http)
    return lambda vid: client.videos.poll(vid)


def _replicate(router: Any, clock: _Clock) -> Callable[[str], object]:
    from replicate.client import Client

    client = Client(api_token="k", base_url="http://replicate.peer.invalid")
    router.get(url__regex=r"/v1/predictions/").mock(
        side_effect=clock.answer(lambda d: _peers.replicate_prediction("p", d))
    )
    # the first GET stands for the create's answer: a waiter starts from a prediction object
    return lambda pid: client.predictions.get(pid).wait()


def _fal(router: Any, clock: _Clock) -> Callable[[str], object]:
    import fal_client

    client = fal_client.SyncClient(key="k")
    router.get(url__regex=r"/requests/[^/]+/status").mock(side_effect=clock.answer(_peers.fal_status))
    router.get(url__regex=r"/requests/[^/]+$").mock(side_effect=clock.answer(lambda d: {"video": "v.mp4"}))
    return lambda rid: client.get_handle("fal-ai/peer", rid).get()


DRIVERS = {"runwayml": _runwayml, "openai": _openai, "replicate": _replicate, "fal-client": _fal}


def _drive(dist: str, spans: list[float]) -> tuple[float, float]:
    """Queries per task and mean detection delay / task time of `dist`'s waiter over `spans`."""
    import respx

    clock = _Clock()
    delays = []
    with respx.mock(assert_all_called=False) as router, mock.patch.object(time, "sleep", clock.sleep):
        wait = DRIVERS[dist](router, clock)
        for i, span in enumerate(spans):
            clock.now, clock.done_at = 0.0, span
            wait(f"task{i}")
            delays.append(max(0.0, clock.now - span) / span)
    return clock.queries / len(spans), statistics.mean(delays)


def _spans(n: int) -> list[float]:
    from apikley_kling.clock import VirtualClock

    from .bench_wait import _create, _sim

    sim = _sim(VirtualClock())
    return [sim.task(t).done_at - sim.task(t).created for t in _create(sim, n)]


def rows(quick: bool) -> list[Row]:
    from .bench_wait import sdk

    n = 60 if quick else 500
    spans = _spans(n)
    ours_q, ours_d, _ = sdk(n, callbacks=False)
    out = []
    for dist, interval in INTERVAL.items():
        q_name, d_name = (
            f"peers wait: queries/task, ours vs {dist}",
            f"peers wait: mean delay/task time, ours vs {dist}",
        )
        v = version(dist)
        if v is None:
            note = f"{dist} not installed: {INSTALL}"
            out += [Row(q_name, ours_q, 0.0, "", note=note), Row(d_name, ours_d * 100, 0.0, "%", note=note)]
            continue
        k = max(1, min(n, int(BUDGET[quick] * interval / statistics.mean(spans))))
        q, d = _drive(dist, spans[:k])
        note = f"{dist} {v}; ours on {n} tasks, {dist} on the first {k} of them"
        out += [Row(q_name, ours_q, q, "", note=note), Row(d_name, ours_d * 100, d * 100, "%")]
    return out
