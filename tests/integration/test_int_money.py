"""Retry-After on the shared clock, and the money rules: one create call never makes two paid tasks."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest
from apikley_kling import AmbiguousSubmit, AsyncKling, Kling, TaskState
from apikley_kling.simulator import Money, Simulator

from .conftest import KEY, RecordingClock, async_client, png, sync_client

PNG = png(64, 48)


# ---------------------------------------------------------------------------
# 429 + Retry-After


@pytest.mark.parametrize("route", ["recordInfo", "createTask", "credit"])
def test_retry_after_is_honoured_sync(kling: Kling, sim: Simulator, clock: RecordingClock, route: str) -> None:
    url = kling.files.upload(PNG)
    task = kling.tasks.create("p", image_url=url)
    clock.sleeps.clear()
    sim.faults.add(route, "status_429", retry_after=17)
    before = clock.monotonic()
    if route == "recordInfo":
        assert kling.tasks.get(task.id).id == task.id
    elif route == "createTask":
        kling.tasks.create("p", image_url=url)
    else:
        kling.credits()
    assert clock.sleeps == [17.0]  # exactly what the service asked for, slept on the virtual clock
    assert clock.monotonic() - before == pytest.approx(17.0)
    assert sim.counters.faults_injected["status_429"] == 1
    assert sim.counters.tasks_created[KEY] == (2 if route == "createTask" else 1)


async def test_retry_after_is_honoured_async(akling: AsyncKling, sim: Simulator, clock: RecordingClock) -> None:
    task = await akling.tasks.create("p", image_url=await akling.files.upload(PNG))
    clock.sleeps.clear()
    sim.faults.add("recordInfo", "status_429", retry_after=23, times=2)
    assert (await akling.tasks.get(task.id)).id == task.id
    assert clock.sleeps == [23.0, 23.0]


def test_retry_after_inside_wait_is_cut_to_the_deadline(kling: Kling, sim: Simulator, clock: RecordingClock) -> None:
    """Gap 1 end to end: a 429 asking for 100 s during a 30 s wait ends at the deadline with TaskTimeout."""
    task = kling.tasks.create("p", image_url=kling.files.upload(PNG))
    start = clock.monotonic()
    sim.faults.add("recordInfo", "status_429", retry_after=100, times=1_000)
    from apikley_kling import RateLimitError, TaskTimeout

    with pytest.raises(TaskTimeout) as info:
        kling.tasks.wait(task.id, timeout=30)
    assert info.value.task_id == task.id
    assert isinstance(info.value.__cause__, RateLimitError)
    assert clock.monotonic() - start == pytest.approx(30)


# ---------------------------------------------------------------------------
# drop_after_record: recorded and paid, answer lost


def _tasks_by_prompt(sim: Simulator) -> Counter[str]:
    return Counter(json.loads(t.param)["input"]["prompt"] for t in sim.tasks())


def test_drop_after_record_once_is_ambiguous_with_the_body(kling: Kling, sim: Simulator) -> None:
    url = kling.files.upload(PNG)
    sim.faults.add("createTask", "drop_after_record", times=1)
    with pytest.raises(AmbiguousSubmit) as info:
        kling.tasks.create("a paid prompt", image_url=url, duration=5, cfg_scale=0.7)
    err = info.value
    assert err.request["input"]["prompt"] == "a paid prompt"
    assert err.request["input"]["image_url"] == url and err.request["input"]["cfg_scale"] == 0.7
    assert "Authorization" not in json.dumps(err.request) and KEY not in str(err) + repr(err.request)
    assert sim.counters.requests["createTask"] == 1  # not resent
    assert sim.counters.tasks_created[KEY] == 1  # the lost task exists and was paid
    (lost,) = sim.tasks()
    assert json.loads(lost.param) == err.request  # exactly the body that was sent


def test_drop_after_record_random_never_pays_twice_sync(make_sim: object, clock: RecordingClock) -> None:
    sim: Simulator = make_sim(seed=4, money=Money(credits=1e6))  # type: ignore[operator]
    sim.faults.add("createTask", "drop_after_record", probability=0.3)
    ok = ambiguous = 0
    with sync_client(sim) as kling:
        url = kling.files.upload(PNG)
        for i in range(50):
            prompt = f"create number {i}"
            try:
                task = kling.tasks.create(prompt, image_url=url)
            except AmbiguousSubmit as exc:
                ambiguous += 1
                assert exc.request["input"]["prompt"] == prompt and exc.request["input"]["image_url"] == url
            else:
                ok += 1
                assert sim.task(task.id).param and json.loads(sim.task(task.id).param)["input"]["prompt"] == prompt
    assert 0 < ambiguous < 50 and ok > 0  # the fault really fired, and not always
    assert sim.counters.tasks_created[KEY] == ok + ambiguous
    assert sim.counters.faults_injected["drop_after_record"] == ambiguous
    assert sim.counters.requests["createTask"] == 50  # nothing resent
    by_prompt = _tasks_by_prompt(sim)
    assert len(by_prompt) == 50 and max(by_prompt.values()) == 1


async def test_drop_after_record_random_never_pays_twice_async(make_sim: object) -> None:
    sim: Simulator = make_sim(seed=9, money=Money(credits=1e6))  # type: ignore[operator]
    sim.faults.add("createTask", "drop_after_record", probability=0.3)
    ok = ambiguous = 0
    async with async_client(sim) as kling:
        url = await kling.files.upload(PNG)
        for i in range(50):
            try:
                await kling.tasks.create(f"create number {i}", image_url=url)
            except AmbiguousSubmit as exc:
                ambiguous += 1
                assert exc.request["input"]["prompt"] == f"create number {i}"
            else:
                ok += 1
    assert 0 < ambiguous < 50
    assert sim.counters.tasks_created[KEY] == ok + ambiguous
    assert max(_tasks_by_prompt(sim).values()) == 1


# ---------------------------------------------------------------------------
# a connect-level failure: surely unsent, so a create is retried, and paid once


class ConnectFailsOnce(httpx.BaseTransport):
    """Raises httpx.ConnectError on the first createTask, then delegates to the simulator."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.failed = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/createTask") and not self.failed:
            self.failed += 1
            raise httpx.ConnectError("connection refused", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class AsyncConnectFailsOnce(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.failed = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/createTask") and not self.failed:
            self.failed += 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_create_retried_after_connect_error_pays_once_sync(sim: Simulator, clock: RecordingClock) -> None:
    transport = ConnectFailsOnce(sim.sync_transport())
    with sync_client(sim, transport=transport) as kling:
        task = kling.tasks.create("p", image_url=kling.files.upload(PNG))
        assert kling.tasks.wait(task.id).state is TaskState.SUCCESS
    assert transport.failed == 1 and len(clock.sleeps) >= 1
    assert sim.counters.requests["createTask"] == 1  # the failed attempt never reached the service
    assert sim.counters.tasks_created[KEY] == 1
    assert [t.task_id for t in sim.tasks()] == [task.id]


async def test_create_retried_after_connect_error_pays_once_async(sim: Simulator) -> None:
    transport = AsyncConnectFailsOnce(sim.async_transport())
    async with async_client(sim, transport=transport) as kling:
        task = await kling.tasks.create("p", image_url=await kling.files.upload(PNG))
    assert transport.failed == 1
    assert sim.counters.tasks_created[KEY] == 1 and [t.task_id for t in sim.tasks()] == [task.id]
