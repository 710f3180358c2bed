"""`kling batch` and money: per-job estimates and the total in a dry run, `--max-credits` (a cap on what the
ledger shows the batch has spent), and the balance check before the first create. Every figure is read from
the bundled rate card; the simulator charges by the same card, so creates and the balance tell what was paid."""

from __future__ import annotations

import json
from pathlib import Path

from apikley_kling import exit_codes
from apikley_kling.ledger import SqliteLedger

from ..card_values import BY, CARD, UNPRICED, price
from ..catalog_values import valid_input
from ..cli_env import LIGHTHOUSE, SIM_KEY, CliEnv, OfflineCli

PRICE = price(BY.default)  # what a line that leaves the price-setting field out costs


def _jobs(tmp_path: Path, n: int, **extra: object) -> Path:
    p = tmp_path / "jobs.jsonl"
    lines = [{"prompt": f"shot {i}", "image": str(LIGHTHOUSE), **extra} for i in range(n)]
    p.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return p


def _spent(env: CliEnv) -> float:
    return env.sim.money.credits - env.sim.credits(SIM_KEY)


def _creates(env: CliEnv) -> int:
    return env.sim.counters.requests["createTask"]


def test_dry_run_prints_each_estimate_and_the_total(offline_cli: OfflineCli, tmp_path: Path) -> None:
    values = BY.choices or [BY.default]
    lines: list[dict[str, object]] = [
        {"prompt": f"shot {i}", "image": str(LIGHTHOUSE), BY.name: v} for i, v in enumerate(values)
    ]
    lines.append({"model": UNPRICED.id, **valid_input(UNPRICED, tmp_path), "output": "unpriced.mp4"})
    f = tmp_path / "jobs.jsonl"
    f.write_text("".join(json.dumps(x) + "\n" for x in lines))
    total = sum(price(v) for v in values)
    out = str(tmp_path / "out")
    r = offline_cli("batch", str(f), "--out", out, "--dry-run", "--json", env={"APIKLEY_API_KEY": None})
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [j["estimate"] for j in doc["jobs"]] == [price(v) for v in values] + ["unknown"]
    assert doc["estimate"] == {"credits": total, "unknown": 1, "at_least": True}
    r = offline_cli("batch", str(f), "--out", out, "--dry-run", env={"APIKLEY_API_KEY": None})
    assert r.exit_code == 0, r.stderr
    assert f"at least {total:g} credits" in r.stdout and "1 job(s) have an unknown price" in r.stdout
    rows = [x for x in r.stdout.splitlines() if "would create" in x and "│" in x]
    assert [x.split("│")[-2].strip() for x in rows] == [f"{price(v):g}" for v in values] + ["unknown"]
    assert offline_cli.requests == 0


