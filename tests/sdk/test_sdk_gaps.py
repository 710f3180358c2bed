"""Regression tests for the gaps fixed after the first review: retry sleeps cut to a wait's deadline,
Retry-After on non-JSON answers, a lazy asyncio import, redaction on child loggers, download folders."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import apikley_kling as ak
import httpx
import pytest
import respx
from apikley_kling import AsyncKling, Kling

from .conftest import CANARY, CREDITS, QUERY, RESULT, UPLOAD, RecordingClock, mp4, ok, record

HTML_429 = "<html><body><h1>429 Too Many Requests</h1></body></html>"
HTML_503 = "<html><body><h1>503 Service Temporarily Unavailable</h1>nginx</body></html>"


# -- 1. retry sleeps inside wait() never pass the deadline ---------------------


def test_wait_retry_after_cut_to_deadline(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    mock.get(QUERY).mock(
        side_effect=[ok(record("t1", "generating"))]
        + [httpx.Response(429, json={"code": 429, "msg": "slow down"}, headers={"Retry-After": "100"})] * 10
    )
    with pytest.raises(ak.TaskTimeout) as info:
        kling.tasks.wait("t1", timeout=20)
    assert info.value.task_id == "t1"
    assert info.value.last is not None and info.value.last.state is ak.TaskState.GENERATING
    assert isinstance(info.value.__cause__, ak.RateLimitError)
    assert clock.monotonic() == pytest.approx(20)  # not 20 + 100
    assert all(s <= 20 for s in clock.sleeps)


def test_wait_backoff_cut_to_deadline(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    route = mock.get(QUERY).mock(return_value=httpx.Response(500, json={"code": 500, "msg": "down"}))
    with pytest.raises(ak.TaskTimeout) as info:
        kling.tasks.wait("t1", timeout=1.2)
    assert info.value.task_id == "t1" and info.value.last is None
    assert clock.monotonic() == pytest.approx(1.2)
    assert route.call_count >= 2  # it did retry while there was time


def test_wait_retry_within_deadline_still_retries(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    mock.get(QUERY).mock(
        side_effect=[
            httpx.Response(429, json={"code": 429}, headers={"Retry-After": "5"}),
            ok(record("t1", "success")),
        ]
    )
    assert kling.tasks.wait("t1", timeout=60).state is ak.TaskState.SUCCESS
    assert clock.sleeps == [5.0]


async def test_wait_retry_after_cut_to_deadline_async(
    akling: AsyncKling, mock: respx.MockRouter, clock: RecordingClock
) -> None:
    mock.get(QUERY).mock(
        return_value=httpx.Response(429, json={"code": 429}, headers={"Retry-After": "90"}),
    )
    with pytest.raises(ak.TaskTimeout) as info:
        await akling.tasks.wait("t9", timeout=30)
    assert info.value.task_id == "t9"
    assert clock.monotonic() == pytest.approx(30)


# -- 2. Retry-After on an HTML (non-JSON) answer ---------------------------------


def test_html_429_retry_after_honoured(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    mock.get(QUERY).mock(
        side_effect=[
            httpx.Response(429, text=HTML_429, headers={"Retry-After": "9", "Content-Type": "text/html"}),
            ok(record("t1", "success")),
        ]
    )
    assert kling.tasks.get("t1").state is ak.TaskState.SUCCESS
    assert clock.sleeps == [9.0]


def test_html_503_retry_after_honoured(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    mock.get(CREDITS).mock(side_effect=[httpx.Response(503, text=HTML_503, headers={"Retry-After": "4"}), ok(12.5)])
    assert kling.credits() == 12.5
    assert clock.sleeps == [4.0]


def test_html_retry_after_on_the_error_when_retries_run_out(mock: respx.MockRouter, clock: RecordingClock) -> None:
    mock.get(CREDITS).mock(return_value=httpx.Response(503, text=HTML_503, headers={"Retry-After": "6"}))
    with (
        Kling(api_key=CANARY, base_url="https://api.test.example", clock=clock, max_retries=1) as kling,
        pytest.raises(ak.ServerError) as info,
    ):
        kling.credits()
    assert info.value.retry_after == 6.0 and info.value.status == 503
    assert clock.sleeps == [6.0]


def test_html_429_on_upload_honoured(kling: Kling, mock: respx.MockRouter, clock: RecordingClock) -> None:
    from .test_sdk_transfer import upload_ok

    mock.post(UPLOAD).mock(side_effect=[httpx.Response(429, text=HTML_429, headers={"Retry-After": "7"}), upload_ok()])
    assert kling.files.upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64).startswith("https://")
    assert clock.sleeps == [7.0]


async def test_html_429_retry_after_honoured_async(
    akling: AsyncKling, mock: respx.MockRouter, clock: RecordingClock
) -> None:
    mock.get(QUERY).mock(
        side_effect=[
            httpx.Response(429, text=HTML_429, headers={"Retry-After": "11"}),
            ok(record("t1", "waiting")),
        ]
    )
    assert (await akling.tasks.get("t1")).state is ak.TaskState.WAITING
    assert clock.sleeps == [11.0]


def test_stale_headers_do_not_leak_into_the_next_answer(
    kling: Kling, mock: respx.MockRouter, clock: RecordingClock
) -> None:
    """Headers of an earlier (parsed) answer are not taken for a later HTML page's."""
    mock.get(CREDITS).mock(
        return_value=httpx.Response(200, json={"code": 200, "data": 1.0}, headers={"Retry-After": "77"})
    )
    mock.get(QUERY).mock(side_effect=[httpx.Response(502, text="<html>bad gateway</html>"), ok(record("t1"))])
    kling.credits()
    kling.tasks.get("t1")
    assert len(clock.sleeps) == 1 and clock.sleeps[0] < 77


