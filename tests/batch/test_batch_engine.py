"""The batch engine on a fake client and a virtual clock: resume, ambiguity, budget, failures."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from apikley_kling import errors as E
from apikley_kling.batch import BatchRunner, Job, read_jobs
from apikley_kling.clock import VirtualClock
from apikley_kling.ledger import SqliteLedger
from apikley_kling.models import Task, TaskState
from apikley_kling.watch import Watch

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


class FakeTasks:
    def __init__(self, owner: FakeKling) -> None:
        self.o = owner

    def create(self, **kw: Any) -> Task:
        o = self.o
        with o.lock:
            o.creates.append(kw)
            prompt = kw["input"]["prompt"]
            if prompt in o.refuse:
                raise o.refuse[prompt]
            o.paid += 1
            tid = f"t{o.paid}"
            o.born[tid] = (o.clock.monotonic(), prompt)
            if prompt in o.lose_answer:
                o.lose_answer.discard(prompt)
                raise E.AmbiguousSubmit({"prompt": prompt}, "connection dropped after sending", sent_at=0.0)
        return Task(id=tid, state=TaskState.WAITING)

    def get(self, task_id: str) -> Task:
        o = self.o
        with o.lock:
            o.polls += 1
            o.poll_times.append(o.clock.monotonic())
            if task_id not in o.born:
                raise E.NotFoundError("no such task", task_id=task_id)
            born, prompt = o.born[task_id]
        age = o.clock.monotonic() - born
        if prompt in o.stuck:
            return Task(id=task_id, state=TaskState.GENERATING)
        if age < o.gen_time:
            return Task(id=task_id, state=TaskState.GENERATING if age > 1 else TaskState.QUEUING)
        if prompt in o.fail:
            return Task(id=task_id, state=TaskState.FAIL, fail_code="500", fail_msg="model error")
        return Task(id=task_id, state=TaskState.SUCCESS, result_urls=(f"https://cdn/{task_id}.mp4",))

    def watch(self, **kw: Any) -> Watch:
        return Watch(self.get, clock=self.o.clock, **kw)  # the SDK's watcher, over this fake's queries


class FakeFiles:
    def __init__(self, owner: FakeKling) -> None:
        self.o = owner

    def upload(self, path: Any, /, **kw: Any) -> str:
        with self.o.lock:
            self.o.uploads += 1
        return f"https://files/{Path(path).name}"


class FakeKling:
    price_book = None  # as Kling without price_book=: estimates by its card alone

    def __init__(self, clock: VirtualClock, gen_time: float = 40.0) -> None:
        self.clock = clock
        self.gen_time = gen_time
        self.lock = threading.Lock()
        self.creates: list[dict[str, Any]] = []
        self.born: dict[str, tuple[float, str]] = {}
        self.paid = 0
        self.polls = 0
        self.uploads = 0
        self.poll_times: list[float] = []
        self.refuse: dict[str, Exception] = {}
        self.lose_answer: set[str] = set()
        self.fail: set[str] = set()
        self.stuck: set[str] = set()
        self.tasks = FakeTasks(self)
        self.files = FakeFiles(self)

    def download(self, task: Task, path: Any, /, **kw: Any) -> Path:
        p = Path(path)
        p.write_bytes(b"mp4:" + task.id.encode())
        return p


def make_jobs(tmp_path: Path, prompts: list[str]) -> list[Job]:
    (tmp_path / "a.png").write_bytes(PNG)
    f = tmp_path / "jobs.jsonl"
    f.write_text("\n".join(json.dumps({"prompt": p, "image": "a.png"}) for p in prompts) + "\n")
    return read_jobs(f)


def run(client: FakeKling, jobs: list[Job], out: Path, **kw: Any) -> Any:
    kw.setdefault("concurrency", 3)
    return BatchRunner(client, jobs, out, clock=client.clock, **kw).run()  # type: ignore[arg-type]


def test_all_done_then_rerun_sends_nothing(tmp_path: Path) -> None:
    clock = VirtualClock()
    k = FakeKling(clock)
    jobs = make_jobs(tmp_path, [f"p{i}" for i in range(7)])
    out = tmp_path / "out"
    rep = run(k, jobs, out)
    assert rep.exit_code == 0 and rep.count("done") == 7
    assert k.paid == 7
    for r in rep.results:
        assert r.path and Path(r.path).read_bytes() == b"mp4:" + r.task_id.encode()
    polls = k.polls
    rep2 = run(k, jobs, out)
    assert rep2.count("done") == 7 and all(r.resumed for r in rep2.results)
    assert k.paid == 7 and k.polls == polls and k.uploads == 7


def test_concurrency_bounds_tasks_in_flight(tmp_path: Path) -> None:
    clock = VirtualClock()
    k = FakeKling(clock, gen_time=30)
    jobs = make_jobs(tmp_path, [f"p{i}" for i in range(9)])
    peak = 0
    running: set[str] = set()
    lock = threading.Lock()

    def on_event(ev: str, job: Job, info: dict[str, Any]) -> None:
        nonlocal peak
        with lock:
            if ev == "submitting":
                running.add(job.key)
                peak = max(peak, len(running))
            elif ev == "finished":
                running.discard(job.key)

    rep = run(k, jobs, tmp_path / "out", concurrency=2, on_event=on_event)
    assert rep.count("done") == 9
    assert peak == 2


def test_shared_poll_budget(tmp_path: Path) -> None:
    clock = VirtualClock()
    k = FakeKling(clock, gen_time=600)
    jobs = make_jobs(tmp_path, [f"p{i}" for i in range(40)])
    rep = run(k, jobs, tmp_path / "out", concurrency=40, polls_per_second=2.0)
    assert rep.count("done") == 40
    # Any 10-second window holds at most rate*10 + burst queries.
    times = sorted(k.poll_times)
    worst = max(sum(1 for t in times if s <= t < s + 10) for s in times)
    assert worst <= 2 * 10 + 2


def test_ambiguous_is_reported_and_only_resent_on_request(tmp_path: Path) -> None:
    clock = VirtualClock()
    k = FakeKling(clock)
    k.lose_answer = {"p1"}
    jobs = make_jobs(tmp_path, ["p0", "p1", "p2"])
    out = tmp_path / "out"
    rep = run(k, jobs, out)
    assert [r.outcome for r in rep.results] == ["done", "ambiguous", "done"]
    assert rep.exit_code == 6 and k.paid == 3
    rep = run(k, jobs, out)
    assert rep.results[1].outcome == "ambiguous" and k.paid == 3
    rep = run(k, jobs, out, resubmit_ambiguous=True)
    assert [r.outcome for r in rep.results] == ["done", "done", "done"]
    assert rep.resubmitted == 1 and k.paid == 4 and rep.exit_code == 0
    with SqliteLedger.in_dir(out) as led:
        assert led.get(jobs[1].key).attempts == 2  # type: ignore[union-attr]


def test_created_tasks_are_waited_on_not_recreated(tmp_path: Path) -> None:
    clock = VirtualClock()
    k = FakeKling(clock, gen_time=100)
    # Both stuck: job threads share the virtual clock, so a finite generation
    # time could end inside the 60 s deadline on one run and not on another.
    k.stuck = {"p0", "p1"}
    jobs = make_jobs(tmp_path, ["p0", "p1"])
    out = tmp_path / "out"
    rep = run(k, jobs, out, timeout=60)
    assert [r.outcome for r in rep.results] == ["timeout", "timeout"]
    assert rep.exit_code == 5 and k.paid == 2
    k.stuck = set()
    rep = run(k, jobs, out, timeout=600)
    assert [r.outcome for r in rep.results] == ["done", "done"]
    assert k.paid == 2 and len(k.creates) == 2


def test_failed_generation_is_final_and_not_retried(tmp_path: Path) -> None:
    clock = VirtualClock()
    k = FakeKling(clock)
    k.fail = {"bad"}
    jobs = make_jobs(tmp_path, ["ok", "bad"])
    out = tmp_path / "out"
    rep = run(k, jobs, out)
    assert [r.outcome for r in rep.results] == ["done", "failed"] and rep.exit_code == 1
    assert "model error" in (rep.results[1].error or "")
    rep = run(k, jobs, out)
    assert rep.results[1].outcome == "failed" and k.paid == 2


def test_credits_stop_the_run_and_unsent_jobs_retry_later(tmp_path: Path) -> None:
    clock = VirtualClock()
    k = FakeKling(clock)
    k.refuse = {"p0": E.InsufficientCreditsError("not enough credits")}
    jobs = make_jobs(tmp_path, ["p0", "p1", "p2", "p3"])
    out = tmp_path / "out"
    rep = run(k, jobs, out, concurrency=1)
    assert rep.exit_code == 4
    assert rep.results[0].outcome == "error" and rep.results[0].error_kind == "credits"
    assert [r.outcome for r in rep.results[1:]] == ["skipped"] * 3
    assert k.paid == 0
    with SqliteLedger.in_dir(out) as led:
        assert led.rows() == []  # nothing was paid, nothing is ambiguous
    k.refuse = {}
    rep = run(k, jobs, out)
    assert rep.count("done") == 4 and k.paid == 4


def test_plan_sends_nothing(tmp_path: Path) -> None:
    clock = VirtualClock()
    k = FakeKling(clock)
    k.lose_answer = {"p1"}
    jobs = make_jobs(tmp_path, ["p0", "p1", "p2"])
    out = tmp_path / "out"
    run(k, jobs, out)
    before = (k.paid, k.polls, k.uploads)
    plan = BatchRunner(k, jobs, out).plan()  # type: ignore[arg-type]
    assert [r.outcome for r in plan.results] == ["done", "ambiguous", "done"]
    assert (k.paid, k.polls, k.uploads) == before and plan.exit_code == 0
    assert plan.price_per_task is None


@pytest.mark.parametrize("n", [1, 5])
def test_unknown_task_in_ledger_is_an_error_not_a_hang(tmp_path: Path, n: int) -> None:
    clock = VirtualClock()
    k = FakeKling(clock)
    jobs = make_jobs(tmp_path, [f"p{i}" for i in range(n)])
    out = tmp_path / "out"
    with SqliteLedger.in_dir(out) as led:
        led.mark_submitting(jobs[0].key, jobs[0].line, jobs[0].raw)
        led.mark_created(jobs[0].key, "ghost")
    rep = run(k, jobs, out)
    assert rep.results[0].outcome == "error" and rep.results[0].error_kind == "input"
    assert rep.count("done") == n - 1


def test_dry_run_on_a_new_folder_creates_nothing(tmp_path: Path) -> None:
    k = FakeKling(VirtualClock())
    jobs = make_jobs(tmp_path, ["a", "b"])
    plan = BatchRunner(k, jobs, tmp_path / "fresh").plan()  # type: ignore[arg-type]
    assert [r.outcome for r in plan.results] == ["pending", "pending"]
    assert not (tmp_path / "fresh").exists()


def test_one_run_per_folder(tmp_path: Path) -> None:
    from apikley_kling.batch import FolderBusy, exclusive

    out = tmp_path / "out"
    out.mkdir()
    k = FakeKling(VirtualClock())
    jobs = make_jobs(tmp_path, ["a"])
    with exclusive(out), pytest.raises(FolderBusy):
        run(k, jobs, out)
    assert k.paid == 0
    assert run(k, jobs, out).count("done") == 1


def test_create_gets_the_model_its_input_and_uploaded_urls(tmp_path: Path) -> None:
    from apikley_kling import load_models

    k = FakeKling(VirtualClock())
    jobs = make_jobs(tmp_path, ["p0"])
    rep = run(k, jobs, tmp_path / "out")
    assert rep.count("done") == 1
    [sent] = k.creates
    assert sent["model"] == load_models().default == jobs[0].model
    assert sent["input"] == {"prompt": "p0"} and sent["callback_url"] is None
    assert sent["image"] == "https://files/a.png"  # the local file uploaded first, its URL in its place


def test_a_failed_upload_leaves_nothing_to_reconcile(tmp_path: Path) -> None:
    k = FakeKling(VirtualClock())
    jobs = make_jobs(tmp_path, ["p0", "p1"])
    out = tmp_path / "out"

    def refuse(path: Any, /, **kw: Any) -> str:
        raise E.ServerError("upload refused")

    k.files.upload = refuse  # type: ignore[method-assign]
    rep = run(k, jobs, out)
    assert [r.outcome for r in rep.results] == ["error", "error"] and rep.exit_code == 7
    assert k.paid == 0
    with SqliteLedger.in_dir(out) as led:
        assert led.rows() == []  # uploads come before the write-ahead row: nothing may have been paid
    k.files = FakeFiles(k)
    assert run(k, jobs, out).count("done") == 2 and k.paid == 2


def test_a_query_outage_is_ridden_out_until_the_deadline_and_the_task_left_to_resume(tmp_path: Path) -> None:
    """Queries that keep failing (transport errors) are retried, backing off, until the task's deadline, not
    given up after a few tries: a service outage costs no job. At the deadline the job is a timeout naming the
    last error, its row stays 'created', and a re-run waits on the same task instead of paying again."""
    k = FakeKling(VirtualClock())
    jobs = make_jobs(tmp_path, ["p0"])
    out = tmp_path / "out"
    real_get = k.tasks.get

    def down(task_id: str) -> Task:
        k.polls += 1
        raise E.TransportError("ReadTimeout while calling get_task_details", kind="ReadTimeout", task_id=task_id)

    k.tasks.get = down  # type: ignore[method-assign]
    rep = run(k, jobs, out, timeout=300)
    result = rep.results[0]
    assert result.outcome == "timeout" and result.task_id == "t1"
    assert "ReadTimeout" in (result.error or "") and "re-run" in (result.error or "")
    # Far more than the client's four retries, yet spaced out: the backoff caps at the policy's 30 s.
    assert 300 / 30 <= k.polls <= 40, k.polls
    with SqliteLedger.in_dir(out) as led:
        assert led.get(jobs[0].key).state == "created"  # type: ignore[union-attr]
    k.tasks.get = real_get  # type: ignore[method-assign]
    rep = run(k, jobs, out)
    assert rep.count("done") == 1 and k.paid == 1


def test_an_outage_shorter_than_the_deadline_loses_no_job(tmp_path: Path) -> None:
    k = FakeKling(VirtualClock())
    jobs = make_jobs(tmp_path, ["p0", "p1"])
    out = tmp_path / "out"
    real_get = k.tasks.get
    outage_ends = 120.0  # virtual seconds: two minutes of failing queries
    failed: list[str] = []

    def flaky(task_id: str) -> Task:
        if k.clock.monotonic() < outage_ends:
            failed.append(task_id)
            raise E.ServerError("HTTP 502", status=502, task_id=task_id)
        return real_get(task_id)

    k.tasks.get = flaky  # type: ignore[method-assign]
    rep = run(k, jobs, out, timeout=900)
    assert rep.count("done") == 2 and k.paid == 2, [r.error for r in rep.results]
    # A task met more failures in a row than the client's four retries would have allowed (which one depends on
    # how far the virtual clock ran before the second create: the other may have been created after the outage).
    assert max(failed.count(t) for t in set(failed)) > 5, failed


def test_a_stop_during_an_upload_sends_no_create_after_it(tmp_path: Path) -> None:
    """Ctrl-C or another thread's error while a job uploads: its create is not sent once the upload ends."""
    clock = VirtualClock()
    k = FakeKling(clock)
    jobs = make_jobs(tmp_path, ["a"])
    runner = BatchRunner(k, jobs, tmp_path / "out", clock=clock, concurrency=1)  # type: ignore[arg-type]
    plain = k.files.upload

    def upload_then_stop(path: Any, /, **kw: Any) -> str:
        url = plain(path, **kw)
        runner._state.abort()  # what Ctrl-C (or a failing thread) does while the upload is on the wire
        return url

    k.files.upload = upload_then_stop  # type: ignore[method-assign]
    report = runner.run()
    assert k.uploads == 1 and k.creates == [] and k.paid == 0
    assert [r.outcome for r in report.results] == ["skipped"]
    assert SqliteLedger.in_dir(tmp_path / "out").counts() == {}  # the claim undone: pending for a re-run
