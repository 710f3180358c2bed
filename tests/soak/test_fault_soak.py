"""Fault soak: N tasks through an in-process simulator with ~20% of answers faulted, every kind.

Pass: no task lost (every task the simulator recorded is known to the caller,
as a returned id or as an AmbiguousSubmit that names its request), none paid
twice (the simulator's count of tasks per key == successful creates + the
ambiguous ones it recorded), and every call ends in a result or a typed
KlingError.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import apikley_kling as ak
from apikley_kling import Kling, VirtualClock
from apikley_kling.simulator import FAULT_KINDS, Money, Simulator, Timings
from apikley_kling.simulator._faults import TASK_KINDS

from .conftest import size

KEY = "sk-canary-soak-41d7e09a"  # a canary: it must show in no log line or error text
SHARE = 0.20


def _faulty_sim(clock: VirtualClock, videos: Any) -> Simulator:
    sim = Simulator(
        clock=clock,
        api_keys=(KEY,),
        external_images="placeholder",
        seed=5,
        video_cache=videos,
        money=Money(credits=1e9),
        timings=Timings(generation=lambda _d, rng: rng.uniform(20.0, 120.0)),
    )
    plan = {
        "createTask": list(FAULT_KINDS),
        "recordInfo": [k for k in FAULT_KINDS if k not in TASK_KINDS],
        "files": [k for k in FAULT_KINDS if k not in TASK_KINDS],
    }
    for route, kinds in plan.items():
        # Rules are drawn one after another: p each gives 1 - (1 - p)^k = SHARE overall.
        p = 1 - (1 - SHARE) ** (1 / len(kinds))
        for kind in kinds:
            sim.faults.add(route, kind, probability=p, delay=7.0, retry_after=2.0)
    return sim


def _prompt_of(param: str) -> str:
    return str(json.loads(param)["input"]["prompt"])


def test_fault_soak(tmp_path: Path, videos: Any, debug_log: io.StringIO) -> None:
    n = size(100, 1000)
    clock = VirtualClock()
    sim = _faulty_sim(clock, videos)
    created: dict[str, str] = {}  # prompt -> task id
    ambiguous: dict[str, ak.AmbiguousSubmit] = {}
    outcomes: dict[str, object] = {}
    untyped: list[BaseException] = []
    with Kling(
        api_key=KEY, base_url=sim.base_url, transport=sim.sync_transport(), clock=clock, rng=random.Random(9)
    ) as k:
        for i in range(n):
            prompt = f"soak job {i}"
            try:
                task = k.tasks.create(prompt, image_url="https://images.example/soak.png", duration=5)
            except ak.AmbiguousSubmit as exc:
                ambiguous[prompt] = exc
            except ak.KlingError as exc:
                outcomes[prompt] = exc
            except BaseException as exc:
                untyped.append(exc)
            else:
                created[prompt] = task.id
        downloads = 0
        for prompt, tid in created.items():
            try:
                outcomes[prompt] = done = k.tasks.wait(tid, timeout=900)
                if downloads < 10:  # a few downloads put the file route under faults too
                    k.download(done, tmp_path / f"{downloads}.mp4")
                    downloads += 1
            except ak.KlingError as exc:
                outcomes[prompt] = exc
            except BaseException as exc:
                untyped.append(exc)
    assert not untyped, [f"{type(e).__name__}: {e}" for e in untyped[:5]]

    recorded: dict[str, list[str]] = {}
    for task in sim.tasks():
        recorded.setdefault(_prompt_of(task.param), []).append(task.task_id)
    # Paid at most once per job, and the simulator's counter agrees.
    assert all(len(ids) == 1 for ids in recorded.values()), {p: ids for p, ids in recorded.items() if len(ids) > 1}
    recorded_ambiguous = [p for p in ambiguous if p in recorded]
    assert sim.counters.tasks_created[KEY] == len(created) + len(recorded_ambiguous)
    # Nothing lost: every recorded task is a returned id or the request of an AmbiguousSubmit.
    for prompt, ids in recorded.items():
        assert created.get(prompt) == ids[0] or prompt in ambiguous, prompt
    # Every AmbiguousSubmit carries what reconciling needs: the request as sent and when it was sent.
    for prompt, exc in ambiguous.items():
        assert exc.request["input"]["prompt"] == prompt
        assert exc.request["input"]["image_url"] == "https://images.example/soak.png"
        assert exc.request["model"]
        assert isinstance(exc.sent_at, float) and exc.sent_at <= clock.time()
        assert exc.reason
    # Every job reached an end: a task, a typed error, or an ambiguous submit.
    assert set(outcomes) | set(ambiguous) == {f"soak job {i}" for i in range(n)}
    # The faults did happen, of every kind, and at about the share asked for.
    injected = sim.counters.faults_injected
    assert set(injected) == set(FAULT_KINDS), set(FAULT_KINDS) - set(injected)
    requests = sum(sim.counters.requests.values())
    assert 0.12 < sum(injected.values()) / requests < 0.28
    # Most jobs still succeed: retries work (stuck, fail and ambiguous ones cannot).
    successes = sum(isinstance(v, ak.Task) for v in outcomes.values())
    print(
        f"created {len(created)} ambiguous {len(ambiguous)} recorded-ambiguous {len(recorded_ambiguous)} successes {successes} injected {dict(injected)}"
    )
    assert successes >= 0.6 * n
    # The key appears nowhere: not in DEBUG logs (ours, httpx's), not in any error or result.
    log = debug_log.getvalue()
    assert "HTTP Request" in log
    texts = [log, *(f"{v!s} {v!r}" for v in [*outcomes.values(), *ambiguous.values()])]
    assert not [t for t in texts if KEY in t]
