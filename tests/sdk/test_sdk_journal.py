"""Durable creates in the user's own code: `Kling(journal=PATH)` and `generate(..., key=)`.

A script killed (SIGKILL) with its create in flight, or just after, is run again with the same key: no second
create is paid (counted by the simulator). The subprocess runs against a simulator served on 127.0.0.1 whose tasks
end at once; the re-runs and every other test run in-process on a VirtualClock, so nothing sleeps real seconds.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from apikley_kling import AmbiguousSubmit, AsyncKling, Kling, TaskTimeout, VirtualClock
from apikley_kling.errors import ConfigurationError
from apikley_kling.ledger import SqliteLedger
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator, Timings

from ..cli_env import videos

MODEL = "kling/v2-1-standard"
KEY = "shot-12"

# The script a user would write, with a transport that kills the process at one moment of its create.
SCRIPT = """
import os, signal, sys
import httpx
from apikley_kling import Kling

url, journal, out, moment, fields = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], eval(sys.argv[5])

class Killer(httpx.HTTPTransport):
    def handle_request(self, request):
        if moment == "after-created" and request.url.path.endswith("/recordInfo"):
            os.kill(os.getpid(), signal.SIGKILL)  # 'created' is written: the first query of the wait
        response = super().handle_request(request)
        if moment == "answer-arrived" and request.url.path.endswith("/createTask"):
            response.read()
            os.kill(os.getpid(), signal.SIGKILL)  # the answer is here, 'created' not yet written
        return response

with Kling(api_key=sys.argv[6], base_url=url, journal=journal, transport=Killer()) as kling:
    kling.generate(model=sys.argv[7], output=out, key=sys.argv[8], **fields)
