"""Text from the service (failMsg, states, ids) reaches the terminal escaped: no ESC, BEL or C1 character,
no bidi override, no rich markup, in every command that prints it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from apikley_kling import Kling
from apikley_kling.cli import _client as cli_client

from ..cli_env import LIGHTHOUSE, SIM_KEY, CliEnv

HOSTILE = "\x1b]0;TITLE\x07\x1b[2J\x85 \u202eevil [bold red]markup[/] \x9b31m"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # newline and tab are ours


def _clean(*texts: str) -> None:
    for text in texts:
        assert not RAW.search(text), repr(text)
        assert "[bold red]" not in text or "\\x1b" in text  # markup printed as text, never interpreted


def _failing_task(kling_cli: CliEnv) -> str:
    kling_cli.sim.faults.add("createTask", "fail", times=1, fail_msg=HOSTILE)
    k = Kling(api_key=SIM_KEY, **cli_client._overrides)
    try:
        return k.tasks.create("waves", image=LIGHTHOUSE).id
    finally:
        k.close()


def test_status_wait_and_download_escape_the_failure_message(kling_cli: CliEnv, tmp_path: Path) -> None:
    tid = _failing_task(kling_cli)
    wait = kling_cli("wait", tid)
    assert wait.exit_code != 0 and "TITLE" in wait.stderr
    status = kling_cli("status", tid)
    assert "TITLE" in status.stdout and "\\x1b" in status.stdout
    download = kling_cli("download", tid, "-o", str(tmp_path / "v.mp4"))
    assert download.exit_code != 0
    _clean(wait.stdout, wait.stderr, status.stdout, status.stderr, download.stdout, download.stderr)


def test_generate_escapes_the_failure_message(kling_cli: CliEnv, tmp_path: Path) -> None:
    kling_cli.sim.faults.add("createTask", "fail", times=1, fail_msg=HOSTILE)
    r = kling_cli("generate", "--prompt", "waves", "--image", str(LIGHTHOUSE), "-o", str(tmp_path / "v.mp4"))
    assert r.exit_code != 0 and "TITLE" in r.stderr
    _clean(r.stdout, r.stderr)


def test_batch_and_ledger_escape_the_failure_message(kling_cli: CliEnv, tmp_path: Path) -> None:
    kling_cli.sim.faults.add("createTask", "fail", times=1, fail_msg=HOSTILE)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"prompt": "waves", "image": str(LIGHTHOUSE)}) + "\n")
    out = tmp_path / "out"
    batch = kling_cli("batch", str(jobs), "--out", str(out))
    assert batch.exit_code != 0 and "TITLE" in batch.stdout + batch.stderr
    ledger = kling_cli("ledger", "--out", str(out))
    assert "TITLE" in ledger.stdout
    _clean(batch.stdout, batch.stderr, ledger.stdout, ledger.stderr)
