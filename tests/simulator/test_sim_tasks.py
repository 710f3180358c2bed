"""Tasks age on the injected clock; recordInfo answers in the provider's exact shape; credits are spent."""

from __future__ import annotations

import copy
import json
import random
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from apikley_kling.clock import VirtualClock
from apikley_kling.simulator import Money, Simulator, Timings, _state
from conftest import AUTH, CREATE, DEFAULT, RECORD, assert_matches_spec, create, create_body, record, upload

DURATIONS = DEFAULT.field("duration").choices
assert DURATIONS


def test_state_machine_on_the_virtual_clock(sim: Simulator, client: httpx.Client, clock: VirtualClock) -> None:
    created_at = clock.time()
    task_id = create(client, upload(client))
    seen = []
    for step in (0.0, sim.timings.waiting, sim.timings.queuing, 19.0, 1.0):
        sim.advance(step)
        response = client.get(RECORD, params={"taskId": task_id})
        assert_matches_spec(response)
        seen.append(response.json()["data"]["state"])
    assert seen == ["waiting", "queuing", "generating", "generating", "success"]
    data = record(client, task_id)
    total = sim.timings.waiting + sim.timings.queuing + 20.0
    assert data["createTime"] == round(created_at * 1000)
    assert data["completeTime"] == data["updateTime"] == round((created_at + total) * 1000)
    assert data["costTime"] == round(total * 1000)
    assert data["failCode"] is None and data["failMsg"] is None


def test_record_shape_while_running_and_after_success(sim: Simulator, client: httpx.Client) -> None:
    body = {
        **create_body(upload(client), duration=DURATIONS[-1]),
        "callBackUrl": "http://127.0.0.1:9/cb",
    }
    task_id = client.post(CREATE, json=body).json()["data"]["taskId"]
    running = record(client, task_id)
    assert set(running) == {
        "taskId",
        "model",
        "state",
        "param",
        "resultJson",
        "failCode",
        "failMsg",
        "costTime",
        "completeTime",
        "createTime",
        "updateTime",
    }
    assert running["state"] == "waiting"
    assert json.loads(running["param"]) == body  # the whole create request, as a JSON string
    assert running["resultJson"] == ""
    assert running["costTime"] is None and running["completeTime"] is None
    assert isinstance(running["createTime"], int)
    sim.advance(3600)
    done = record(client, task_id)
    assert done["state"] == "success"
    urls = json.loads(done["resultJson"])["resultUrls"]
    assert len(urls) == 1 and urls[0].endswith(".mp4") and urls[0].startswith(sim.base_url)


def test_failing_and_stuck_tasks(sim: Simulator, client: httpx.Client) -> None:
    url = upload(client)
    sim.faults.add("createTask", "fail", fail_code="422", fail_msg="image unsafe")
    failing = create(client, url)
    sim.faults.add("createTask", "stuck")
    stuck = create(client, url)
    normal = create(client, url)
    sim.advance(7 * 24 * 3600)
    failed = client.get(RECORD, params={"taskId": failing})
    assert_matches_spec(failed)
    data = failed.json()["data"]
    assert (data["state"], data["failCode"], data["failMsg"]) == ("fail", "422", "image unsafe")
    assert data["resultJson"] == "" and isinstance(data["completeTime"], int)
    assert record(client, stuck)["state"] == "generating"
    assert record(client, stuck)["completeTime"] is None
    assert record(client, normal)["state"] == "success"


def test_generation_time_can_be_a_distribution(make_sim: Callable[..., Simulator], clock: VirtualClock) -> None:
    sim = make_sim(
        timings=Timings(waiting=0.0, queuing=0.0, generation=lambda seconds, rng: rng.uniform(10, 100) * seconds)
    )
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        url = upload(c)
        ids = [create(c, url) for _ in range(20)]
        costs = [sim.task(t).done_at - sim.task(t).created for t in ids]
    assert len(set(costs)) == 20
    assert all(50 <= c <= 500 for c in costs)


def test_fail_probability_is_seeded(make_sim: Callable[..., Simulator]) -> None:
    outcomes = []
    for _ in range(2):
        sim = make_sim(seed=42, clock=VirtualClock(), timings=Timings(fail_probability=0.3))
        with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
            url = upload(c)
            ids = [create(c, url) for _ in range(40)]
            outcomes.append([sim.task(t).outcome for t in ids])
    assert outcomes[0] == outcomes[1]
    assert 3 <= outcomes[0].count("fail") <= 25