"""


def _fields() -> dict[str, Any]:
    from apikley_kling.catalog import models

    return models()[MODEL].sample_input()


def _sim(**timings: float) -> Simulator:
    return Simulator(
        clock=VirtualClock(),
        timings=Timings(**timings) if timings else Timings.instant(),
        video_cache=videos(),
        external_images="placeholder",
    )


@pytest.fixture
def sim() -> Iterator[Simulator]:
    s = _sim()
    yield s
    s.close()


def _kling(sim: Simulator, journal: Path, transport: httpx.BaseTransport | None = None) -> Kling:
    return Kling(
        api_key=DEFAULT_API_KEY,
        base_url=sim.base_url,
        clock=sim.clock,
        transport=transport or sim.sync_transport(),
        journal=journal,
    )


def _creates(sim: Simulator) -> int:
    return sim.counters.tasks_created[DEFAULT_API_KEY]


def _is_video(path: Path) -> bool:
    with av.open(str(path)) as container:
        return len(container.streams.video) == 1 and container.duration is not None and container.duration > 0


def _row_state(journal: Path) -> str:
    with SqliteLedger(journal) as led:
        row = led.get(KEY)
    assert row is not None
    return row.state


def _killed_run(tmp_path: Path, url: str, moment: str, env: dict[str, str]) -> None:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    argv = [str(tmp_path / "journal.sqlite3"), str(tmp_path / "killed.mp4"), moment, repr(_fields())]
    cmd = [sys.executable, str(script), url, *argv, DEFAULT_API_KEY, MODEL, KEY]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_after_created_rerun_pays_nothing_and_writes_the_video(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    sim = _sim()
    journal, out = tmp_path / "journal.sqlite3", tmp_path / "shot-12.mp4"
    with sim.serve(port=0) as url:
        _killed_run(tmp_path, url, "after-created", subprocess_env)
        assert _creates(sim) == 1 and _row_state(journal) == "created"
        with SqliteLedger(journal) as led:
            paid = led.get(KEY).task_id  # type: ignore[union-attr]
        with Kling(api_key=DEFAULT_API_KEY, base_url=url, clock=VirtualClock(), journal=journal) as kling:
            task = kling.generate(model=MODEL, output=out, key=KEY, **_fields())
    assert _creates(sim) == 1  # the re-run waited on the task it had paid for
    assert task.id == paid
    assert _is_video(out) and _row_state(journal) == "done"


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_with_the_answer_unrecorded_is_ambiguous_and_resent_only_when_asked(
    tmp_path: Path, subprocess_env: dict[str, str]
) -> None:
    sim = _sim()
    journal, out = tmp_path / "journal.sqlite3", tmp_path / "shot-12.mp4"
    with sim.serve(port=0) as url:
        _killed_run(tmp_path, url, "answer-arrived", subprocess_env)
        assert _creates(sim) == 1 and _row_state(journal) == "submitting"
        with Kling(api_key=DEFAULT_API_KEY, base_url=url, clock=VirtualClock(), journal=journal) as kling:
            # The task id died with the process: nobody can know it, so nothing is sent behind the user's back.
            with pytest.raises(AmbiguousSubmit, match="resubmit_ambiguous=True"):
                kling.generate(model=MODEL, output=out, key=KEY, **_fields())
            assert _creates(sim) == 1 and _row_state(journal) == "ambiguous"
            kling.generate(model=MODEL, output=out, key=KEY, resubmit_ambiguous=True, **_fields())
    assert _creates(sim) == 2 and _is_video(out) and _row_state(journal) == "done"


def test_a_timeout_then_a_rerun_waits_on_the_same_task(tmp_path: Path) -> None:
    sim = _sim(waiting=1.0, queuing=2.0, generation=60.0)
    journal, out = tmp_path / "journal.sqlite3", tmp_path / "v.mp4"
    with _kling(sim, journal) as kling, pytest.raises(TaskTimeout) as timed_out:
        kling.generate(model=MODEL, output=out, key=KEY, timeout=10, **_fields())
    assert _row_state(journal) == "created" and not out.exists()
    with _kling(sim, journal) as kling:  # a new client, as a re-run of the script would make
        task = kling.generate(model=MODEL, output=out, key=KEY, timeout=600, **_fields())
    assert task.id == timed_out.value.task_id and _creates(sim) == 1
    assert _is_video(out) and _row_state(journal) == "done"


def test_ctrl_c_after_the_create_then_a_rerun_waits_on_the_same_task(tmp_path: Path, sim: Simulator) -> None:
    journal, out = tmp_path / "journal.sqlite3", tmp_path / "v.mp4"

    def interrupt(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/recordInfo"):
            raise KeyboardInterrupt
        return sim.sync_transport().handle_request(request)

    with _kling(sim, journal, httpx.MockTransport(interrupt)) as kling, pytest.raises(KeyboardInterrupt):
        kling.generate(model=MODEL, output=out, key=KEY, **_fields())
    with _kling(sim, journal) as kling:
        kling.generate(model=MODEL, output=out, key=KEY, **_fields())
    assert _creates(sim) == 1 and _is_video(out)


def test_a_lost_answer_is_ambiguous_on_rerun_and_resent_only_when_asked(tmp_path: Path, sim: Simulator) -> None:
    journal, out = tmp_path / "journal.sqlite3", tmp_path / "v.mp4"
    sim.faults.add("createTask", "drop_after_record", times=1)  # paid, then the connection closes
    with _kling(sim, journal) as kling:
        with pytest.raises(AmbiguousSubmit):
            kling.generate(model=MODEL, output=out, key=KEY, **_fields())
        assert _row_state(journal) == "ambiguous"
        with pytest.raises(AmbiguousSubmit, match=KEY):
            kling.generate(model=MODEL, output=out, key=KEY, **_fields())
        assert _creates(sim) == 1
        kling.generate(model=MODEL, output=out, key=KEY, resubmit_ambiguous=True, **_fields())
    assert _creates(sim) == 2 and _is_video(out)
    with SqliteLedger(journal) as led:
        row = led.get(KEY)
    assert row is not None and (row.state, row.attempts) == ("done", 2)


def test_a_refused_create_is_forgotten_and_sent_as_new(tmp_path: Path, sim: Simulator) -> None:
    journal, out = tmp_path / "journal.sqlite3", tmp_path / "v.mp4"
    sim.set_credits(DEFAULT_API_KEY, 0)  # 402: surely no task, nothing paid
    with _kling(sim, journal) as kling:
        with pytest.raises(Exception, match="credit"):
            kling.generate(model=MODEL, output=out, key=KEY, **_fields())
        with SqliteLedger(journal) as led:
            assert led.get(KEY) is None
        sim.set_credits(DEFAULT_API_KEY, 1e6)
        kling.generate(model=MODEL, output=out, key=KEY, **_fields())
    assert _creates(sim) == 1 and _row_state(journal) == "done"


def test_the_same_key_for_another_request_is_refused(tmp_path: Path, sim: Simulator) -> None:
    journal, out = tmp_path / "journal.sqlite3", tmp_path / "v.mp4"
    with _kling(sim, journal) as kling:
        first = kling.tasks.create(model=MODEL, key=KEY, **_fields())
        again = kling.tasks.create(model=MODEL, key=KEY, **_fields())
        assert again.id == first.id and _creates(sim) == 1
        other = {**_fields(), "prompt": "another shot"}
        with pytest.raises(ConfigurationError, match="another request"):
            kling.generate(model=MODEL, output=out, key=KEY, **other)
    assert _creates(sim) == 1 and not out.exists()


def test_a_key_without_a_journal_is_refused(sim: Simulator) -> None:
    kling = Kling(api_key=DEFAULT_API_KEY, base_url=sim.base_url, transport=sim.sync_transport())
    with kling, pytest.raises(ConfigurationError, match="journal="):
        kling.tasks.create(model=MODEL, key=KEY, **_fields())
    assert _creates(sim) == 0


def test_async_timeout_then_rerun_waits_on_the_same_task(tmp_path: Path) -> None:
    sim = _sim(waiting=1.0, queuing=2.0, generation=60.0)
    journal, out = tmp_path / "journal.sqlite3", tmp_path / "v.mp4"

    async def run(timeout: float) -> str:
        async with AsyncKling(
            api_key=DEFAULT_API_KEY,
            base_url=sim.base_url,
            clock=sim.clock,
            transport=sim.async_transport(),
            journal=journal,
        ) as kling:
            task = await kling.generate(model=MODEL, output=out, key=KEY, timeout=timeout, **_fields())
            return task.id

    with pytest.raises(TaskTimeout) as timed_out:
        asyncio.run(run(10))
    assert _row_state(journal) == "created"
    assert asyncio.run(run(600)) == timed_out.value.task_id
    assert _creates(sim) == 1 and _is_video(out) and _row_state(journal) == "done"


class ThreadNotingLedger(SqliteLedger):
    """A journal that notes the thread of every claim and transition."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.threads: set[int] = set()

    def claim(self, *args: Any, **kwargs: Any) -> Any:
        self.threads.add(threading.get_ident())
        return super().claim(*args, **kwargs)

    def mark_created(self, *args: Any, **kwargs: Any) -> None:
        self.threads.add(threading.get_ident())
        super().mark_created(*args, **kwargs)


def test_async_journal_work_is_off_the_loop_and_one_call_per_key(tmp_path: Path, sim: Simulator) -> None:
    ledger = ThreadNotingLedger(tmp_path / "journal.sqlite3")

    async def run() -> tuple[int, list[Any]]:
        async with AsyncKling(
            api_key=DEFAULT_API_KEY,
            base_url=sim.base_url,
            clock=sim.clock,
            transport=sim.async_transport(),
            journal=ledger,
        ) as kling:
            calls = [kling.tasks.create(model=MODEL, key=KEY, **_fields()) for _ in range(2)]
            return threading.get_ident(), await asyncio.gather(*calls, return_exceptions=True)

    loop_thread, outcomes = asyncio.run(run())
    ledger.close()
    assert ledger.threads and loop_thread not in ledger.threads
    refused = [o for o in outcomes if isinstance(o, ConfigurationError)]
    assert len(refused) == 1 and "in use" in str(refused[0]) and _creates(sim) == 1
