"""Every fault kind happens as configured; rate limiting answers 429 with Retry-After."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from apikley_kling.clock import VirtualClock
from apikley_kling.simulator import FAULT_KINDS, Limits, Simulator
from conftest import AUTH, CREATE, RECORD, create_body, upload

CREDIT = "/api/v1/chat/credit"


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("status_429", 429, 429), ("status_455", 455, 455), ("status_500", 500, 500), ("http200_error", 200, 500)],
)
def test_status_faults(sim: Simulator, client: httpx.Client, kind: str, status: int, code: int) -> None:
    sim.faults.add("credit", kind, retry_after=7.2)
    response = client.get(CREDIT)
    assert response.status_code == status
    assert response.json()["code"] == code
    if kind == "status_429":
        assert response.headers["retry-after"] == "8"
    assert client.get(CREDIT).json()["code"] == 200  # times=1 by default
    assert sim.counters.faults_injected[kind] == 1


def test_http200_error_with_chosen_code(sim: Simulator, client: httpx.Client) -> None:
    sim.faults.add("recordInfo", "http200_error", code=505, msg="Feature disabled")
    response = client.get(RECORD, params={"taskId": "x"})
    assert response.status_code == 200
    assert response.json() == {"code": 505, "msg": "Feature disabled", "data": None}


def test_html_502_and_malformed_json(sim: Simulator, client: httpx.Client) -> None:
    sim.faults.script("credit", ["html_502", "malformed_json", None])
    page = client.get(CREDIT)
    assert page.status_code == 502
    assert page.headers["content-type"].startswith("text/html")
    assert b"502 Bad Gateway" in page.content
    broken = client.get(CREDIT)
    assert broken.status_code == 200
    assert broken.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        broken.json()
    assert client.get(CREDIT).json()["code"] == 200


def test_slow_answers_wait_on_the_clock(sim: Simulator, client: httpx.Client, clock: VirtualClock) -> None:
    sim.faults.add("credit", "slow", delay=42.0)
    before = clock.monotonic()
    assert client.get(CREDIT).json()["code"] == 200
    assert clock.monotonic() - before == pytest.approx(42.0)


def test_drop_before_read_records_nothing(sim: Simulator, client: httpx.Client) -> None:
    url = upload(client)
    sim.faults.add("createTask", "drop_before_read")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(CREATE, json=create_body(url))
    assert sim.counters.tasks_created["sk-sim-local"] == 0
    assert sim.credits() == sim.money.credits


def test_drop_after_record_pays_but_loses_the_answer(sim: Simulator, client: httpx.Client) -> None:
    url = upload(client)
    sim.faults.add("createTask", "drop_after_record")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(CREATE, json=create_body(url))
    assert sim.counters.tasks_created["sk-sim-local"] == 1
    assert sim.credits() < sim.money.credits
    (task,) = sim.tasks()
    assert client.get(RECORD, params={"taskId": task.task_id}).json()["code"] == 200


async def test_async_transport_drops_too(sim: Simulator) -> None:
    sim.faults.add("recordInfo", "drop_before_read")
    async with httpx.AsyncClient(transport=sim.async_transport(), base_url=sim.base_url, headers=AUTH) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get(RECORD, params={"taskId": "x"})
        assert (await c.get(RECORD, params={"taskId": "x"})).json()["code"] == 404


def test_times_and_wildcard_route(sim: Simulator, client: httpx.Client) -> None:
    sim.faults.add("*", "status_500", times=3)
    codes = [client.get(CREDIT).json()["code"] for _ in range(2)]
    codes.append(client.get(RECORD, params={"taskId": "x"}).json()["code"])
    codes.append(client.get(RECORD, params={"taskId": "x"}).json()["code"])
    assert codes == [500, 500, 500, 404]


def test_probability_is_seeded_and_roughly_right(make_sim: Callable[..., Simulator]) -> None:
    runs = []
    for _ in range(2):
        sim = make_sim(seed=7)
        sim.faults.add("credit", "status_455", probability=0.25)
        with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
            runs.append([c.get(CREDIT).json()["code"] for _ in range(200)])
    assert runs[0] == runs[1]
    assert 25 <= runs[0].count(455) <= 75


def test_unknown_route_or_kind_or_misplaced_task_fault(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="unknown route"):
        sim.faults.add("nowhere", "status_500")
    with pytest.raises(ValueError, match="unknown fault kind"):
        sim.faults.add("credit", "status_418")
    with pytest.raises(ValueError, match="only applies to createTask"):
        sim.faults.add("recordInfo", "stuck")
    assert set(FAULT_KINDS) >= {"drop_before_read", "drop_after_record", "stuck", "fail", "slow"}


def test_file_route_faults(sim: Simulator, client: httpx.Client) -> None:
    url = upload(client)
    sim.faults.script("files", ["status_500", "drop_before_read"])
    assert client.get(url).status_code == 500
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(url)
    assert client.get(url).status_code == 200


def test_rate_limit_per_key_with_retry_after(make_sim: Callable[..., Simulator], clock: VirtualClock) -> None:
    sim = make_sim(api_keys=("sk-a", "sk-b"), limits=Limits(rate=2.0, burst=2.0))
    a = httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers={"Authorization": "Bearer sk-a"})
    b = httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers={"Authorization": "Bearer sk-b"})
    with a, b:
        assert [a.get(CREDIT).json()["code"] for _ in range(2)] == [200, 200]
        limited = a.get(CREDIT)
        assert limited.json()["code"] == 429
        assert limited.headers["retry-after"] == "1"
        assert b.get(CREDIT).json()["code"] == 200  # buckets are per key
        clock.advance(0.5)
        assert a.get(CREDIT).json()["code"] == 200
        assert a.get(CREDIT).json()["code"] == 429
    assert sim.counters.rate_limited == {"sk-a": 2}


def test_requests_are_counted_per_route(sim: Simulator, client: httpx.Client) -> None:
    client.get(CREDIT)
    client.get(CREDIT)
    client.get(RECORD)
    assert sim.counters.requests["credit"] == 2
    assert sim.counters.requests["recordInfo"] == 1
