"""`kling ledger` and `--ledger`: the fleet's status, the URL from the environment, its password never shown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from apikley_kling.ledger import SqliteLedger

from ..cli_env import LIGHTHOUSE, CliEnv, OfflineCli


def _jobs(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "jobs.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"shot {i}", "image": str(LIGHTHOUSE)}) + "\n" for i in range(n)))
    return path


def _password(url: str) -> str:
    return url.split(":")[2].split("@")[0]


def test_status_of_a_sqlite_ledger_says_where_each_video_is(tmp_path: Path, kling_cli: CliEnv) -> None:
    jobs, out = _jobs(tmp_path, 2), tmp_path / "out"
    assert kling_cli("batch", str(jobs), "--out", str(out), "--json").exit_code == 0
    res = kling_cli("ledger", str(jobs), "--out", str(out), "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["counts"]["done"] == 2 and doc["counts"]["pending"] == 0
    with SqliteLedger.in_dir(out) as led:
        paths = sorted(str(r.path) for r in led.rows())
    assert sorted(j["file"] for j in doc["jobs"]) == paths and all(Path(p).exists() for p in paths)
    text = kling_cli("ledger", "--out", str(out)).stdout
    assert "2 done" in text and all(p in text for p in paths)


def test_status_from_the_environment_never_shows_the_password(
    tmp_path: Path, offline_cli: OfflineCli, pg_url: str
) -> None:
    jobs = _jobs(tmp_path, 3)
    res = offline_cli("ledger", str(jobs), env={"APIKLEY_LEDGER_URL": pg_url})
    assert res.exit_code == 0, res.stderr
    assert "0 done" in res.stdout and "3 pending" in res.stdout and "kling:***@" in res.stdout
    as_json = offline_cli("ledger", str(jobs), "--json", env={"APIKLEY_LEDGER_URL": pg_url})
    assert json.loads(as_json.stdout)["counts"]["pending"] == 3
    for r in (res, as_json):
        assert _password(pg_url) not in r.stdout + r.stderr
    assert offline_cli.requests == 0


def test_an_unreachable_ledger_is_one_line_without_the_password(offline_cli: OfflineCli) -> None:
    url = "postgresql://kling:hunter2-secret@127.0.0.1:1/kling"
    res = offline_cli("ledger", env={"APIKLEY_LEDGER_URL": url})
    assert res.exit_code == 2
    [line] = res.stderr.strip().splitlines()
    assert "cannot open the ledger postgresql://kling:***@127.0.0.1:1/kling" in line and "hunter2" not in line


def test_without_psycopg_the_postgres_ledger_names_the_extra(
    tmp_path: Path, offline_cli: OfflineCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what `import psycopg` meets when it is not installed
    url = "postgresql://kling:pw@127.0.0.1:5432/kling"
    for args in (("ledger",), ("batch", str(_jobs(tmp_path, 1)), "--out", str(tmp_path / "out"))):
        res = offline_cli(*args, env={"APIKLEY_LEDGER_URL": url})
        assert res.exit_code == 2, (args, res.stderr)
        [line] = res.stderr.strip().splitlines()
        assert 'pip install "apikley-kling[postgres]"' in line
    assert offline_cli.requests == 0


def test_a_ledger_that_is_no_url_is_refused(offline_cli: OfflineCli) -> None:
    res = offline_cli("ledger", "--ledger", "sqlite:///tmp/x")
    assert res.exit_code == 2 and "postgresql://" in res.stderr


def test_importing_the_sdk_or_the_ledger_loads_no_psycopg() -> None:
    code = "import sys, apikley_kling, apikley_kling.ledger, apikley_kling.batch; print('psycopg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