def test_max_credits_stops_at_the_cap_and_a_rerun_pays_only_for_the_rest(kling_cli: CliEnv, tmp_path: Path) -> None:
    f, out = _jobs(tmp_path, 10), tmp_path / "out"
    r = kling_cli("batch", str(f), "--out", str(out), "-c", "3", "--max-credits", str(4.5 * PRICE), "--json")
    assert r.exit_code == exit_codes.SPEND, r.stderr
    doc = json.loads(r.stdout)
    assert doc["counts"] == {"done": 4, "over_cap": 6}  # every job accounted for: nothing failed, nothing lost
    assert _creates(kling_cli) == 4 and _spent(kling_cli) == 4 * PRICE == doc["spent"]
    over = [j for j in doc["jobs"] if j["outcome"] == "over_cap"]
    assert all("--max-credits" in j["error"] and j["estimate"] == PRICE for j in over)
    with SqliteLedger.in_dir(out) as led:  # the ledger holds the paid jobs only: the rest are still pending
        assert led.counts() == {"done": 4}
        assert {row.key for row in led} == {j["key"] for j in doc["jobs"] if j["outcome"] == "done"}
    # The cap holds across re-runs: the ledger's spend counts, so the same cap sends nothing more.
    r = kling_cli("batch", str(f), "--out", str(out), "--max-credits", str(4.5 * PRICE))
    assert r.exit_code == exit_codes.SPEND and _creates(kling_cli) == 4
    assert "6 job(s) over the cap" in r.stdout
    r = kling_cli("batch", str(f), "--out", str(out), "-c", "3", "--max-credits", str(10 * PRICE), "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["counts"] == {"done": 10}
    assert _creates(kling_cli) == 10 and _spent(kling_cli) == 10 * PRICE


def test_a_balance_that_cannot_pay_for_the_batch_sends_nothing(kling_cli: CliEnv, tmp_path: Path) -> None:
    f, out = _jobs(tmp_path, 10), tmp_path / "out"
    kling_cli.sim.set_credits(SIM_KEY, 3.5 * PRICE)
    r = kling_cli("batch", str(f), "--out", str(out))
    assert r.exit_code == exit_codes.CREDITS, r.stderr
    said = r.stderr.strip().splitlines()[-1]
    assert "not enough credits" in said and f"{10 * PRICE:g} credits" in said and f"{3.5 * PRICE:g}" in said
    assert "pays for 3 of them" in said and "nothing was sent" in said
    assert _creates(kling_cli) == 0 and kling_cli.sim.counters.requests["fileStreamUpload"] == 0
    assert kling_cli.sim.credits(SIM_KEY) == 3.5 * PRICE
    # Under a cap the check asks only for what the cap lets through.
    r = kling_cli("batch", str(f), "--out", str(out), "--max-credits", str(3 * PRICE), "--json")
    assert r.exit_code == exit_codes.SPEND and json.loads(r.stdout)["counts"] == {"done": 3, "over_cap": 7}


def test_run_what_it_can_runs_what_the_balance_pays_for(kling_cli: CliEnv, tmp_path: Path) -> None:
    f, out = _jobs(tmp_path, 10), tmp_path / "out"
    kling_cli.sim.set_credits(SIM_KEY, 3.5 * PRICE)
    r = kling_cli("batch", str(f), "--out", str(out), "-c", "2", "--run-what-it-can", "--json")
    assert r.exit_code == exit_codes.SPEND, r.stderr
    doc = json.loads(r.stdout)
    assert doc["counts"] == {"done": 3, "over_cap": 7}  # no 402: the balance was a cap
    assert any("pays for 3 of them" in n for n in doc["notes"])
    assert _creates(kling_cli) == 3 and kling_cli.sim.credits(SIM_KEY) == 0.5 * PRICE


def test_an_unknown_price_under_a_cap_is_refused_unless_allowed(kling_cli: CliEnv, tmp_path: Path) -> None:
    f = tmp_path / "jobs.jsonl"
    f.write_text(json.dumps({"model": UNPRICED.id, **valid_input(UNPRICED, tmp_path), "output": "u.mp4"}) + "\n")
    out = str(tmp_path / "out")
    r = kling_cli("batch", str(f), "--out", out, "--max-credits", "1000")
    assert r.exit_code == exit_codes.SPEND and "unknown price" in r.stderr and "nothing was sent" in r.stderr
    assert _creates(kling_cli) == 0
    r = kling_cli("batch", str(f), "--out", out, "--max-credits", "1000", "--allow-unknown-price", "--json")
    assert r.exit_code == 0, r.stderr
    assert _creates(kling_cli) == 1
    # Without a cap the balance check cannot tell for it, says so, and goes on.
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "out2"), "--json")
    assert r.exit_code == 0 and any("cannot tell" in n for n in json.loads(r.stdout)["notes"])


def test_the_cap_counts_what_other_workers_of_a_shared_ledger_create(tmp_path: Path, pg_url: str) -> None:
    from typing import Any

    from apikley_kling.batch import BatchRunner, Job
    from apikley_kling.clock import VirtualClock
    from apikley_kling.ledger import PgLedger

    from .test_batch_engine import FakeKling, make_jobs

    clock = VirtualClock()
    k = FakeKling(clock, gen_time=30)
    k.prices = CARD  # type: ignore[attr-defined]  # the fake prices by the bundled card, as Kling does
    jobs = make_jobs(tmp_path, [f"p{i}" for i in range(7)])
    extra = jobs.pop()  # a job of another file of the same batch, which only the other worker sends

    def create_elsewhere(ledger: PgLedger, job: Job) -> None:
        ledger.claim(job.key, job.line, job.raw)
        ledger.mark_created(job.key, f"t-{job.line}")
        ledger.mark_done(job.key, f"/elsewhere/{job.line}.mp4")

    with PgLedger(pg_url, clock=clock.time) as other, PgLedger(pg_url, clock=clock.time) as led:
        other.register("/elsewhere", lease=10_000)
        create_elsewhere(other, jobs[0])  # before the run: the other worker paid for one job

        def on_event(event: str, job: Job, info: dict[str, Any]) -> None:
            if event == "created" and led.get(extra.key) is None:  # during the run: one more, elsewhere
                create_elsewhere(other, extra)

        runner = BatchRunner(
            k,  # type: ignore[arg-type]
            jobs,
            tmp_path / "out",
            clock=clock,
            ledger=led,
            concurrency=1,
            on_event=on_event,  # type: ignore[arg-type]
            max_credits=3.5 * PRICE,
        )
        rep = runner.run()
        assert led.counts() == {"done": 3}
    # 1 before, 1 here, 1 elsewhere meanwhile: a second create here would have crossed the cap (4 > 3.5).
    assert k.paid == 1 and sorted(r.outcome for r in rep.results) == ["done"] * 2 + ["over_cap"] * 4
    assert rep.spent == 3 * PRICE and rep.exit_code == exit_codes.SPEND