def test_thousands_of_tasks_cost_nothing_until_queried(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(money=Money(credits=1e9))
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        url = upload(c)
        body = create_body(url)
        for _ in range(300):
            assert c.post(CREATE, json=body).json()["code"] == 200
        sim.advance(10_000)  # no callbacks registered: nothing to do however many tasks there are
        assert sim.counters.tasks_created["sk-sim-local"] == 300
        assert sim.pending_callbacks() == 0
        task_id = random.Random(1).choice(sim.tasks()).task_id
        assert record(c, task_id)["state"] == "success"


def test_credits_are_spent_and_402_when_short(make_sim: Callable[..., Simulator]) -> None:
    short, long = DURATIONS[0], DURATIONS[-1]
    sim = make_sim(money=Money(credits=100.0, per_second=5.0))
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        url = upload(c)
        credit = c.get("/api/v1/chat/credit")
        assert_matches_spec(credit)
        assert credit.json() == {"code": 200, "msg": "success", "data": 100.0}
        create(c, url, duration=long)
        # What the card (or per_second, for a model without a price on it) says a create costs.
        cost = {d: sim.money.cost(DEFAULT, create_body(url, duration=d)["input"], int(d)) for d in (short, long)}
        assert c.get("/api/v1/chat/credit").json()["data"] == 100.0 - cost[long]
        while sim.credits() >= cost[short]:
            create(c, url, duration=short)
        before = sim.counters.tasks_created["sk-sim-local"]
        refused = c.post(CREATE, json=create_body(url, duration=short)).json()
        assert refused["code"] == 402
        assert sim.counters.tasks_created["sk-sim-local"] == before
        assert sim.counters.credits_spent["sk-sim-local"] == 100.0 - sim.credits()


@pytest.mark.parametrize("route", ["createTask", "recordInfo"])
def test_answers_match_the_spec(sim: Simulator, client: httpx.Client, route: str) -> None:
    url = upload(client)
    if route == "createTask":
        for body in (create_body(url), create_body(url, prompt="x" * (DEFAULT.field("prompt").max_length or 0) + "x")):
            assert_matches_spec(client.post(CREATE, json=body))
    else:
        for params in ({}, {"taskId": "nope"}):
            assert_matches_spec(client.get(RECORD, params=params))


def test_task_ids_stay_unique_while_the_clock_stands_still(make_sim: Callable[..., Simulator]) -> None:
    # Ids carry the create millisecond; on a clock that never moves, a thousand and more share it.
    sim = make_sim(money=Money(credits=1e9))
    ids: list[str] = []

    def create_many() -> None:
        with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
            body = create_body(upload(c))
            for _ in range(1100):
                ids.append(c.post(CREATE, json=body).json()["data"]["taskId"])

    worker = threading.Thread(target=create_many, daemon=True)
    worker.start()
    worker.join(timeout=120)  # a generator that cannot find a free id spins for ever, holding the lock
    assert not worker.is_alive(), f"stuck after {len(ids)} creates"
    assert len(set(ids)) == len(ids) == 1100
    assert all(t.startswith(f"task_kling_{round(sim.clock.time() * 1000)}") for t in ids)


def test_record_keys_follow_the_spec(sim: Simulator, client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # A property the spec adds to TaskRecord reaches clients: its example, else null while unknown.
    original = _state.component_schema

    def grown(name: str) -> dict[str, Any]:
        found = copy.deepcopy(original(name))
        if name == "TaskRecord":
            found["properties"]["futureNote"] = {"type": "string", "nullable": True}
            found["properties"]["futureCount"] = {"type": "integer", "example": 7}
        return found

    task_id = create(client, upload(client))
    before = record(client, task_id)
    spec = original("TaskRecord")["properties"]
    # Every key the simulator sends is the spec's; every nullable or exemplified spec key is sent.
    assert set(before) <= set(spec)
    assert {k for k, p in spec.items() if p.get("nullable") or "example" in p} <= set(before)
    monkeypatch.setattr(_state, "component_schema", grown)
    _state.record_keys.cache_clear()
    try:
        sim.advance(1.0)  # a new phase: the cached answer is rebuilt
        after = record(client, task_id)
    finally:
        monkeypatch.undo()
        _state.record_keys.cache_clear()
    assert (after["futureNote"], after["futureCount"]) == (None, 7)
    assert list(after)[: len(before)] == list(before)  # the spec's order; the known keys keep their values
    assert after["taskId"] == task_id and after["state"] == "queuing"
