"""End to end against the simulator: generate, the polling schedule, deadlines, failed tasks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import pytest
from apikley_kling import AsyncKling, GenerationFailed, Kling, TaskState, TaskTimeout
from apikley_kling.polling import poll_interval
from apikley_kling.simulator import Simulator, Timings

from .conftest import KEY, Edge, RecordingClock, async_client, record_requests, sync_client

DURATION = 5


def check_video(path: Path, seconds: int) -> None:
    assert path.read_bytes()[4:8] == b"ftyp"
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1280, 720)
        frames = sum(1 for _ in container.decode(stream))
        rate = float(stream.average_rate or stream.guessed_rate)
        assert frames / rate == pytest.approx(seconds, abs=0.1)
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(seconds, abs=0.2)


def test_generate_end_to_end_sync(kling: Kling, sim: Simulator, image_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "not" / "yet" / "there" / "clip.mp4"  # parent folders are created (gap 5)
    task = kling.generate("The light turns slowly", image=image_file, output=out, duration=DURATION)
    assert task.state is TaskState.SUCCESS and task.result_urls
    check_video(out, DURATION)
    assert sim.counters.tasks_created[KEY] == 1
    assert sim.counters.requests["fileStreamUpload"] == 1 and sim.counters.requests["createTask"] == 1
    assert sim.counters.requests["files"] == 1
    assert not list(out.parent.glob("*.part"))


async def test_generate_end_to_end_async(akling: AsyncKling, sim: Simulator, image_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "clip.mp4"
    task = await akling.generate("The light turns slowly", image=image_file, output=out, duration=DURATION)
    assert task.state is TaskState.SUCCESS
    check_video(out, DURATION)
    assert sim.counters.tasks_created[KEY] == 1


# ---------------------------------------------------------------------------
# the provider's schedule


def polls_to_reach(total: float, end: str) -> int:
    """Queries a wait makes until elapsed >= total, if every interval were the schedule's `end`."""
    rng = Edge(end)
    t, n = 0.0, 1  # the first query goes out at once
    while t < total:
        t += poll_interval(t, rng)
        n += 1
    return n


GENERATION = 200.0  # with waiting + queuing, every phase of the schedule is crossed


def schedule_sim(make_sim: Callable[..., Simulator]) -> tuple[Simulator, float]:
    sim = make_sim(timings=Timings(generation=GENERATION))
    return sim, sim.timings.waiting + sim.timings.queuing + GENERATION


def check_schedule(sim: Simulator, clock: RecordingClock, total: float, start: float, requests: int) -> None:
    assert polls_to_reach(total, "high") <= requests <= polls_to_reach(total, "low")
    # the wait ended at the first query after the task finished, not later than one interval past it
    ended = clock.monotonic() - start
    assert total <= ended <= total + poll_interval(total, Edge("high"))
    t = 0.0
    for slept in clock.sleeps:  # every sleep fits the phase it started in
        assert poll_interval(t, Edge("low")) <= slept <= poll_interval(t, Edge("high"))
        t += slept
    assert len(clock.sleeps) == requests - 1


def test_wait_follows_schedule_sync(make_sim: Callable[..., Simulator], clock: RecordingClock) -> None:
    sim, total = schedule_sim(make_sim)
    with sync_client(sim) as kling:
        task_id = kling.tasks.create("p", image_url=_upload(kling)).id
        clock.sleeps.clear()
        before, start = record_requests(sim), clock.monotonic()
        task = kling.tasks.wait(task_id)
    assert task.state is TaskState.SUCCESS
    check_schedule(sim, clock, total, start, record_requests(sim) - before)


async def test_wait_follows_schedule_async(make_sim: Callable[..., Simulator], clock: RecordingClock) -> None:
    sim, total = schedule_sim(make_sim)
    async with async_client(sim) as kling:
        url = await kling.files.upload(_png())
        task_id = (await kling.tasks.create("p", image_url=url)).id
        clock.sleeps.clear()
        before, start = record_requests(sim), clock.monotonic()
        task = await kling.tasks.wait(task_id)
    assert task.state is TaskState.SUCCESS
    check_schedule(sim, clock, total, start, record_requests(sim) - before)


def _png() -> bytes:
    from .conftest import png

    return png(64, 48)


def _upload(kling: Kling) -> str:
    return kling.files.upload(_png())


# ---------------------------------------------------------------------------
# stuck and failing tasks


def test_stuck_task_times_out_with_its_id_sync(kling: Kling, sim: Simulator, clock: RecordingClock) -> None:
    sim.faults.add("createTask", "stuck")
    task_id = kling.tasks.create("p", image_url=_upload(kling)).id
    start = clock.monotonic()
    with pytest.raises(TaskTimeout) as info:
        kling.tasks.wait(task_id, timeout=90)
    assert info.value.task_id == task_id and task_id in str(info.value)
    assert info.value.last is not None and info.value.last.state is TaskState.GENERATING
    assert clock.monotonic() - start == pytest.approx(90)


async def test_stuck_task_times_out_with_its_id_async(
    akling: AsyncKling, sim: Simulator, clock: RecordingClock
) -> None:
    sim.faults.add("createTask", "stuck")
    task_id = (await akling.tasks.create("p", image_url=await akling.files.upload(_png()))).id
    start = clock.monotonic()
    with pytest.raises(TaskTimeout) as info:
        await akling.tasks.wait(task_id, timeout=45)
    assert info.value.task_id == task_id
    assert clock.monotonic() - start == pytest.approx(45)


def test_failing_task_raises_generation_failed_sync(kling: Kling, sim: Simulator) -> None:
    sim.faults.add("createTask", "fail", fail_code="422", fail_msg="The image could not be animated")
    task_id = kling.tasks.create("p", image_url=_upload(kling)).id
    with pytest.raises(GenerationFailed) as info:
        kling.tasks.wait(task_id)
    err = info.value
    assert (err.task_id, err.fail_code, err.fail_msg) == (task_id, "422", "The image could not be animated")
    assert err.task is not None and err.task.state is TaskState.FAIL


async def test_failing_task_raises_generation_failed_async(akling: AsyncKling, sim: Simulator) -> None:
    sim.faults.add("createTask", "fail", fail_code="503", fail_msg="Model overloaded")
    task_id = (await akling.tasks.create("p", image_url=await akling.files.upload(_png()))).id
    with pytest.raises(GenerationFailed) as info:
        await akling.tasks.wait(task_id)
    assert (info.value.task_id, info.value.fail_code, info.value.fail_msg) == (task_id, "503", "Model overloaded")
