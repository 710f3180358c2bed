"""`kling batch` end to end on an in-process simulator: validation, dry run, resume, ambiguity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apikley_kling import Model, exit_codes, load_models
from apikley_kling.ledger import SqliteLedger

from ..catalog_values import valid_input
from ..cli_env import LIGHTHOUSE, SIM_KEY, CliEnv, OfflineCli

CATALOG = load_models()
MODELS = list(CATALOG.values())
DEFAULT = CATALOG[CATALOG.default]


def jobs_file(tmp_path: Path, lines: list[object]) -> Path:
    p = tmp_path / "jobs.jsonl"
    p.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return p


def good_jobs(tmp_path: Path, n: int) -> Path:
    return jobs_file(tmp_path, [{"prompt": f"shot {i}", "image": str(LIGHTHOUSE)} for i in range(n)])


def test_bad_lines_reported_with_numbers_nothing_sent(kling_cli: CliEnv, tmp_path: Path) -> None:
    text = next(f for f in DEFAULT.fields if f.max_length is not None and f.file is None)
    choice = next(f for f in DEFAULT.fields if f.choices is not None)
    f = jobs_file(
        tmp_path,
        [
            {"prompt": "fine", "image": str(LIGHTHOUSE)},
            "{oops",
            {"prompt": "p", "image": str(LIGHTHOUSE), text.name: "x" * ((text.max_length or 0) + 1)},
            {"prompt": "p", "image": str(tmp_path / "missing.png")},
            {"prompt": "p", "image": str(LIGHTHOUSE), choice.name: "not-a-choice"},
        ],
    )
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "out"))
    assert r.exit_code == exit_codes.USAGE
    assert "Traceback" not in r.stderr
    for n in (2, 3, 4, 5):
        assert f"{f}:{n}: " in r.stderr
    assert f"{f}:1:" not in r.stderr
    assert "4 bad lines" in r.stderr.splitlines()[-1] and "nothing was sent" in r.stderr
    assert kling_cli.requests == 0
    assert not (tmp_path / "out" / "ledger.sqlite3").exists()


def test_dry_run_needs_no_key_and_sends_nothing(kling_cli: CliEnv, tmp_path: Path) -> None:
    f = good_jobs(tmp_path, 3)
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "out"), "--dry-run", "--json", env={"APIKLEY_API_KEY": None})
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["dry_run"] and doc["would_create"] == 3 and "estimate" in doc
    assert kling_cli.requests == 0
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "out"), "--dry-run", env={"APIKLEY_API_KEY": None})
    assert r.exit_code == 0 and "would create 3" in r.stdout


def test_run_then_rerun_is_idempotent(kling_cli: CliEnv, tmp_path: Path) -> None:
    f = good_jobs(tmp_path, 5)
    out = tmp_path / "out"
    r = kling_cli("batch", str(f), "--out", str(out), "--concurrency", "2", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["counts"] == {"done": 5}
    files = sorted(p.name for p in out.glob("*.mp4"))
    assert len(files) == 5
    assert kling_cli.sim.counters.tasks_created[SIM_KEY] == 5
    r = kling_cli("batch", str(f), "--out", str(out), "--json")
    assert r.exit_code == 0
    assert all(j["resumed"] for j in json.loads(r.stdout)["jobs"])
    assert kling_cli.sim.counters.tasks_created[SIM_KEY] == 5
    # plain summary
    r = kling_cli("batch", str(f), "--out", str(out))
    assert r.exit_code == 0 and "5 done" in r.stdout


def test_ambiguous_reported_then_resubmitted_on_request(kling_cli: CliEnv, tmp_path: Path) -> None:
    f = good_jobs(tmp_path, 4)
    out = tmp_path / "out"
    kling_cli.sim.faults.add("createTask", "drop_after_record", times=1)
    r = kling_cli("batch", str(f), "--out", str(out), "--concurrency", "1")
    assert r.exit_code == exit_codes.AMBIGUOUS
    assert "ambiguous" in r.stdout and "--resubmit-ambiguous" in r.stdout
    assert kling_cli.sim.counters.tasks_created[SIM_KEY] == 4
    r = kling_cli("batch", str(f), "--out", str(out), "--json")
    assert r.exit_code == exit_codes.AMBIGUOUS
    assert kling_cli.sim.counters.tasks_created[SIM_KEY] == 4
    r = kling_cli("batch", str(f), "--out", str(out), "--json", "--resubmit-ambiguous")
    assert r.exit_code == 0, r.stdout
    doc = json.loads(r.stdout)
    assert doc["resubmitted"] == 1 and doc["counts"] == {"done": 4}
    assert kling_cli.sim.counters.tasks_created[SIM_KEY] == 5
    with SqliteLedger.in_dir(out) as led:
        assert sorted(r.attempts for r in led.rows()) == [1, 1, 1, 2]


def test_failed_tasks_exit_1_and_timeouts_exit_5(kling_cli: CliEnv, tmp_path: Path) -> None:
    f = good_jobs(tmp_path, 2)
    kling_cli.sim.faults.add("createTask", "fail", times=1)
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "a"), "-c", "1", "--json")
    assert r.exit_code == exit_codes.FAILED
    assert json.loads(r.stdout)["counts"] == {"done": 1, "failed": 1}
    kling_cli.sim.faults.add("createTask", "stuck", times=1)
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "b"), "-c", "1", "--json", "--timeout", "120")
    assert r.exit_code == exit_codes.TIMEOUT
    assert json.loads(r.stdout)["counts"] == {"done": 1, "timeout": 1}


def test_no_credits_exit_4_and_nothing_ambiguous(kling_cli: CliEnv, tmp_path: Path) -> None:
    f = good_jobs(tmp_path, 3)
    # The balance check passes (the balance covers the estimate), then the service refuses the first create
    # with a 402 anyway (its own price differs, or the balance moved): the batch stops sending, nothing ambiguous.
    kling_cli.sim.faults.add("createTask", "http200_error", code=402, msg="Insufficient credits")
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "out"), "-c", "1", "--json")
    assert r.exit_code == exit_codes.CREDITS
    doc = json.loads(r.stdout)
    assert doc["counts"].get("ambiguous", 0) == 0 and doc["stopped"]
    assert kling_cli.sim.counters.requests["createTask"] == 1


def test_bad_key_exit_3(kling_cli: CliEnv, tmp_path: Path) -> None:
    f = good_jobs(tmp_path, 2)
    r = kling_cli("batch", str(f), "--out", str(tmp_path / "out"), env={"APIKLEY_API_KEY": "sk-nope-123456"})
    assert r.exit_code == exit_codes.AUTH
    assert "sk-nope-123456" not in r.stdout + r.stderr


def _model_lines(models: list[Model], folder: Path) -> list[dict[str, object]]:
    return [{"model": m.id, **valid_input(m, folder), "output": f"{i}.mp4"} for i, m in enumerate(models)]


def test_dry_run_checks_lines_of_every_model(offline_cli: OfflineCli, tmp_path: Path) -> None:
    lines = _model_lines(MODELS, tmp_path)
    bad = {**lines[-1], "output": "bad.mp4", "not_a_field": 1}
    f = jobs_file(tmp_path, [*lines, bad])
    r = offline_cli(
        "batch", str(f), "--out", str(tmp_path / "out"), "--dry-run", "--json", env={"APIKLEY_API_KEY": None}
    )
    assert r.exit_code == exit_codes.USAGE
    assert f"{f}:{len(lines) + 1}: {MODELS[-1].id}: not_a_field" in r.stderr and "1 bad line" in r.stderr
    f = jobs_file(tmp_path, lines)
    r = offline_cli(
        "batch", str(f), "--out", str(tmp_path / "out"), "--dry-run", "--json", env={"APIKLEY_API_KEY": None}
    )
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["would_create"] == len(MODELS) and [j["model"] for j in doc["jobs"]] == [m.id for m in MODELS]
    assert offline_cli.requests == 0


def _several() -> list[Model]:
    """The default model, a text-only one and another that takes an image: picked by what they are."""
    text = next(m for m in MODELS if m.image_field is None)
    image = next(m for m in MODELS if m.image_field is not None and m.id != CATALOG.default)
    return [DEFAULT, text, image]


@pytest.mark.parametrize("concurrency", ["1", "3"])
def test_run_lines_of_several_models(kling_cli: CliEnv, tmp_path: Path, concurrency: str) -> None:
    models = _several()
    f = jobs_file(tmp_path, _model_lines(models, tmp_path))
    out = tmp_path / "out"
    r = kling_cli("batch", str(f), "--out", str(out), "-c", concurrency, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["counts"] == {"done": len(models)}
    for job, m in zip(doc["jobs"], models, strict=True):
        assert job["model"] == m.id and Path(job["file"]).read_bytes()[4:8] == b"ftyp"
        sent = json.loads(kling_cli.sim.record(job["task_id"])["param"])
        assert sent["model"] == m.id
    assert kling_cli.sim.counters.tasks_created[SIM_KEY] == len(models)
    r = kling_cli("batch", str(f), "--out", str(out), "--json")  # resumed: nothing paid again
    assert r.exit_code == 0 and all(j["resumed"] for j in json.loads(r.stdout)["jobs"])
    assert kling_cli.sim.counters.tasks_created[SIM_KEY] == len(models)


def test_a_dry_run_streams_the_file(offline_cli: OfflineCli, tmp_path: Path) -> None:
    """A dry run keeps a few rows and the counts, not every job: a million-line file fits in memory."""
    import tracemalloc

    n = 1000
    f = jobs_file(tmp_path, [{"prompt": f"shot {i}", "image": "https://example.com/x.png"} for i in range(n)])
    (tmp_path / "warm").mkdir()
    warm = jobs_file(tmp_path / "warm", [{"prompt": "warm", "image": "https://example.com/x.png"}])
    offline_cli("batch", str(warm), "--out", str(tmp_path / "out"), "--dry-run")  # imports, the catalog, its schemas
    tracemalloc.start()
    try:
        r = offline_cli("batch", str(f), "--out", str(tmp_path / "out"), "--dry-run")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.exit_code == 0, r.stderr
    assert peak < 3_000_000, peak  # every job and its table row held at once: 5 MB here
    assert f"would create {n} task(s)" in r.stdout and "more job(s) (--json lists every one)" in r.stdout
    doc = json.loads(offline_cli("batch", str(f), "--out", str(tmp_path / "out"), "--dry-run", "--json").stdout)
    assert [j["line"] for j in doc["jobs"]] == list(range(1, n + 1)) and doc["would_create"] == n
    assert doc["counts"] == {"pending": n} and offline_cli.requests == 0
