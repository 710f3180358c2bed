"""Every simulator fault on every route the SDK uses ends in a result or a typed KlingError;
Retry-After is honoured on the shared virtual clock; a create is never paid twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apikley_kling import (
    AmbiguousSubmit,
    GenerationFailed,
    Kling,
    KlingError,
    ProtocolError,
    TaskState,
    TaskTimeout,
)
from apikley_kling.simulator import FAULT_KINDS, Simulator
from apikley_kling.simulator._faults import TASK_KINDS

from .conftest import KEY, async_client, png

PNG = png(64, 48)
# Routes the SDK calls (base64/url uploads are simulator extras the SDK never uses).
SDK_ROUTES = ("createTask", "recordInfo", "credit", "downloadUrl", "fileStreamUpload", "files")
OK = "ok"


def expected(route: str, kind: str) -> str | type[KlingError]:
    """What the SDK must end in after one fault: a result (OK) or this error type."""
    if route == "createTask":
        # A create is retried only when it surely never reached the service (429/455 refuse it);
        # any other lost or unreadable answer may hide a paid task: AmbiguousSubmit, never a resend.
        return {
            "status_429": OK,
            "status_455": OK,
            "slow": OK,
            "stuck": TaskTimeout,
            "fail": GenerationFailed,
        }.get(kind, AmbiguousSubmit)
    if kind == "malformed_json" and route != "files":
        return ProtocolError  # HTTP 200 with a cut body: not a transient failure, not retried
    # Queries, uploads and downloads are safe to repeat: the retry gets the normal answer.
    # (On /sim/files, http200_error and malformed_json are HTTP 200 bodies the download accepts as is.)
    return OK


CASES = [(r, k) for r in SDK_ROUTES for k in FAULT_KINDS if k not in TASK_KINDS or r == "createTask"]


def _finished(kling: Kling) -> Any:
    task = kling.tasks.create("p", image_url=kling.files.upload(PNG))
    return kling.tasks.wait(task.id)


@pytest.mark.parametrize(("route", "kind"), CASES)
def test_every_fault_ends_typed_sync(kling: Kling, sim: Simulator, route: str, kind: str, tmp_path: Path) -> None:
    done = _finished(kling) if route in ("recordInfo", "downloadUrl", "files") else None
    image_url = kling.files.upload(PNG) if route == "createTask" else None
    paid_before = sim.counters.tasks_created[KEY]
    sim.faults.add(route, kind, delay=5.0, retry_after=3.0)
    want = expected(route, kind)
    try:
        if route == "createTask":
            task = kling.tasks.create("p", image_url=image_url)
            result: object = kling.tasks.wait(task.id, timeout=120)
        elif route == "recordInfo":
            result = kling.tasks.get(done.id)
        elif route == "credit":
            result = kling.credits()
        elif route == "downloadUrl":
            result = kling.files.download_url(done.result_urls[0])
        elif route == "fileStreamUpload":
            result = kling.files.upload(PNG)
        else:
            result = kling.download(done, tmp_path / "v.mp4")
    except KlingError as exc:
        assert want is not OK and isinstance(exc, want), f"{route}/{kind}: got {exc!r}, want {want}"
    else:
        assert want is OK, f"{route}/{kind}: got {result!r}, want {want}"
        if route == "recordInfo":
            assert isinstance(result, type(done)) and result.state is TaskState.SUCCESS
    assert sim.counters.faults_injected[kind] == 1  # the fault really fired
    if route == "createTask":
        assert sim.counters.tasks_created[KEY] - paid_before <= 1  # never two paid tasks for one create


@pytest.mark.parametrize(("route", "kind"), CASES)
async def test_every_fault_ends_typed_async(sim: Simulator, route: str, kind: str, tmp_path: Path) -> None:
    async with async_client(sim) as kling:
        done = None
        if route in ("recordInfo", "downloadUrl", "files"):
            created = await kling.tasks.create("p", image_url=await kling.files.upload(PNG))
            done = await kling.tasks.wait(created.id)
        image_url = await kling.files.upload(PNG) if route == "createTask" else None
        paid_before = sim.counters.tasks_created[KEY]
        sim.faults.add(route, kind, delay=5.0, retry_after=3.0)
        want = expected(route, kind)
        try:
            if route == "createTask":
                task = await kling.tasks.create("p", image_url=image_url)
                result: object = await kling.tasks.wait(task.id, timeout=120)
            elif route == "recordInfo":
                assert done is not None
                result = await kling.tasks.get(done.id)
            elif route == "credit":
                result = await kling.credits()
            elif route == "downloadUrl":
                assert done is not None
                result = await kling.files.download_url(done.result_urls[0])
            elif route == "fileStreamUpload":
                result = await kling.files.upload(PNG)
            else:
                assert done is not None
                result = await kling.download(done, tmp_path / "v.mp4")
        except KlingError as exc:
            assert want is not OK and isinstance(exc, want), f"{route}/{kind}: got {exc!r}, want {want}"
        else:
            assert want is OK, f"{route}/{kind}: got {result!r}, want {want}"
    assert sim.counters.faults_injected[kind] == 1
    if route == "createTask":
        assert sim.counters.tasks_created[KEY] - paid_before <= 1