# -- 3. `import apikley_kling` does not import asyncio ---------------------------


def test_import_does_not_load_asyncio() -> None:
    code = "import sys, apikley_kling\nprint('asyncio' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


async def test_clocks_still_sleep_async() -> None:
    clock = ak.VirtualClock()
    await clock.asleep(3)
    assert clock.monotonic() == 3
    await ak.SystemClock().asleep(0)


# -- 4. redaction holds on every logger under apikley_kling ----------------------


@pytest.mark.parametrize("name", ["apikley_kling.simulator", "apikley_kling.batch", "apikley_kling.x.y.z"])
def test_child_loggers_are_redacted(kling: Kling, caplog: pytest.LogCaptureFixture, name: str) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger(name).debug("oops: Bearer %s", CANARY)
    logging.getLogger(name).warning(f"inline oops: {CANARY}")
    assert len(caplog.records) == 2
    assert CANARY not in caplog.text and caplog.text.count("***") == 2
    for rec in caplog.records:
        assert CANARY not in rec.getMessage() and CANARY not in repr(rec.args)


VIDEO = mp4(300)


# -- 5. download creates the output's parent folders -----------------------------


def test_download_creates_parent_folders(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    mock.get(RESULT).respond(200, content=VIDEO)
    task = ak.Task.from_api(record("task_7", "success"))
    out = kling.download(task, tmp_path / "a" / "b" / "c.mp4")
    assert out == tmp_path / "a" / "b" / "c.mp4" and out.read_bytes() == VIDEO


def test_download_to_new_folder_with_trailing_separator(kling: Kling, mock: respx.MockRouter, tmp_path: Path) -> None:
    mock.get(RESULT).respond(200, content=VIDEO)
    task = ak.Task.from_api(record("task_8", "success"))
    out = kling.download(task, f"{tmp_path / 'new-dir'}/")
    assert out == tmp_path / "new-dir" / "task_8.mp4" and out.read_bytes() == VIDEO


async def test_download_creates_parent_folders_async(
    akling: AsyncKling, mock: respx.MockRouter, tmp_path: Path
) -> None:
    mock.get(RESULT).respond(200, content=VIDEO)
    out = await akling.download(RESULT, tmp_path / "x" / "y.mp4")
    assert out.read_bytes() == VIDEO


# -- 6. an envelope whose code is unusable, and placeholder keys -----------------


@pytest.mark.parametrize("code", [None, "oops", 12.5, True])
def test_envelope_without_usable_code_is_protocol_error(kling: Kling, mock: respx.MockRouter, code: object) -> None:
    mock.get(QUERY).mock(return_value=httpx.Response(200, json={"code": code, "msg": None}))
    with pytest.raises(ak.ProtocolError) as info:
        kling.tasks.get("t1")
    assert info.value.task_id == "t1"


def test_short_placeholder_key_does_not_blank_log_words(caplog: pytest.LogCaptureFixture) -> None:
    """A one-letter test key must not turn every "task" in the logs into "tas***"."""
    caplog.set_level(logging.DEBUG)
    Kling(api_key="k", base_url="https://api.test.example").close()
    logging.getLogger("apikley_kling").info("created task %s", "t1")
    assert "created task t1" in caplog.text
