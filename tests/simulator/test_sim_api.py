"""The Simulator's own surface: configuration parts with their defaults in one place, the public methods the
routes call (and nothing private), refusals as exceptions, faults applied alike on every route."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable
from pathlib import Path

import apikley_kling.simulator
import httpx
import pytest
from apikley_kling.clock import VirtualClock
from apikley_kling.simulator import IN_PROCESS_URL, Limits, Money, Refused, Simulator, Timings
from conftest import AUTH, CREATE, DEFAULT, create_body, upload

PACKAGE = Path(apikley_kling.simulator.__file__).parent
CREDIT = "/api/v1/chat/credit"


def _private_uses(path: Path) -> list[str]:
    """`sim._x`, `self.sim._x`, `self._sim._x`: a private attribute read through a reference to a Simulator."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
            if name in ("sim", "_sim", "simulator"):
                found.append(f"{path.name}:{node.lineno}: {name}.{node.attr}")
    return found


def test_the_routes_and_the_server_use_only_the_public_api() -> None:
    assert _private_uses(PACKAGE / "_app.py") == []
    assert _private_uses(PACKAGE / "_serve.py") == []


def test_the_check_sees_a_private_use(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text("def f(sim, self):\n    sim._lock\n    self.sim._tasks\n    self._sim._servers\n")
    assert len(_private_uses(planted)) == 3


def test_defaults_live_in_the_parts() -> None:
    sim = Simulator()
    try:
        assert (sim.timings, sim.limits, sim.money) == (Timings(), Limits(), Money())
        assert sim.credits() == Money().credits
        assert sim.limits.base64_max_bytes > sim.limits.upload_max_bytes
        assert Timings.instant(fail_probability=0.5) == Timings(0.0, 0.0, 0.0, 0.5)
        with pytest.raises(dataclasses.FrozenInstanceError):
            sim.timings.waiting = 2.0  # type: ignore[misc]
    finally:
        sim.close()


def test_one_key_may_be_given_as_a_string() -> None:
    sim = Simulator(api_keys="sk-one")
    try:
        assert sim.api_keys == {"sk-one"}
    finally:
        sim.close()


def test_unknown_choices_are_refused_when_configured() -> None:
    with pytest.raises(ValueError, match="unknown callback mode"):
        Timings(callback_mode="sometimes")
    with pytest.raises(ValueError, match="external_images"):
        Simulator(external_images="fetch")


def test_a_part_replaced_on_a_running_simulator_applies(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim()
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        assert all(c.get(CREDIT).json()["code"] == 200 for _ in range(3))
        sim.limits = dataclasses.replace(sim.limits, rate=1.0, burst=1.0)
        assert [c.get(CREDIT).json()["code"] for _ in range(2)] == [200, 429]


def test_operations_refuse_with_the_service_code(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(money=Money(credits=1.0), limits=Limits(upload_max_bytes=10))
    with pytest.raises(Refused) as too_big:
        sim.store_upload("sk-sim-local", b"x" * 11, "images", "a.bin", None)
    assert (too_big.value.code, too_big.value.msg) == (422, "file: larger than 10 bytes")
    with pytest.raises(Refused) as poor:
        sim.create_task("sk-sim-local", DEFAULT, create_body("https://elsewhere.example/a.png"))
    assert poor.value.code == 422  # the foreign file is refused before any money is counted
    placeholder = make_sim(money=Money(credits=1.0), external_images="placeholder")
    with pytest.raises(Refused) as broke:
        placeholder.create_task("sk-sim-local", DEFAULT, create_body("https://elsewhere.example/a.png"))
    assert broke.value.code == 402 and placeholder.tasks() == []


def test_slow_on_the_files_route_waits_then_serves(sim: Simulator, client: httpx.Client, clock: VirtualClock) -> None:
    url = upload(client)
    sim.faults.add("files", "slow", delay=7.0)
    before = clock.monotonic()
    assert client.get(url).status_code == 200
    assert clock.monotonic() - before == pytest.approx(7.0)
    assert sim.counters.faults_injected["slow"] == 1 and sim.counters.requests["files"] == 1


def test_drop_after_record_drops_only_a_create_that_succeeded(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(money=Money(credits=1.0), external_images="placeholder")
    sim.faults.add("createTask", "drop_after_record")
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        answer = c.post(CREATE, json=create_body("https://elsewhere.example/a.png")).json()
    assert answer["code"] == 402  # nothing was recorded, so the answer is not lost
    assert sim.counters.faults_injected["drop_after_record"] == 1


def test_the_in_process_url_comes_back_after_two_servers(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim()
    with sim.serve(port=0) as first:
        with sim.serve(port=0) as second:
            assert sim.base_url == second != first
        assert sim.base_url == first  # the one still running
        assert httpx.get(f"{first}/api/v1/chat/credit", headers=AUTH).json()["code"] == 200
    assert sim.base_url == IN_PROCESS_URL and sim.servers == {}
