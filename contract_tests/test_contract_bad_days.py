"""The contract checker on a bad day: a server it does not control streams without end, drips, asks it to
sleep for years, sends escape sequences and lone surrogates, or cannot be reached at all.

Every server here is started by the test on 127.0.0.1 (`_hostile`); every run is bounded (a subprocess with a
hard timeout, or `finishes_within`), so that a bound that stops holding fails the test instead of hanging it.
No test sleeps or measures wall time: the checker's 429 waits go to a recording clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from apikley_kling.catalog import models
from apikley_kling.clock import VirtualClock
from apikley_kling.contract import _openapi, check_service
from apikley_kling.contract._bounds import BOUND_CHECK, RETRY_AFTER_MAX, retry_after
from apikley_kling.contract._findings import Tally, arrange
from apikley_kling.contract._fuzz import Settings, load_schema, run
from apikley_kling.contract._service import Service
from apikley_kling.contract._verdict import CHECKS, MINE

from . import _hostile
from ._hostile import finishes_within, json_answer

PLAIN = _openapi.plain_reads()[0]
QUERY = _openapi.task_link().target
ONE_READ = ["--operations", PLAIN.id, "--phases", "none"]


def _checker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """The packaged command in a subprocess (bytes: what a terminal would get); killed if it outlives `timeout`."""
    env = {**os.environ, "APIKLEY_API_KEY": "sk-bad-day"}
    env.pop("APIKLEY_CONTRACT_TASK_IDS", None)
    command = [sys.executable, "-m", "apikley_kling.contract", *args]
    return subprocess.run(command, capture_output=True, timeout=timeout, env=env)


def _failures(path: Path) -> list[str]:
    return [f.get("message") or "" for f in ET.parse(path).getroot().iter("failure")]


# ------------------------------------------------------------ row 5: an endless body


def test_an_endless_body_is_cut_at_the_cap_and_is_a_finding(tmp_path: Path) -> None:
    xml = tmp_path / "contract.xml"
    with _hostile.serve(_hostile.endless_chunked()) as url:
        done = _checker("--base-url", url, *ONE_READ, "--max-answer-bytes", "65536", "--junit-xml", str(xml))
    out = done.stdout.decode()
    assert done.returncode == 1, out + done.stderr.decode()
    assert "more than 65536 bytes" in out and BOUND_CHECK in out
    assert any("at most 65536 bytes" in m for m in _failures(xml))


def test_schemathesis_requests_are_held_to_the_same_cap() -> None:
    """Schemathesis sends through its own `requests` sessions: the cap holds there too (a finding, no hang)."""
    settings = Settings(base_url="", api_key="k", phases=("fuzzing",), operations=(PLAIN.id,), max_examples=1)
    tally = Tally()
    with _hostile.serve(_hostile.endless_chunked()) as url:
        settings.base_url = url
        finishes_within(60, lambda: run(load_schema(settings), tally, limits=(5.0, 65536)))
    bounded = [g for g in tally.groups() if g.check == BOUND_CHECK]
    assert bounded and PLAIN.label in bounded[0].operations, tally.groups()
    assert "more than 65536 bytes" in bounded[0].headline()
    roots = arrange(tally.groups(), [c.name for c in CHECKS], MINE)
    assert [r.check for r in roots] == [BOUND_CHECK], "what was judged on a cut answer is filed under the cut"


# ------------------------------------------------------------ row 6: a drip


def test_a_dripping_body_trips_the_request_timeout_in_all(tmp_path: Path) -> None:
    """One byte every 0.2 s never trips a per-read timeout of 1 s; the deadline over the exchange does."""
    with _hostile.serve(_hostile.drip(0.2)) as url:
        done = _checker("--base-url", url, *ONE_READ, "--request-timeout", "1", timeout=45)
    out = done.stdout.decode()
    assert done.returncode == 1, out + done.stderr.decode()
    assert "a whole answer within 1 s" in out and "not finished" in out


def test_headers_dripped_forever_are_no_answer_not_a_hang() -> None:
    tally = Tally()
    with (
        _hostile.serve(_hostile.drip(0.2, in_headers=True)) as url,
        Service(url, "k", tally, clock=VirtualClock(), timeout=1.0) as service,
    ):
        answer = finishes_within(30, lambda: service.call(PLAIN.id))
    assert answer is None
    assert any("no answer within 1 s" in e for e in tally.errors), tally.errors


# ------------------------------------------------------------ row 7: Retry-After


class _Recording(VirtualClock):
    def __init__(self) -> None:
        super().__init__()
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        super().sleep(seconds)


def _rate_limited(value: str) -> _hostile.Handler:
    def handler(method: str, path: str, conn: Any, stop: Any) -> None:
        json_answer(conn, {"code": 429, "msg": "slow down"}, 429, {"Retry-After": value})

    return handler


FAR = "Fri, 31 Dec 9999 23:59:59 GMT"


@pytest.mark.parametrize("value", ["inf", "999999999", "1e400", FAR, "nan", "-5", "soon", ""])
def test_retry_after_is_capped_and_never_crashes(value: str) -> None:
    clock = _Recording()
    with _hostile.serve(_rate_limited(value)) as url:
        settings = Settings(base_url=url, api_key="k", phases=(), operations=(PLAIN.id,))
        report = finishes_within(30, lambda: check_service(settings, clock=clock))
    assert clock.slept, "a 429 is waited out"
    assert all(0 <= s <= RETRY_AFTER_MAX for s in clock.slept), clock.slept
    assert report.exit_code in (0, 1, 2, 3)  # a verdict, not an OverflowError


READINGS = [
    *[("inf", RETRY_AFTER_MAX), ("1e999", RETRY_AFTER_MAX), (FAR, RETRY_AFTER_MAX), ("12", 12.0)],
    *[("nan", 3.0), ("-5", 3.0), ("soon", 3.0), (None, 3.0), ("Sun, 06 Nov 1994 08:49:37 GMT", 0.0)],
]


@pytest.mark.parametrize(("value", "expected"), READINGS)
def test_retry_after_reads_seconds_dates_and_garbage(value: str | None, expected: float) -> None:
    assert retry_after(value, now=VirtualClock().time(), fallback=3.0) == expected


def test_every_429_wait_of_a_run_fits_one_budget() -> None:
    clock, tally = _Recording(), Tally()
    with (
        _hostile.serve(_rate_limited("50")) as url,
        Service(url, "k", tally, clock=clock, retry_budget=120.0) as service,
    ):
        for _ in range(4):
            finishes_within(30, lambda: service.call(PLAIN.id))
    assert sum(clock.slept) == 120.0, clock.slept


# ------------------------------------------------------------ row 8: what the server says, printed


HOSTILE = "\x1b[2J\x1b]0;owned\x07\x00\x9b31m\x85\u202e\ud800"
# Raw, each as a terminal gets it in UTF-8: ESC, BEL, NUL, C1 CSI and NEL, RLO, and a lone surrogate.
RAW = [b"\x1b", b"\x07", b"\x00", "\x9b".encode(), "\x85".encode(), "\u202e".encode(), b"\xed\xa0\x80"]


def _hostile_answers(method: str, path: str, conn: Any, stop: Any) -> None:
    if path.startswith(QUERY.path):
        _hostile.answer(conn, 200, b"\x1b[31m\xff\xfe binary \x00\x07", {"Content-Type": "application/octet-stream"})
        return
    record = {"taskId": HOSTILE, "state": HOSTILE, "param": HOSTILE}
    json_answer(conn, {"code": 200, "msg": HOSTILE, "data": record})


def test_escapes_and_surrogates_reach_neither_terminal_nor_xml(tmp_path: Path) -> None:
    xml = tmp_path / "contract.xml"
    model = models().default
    with _hostile.serve(_hostile_answers) as url:
        done = _checker(
            "--base-url", url, "--phases", "none", "--models", model, "--no-create", "--junit-xml", str(xml)
        )
    assert done.returncode == 1, done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    for stream in (done.stdout, done.stderr):
        assert not [raw for raw in RAW if raw in stream], stream[-2000:]
        stream.decode("utf-8")  # strictly: nothing unencodable was written
    assert "(task " in done.stdout.decode(), "a create the spec refuses was accepted: its task id is shown"
    failures = _failures(xml)  # parses: the XML is well-formed
    assert failures and not any(raw.decode("utf-8", "ignore") in xml.read_text("utf-8") for raw in RAW[:5])


# ------------------------------------------------------------ row 9: a host that does not resolve


def test_an_unresolvable_host_ends_the_run_at_once_naming_host_and_cause(tmp_path: Path) -> None:
    """The README's nightly command against a name under .invalid (RFC 6761: it never resolves)."""
    xml = tmp_path / "contract.xml"
    done = _checker(
        "--base-url",
        "https://checker.invalid",
        "--no-create",
        "--task-id",
        "a-finished-task",
        "--strict",
        "--junit-xml",
        str(xml),
        "--rate-limit",
        "1/s",
        timeout=45,
    )
    err = done.stderr.decode()
    assert done.returncode == 2, done.stdout.decode() + err
    reached = [line for line in err.splitlines() if "could not reach checker.invalid" in line]
    assert len(reached) == 1 and "ConnectError" in reached[0], err
    errors = [e.get("message") or "" for e in ET.parse(xml).getroot().iter("error")]
    assert errors == [reached[0].split(": ", 1)[1]], errors


@pytest.mark.parametrize(
    ("option", "value"), [("--request-timeout", "inf"), ("--request-timeout", "0"), ("--max-answer-bytes", "-1")]
)
def test_a_limit_that_is_no_limit_is_refused(option: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    from apikley_kling import exit_codes
    from apikley_kling.contract import main

    # main(argv) returns the exit code (the Typer command's, as `kling contract-check` exits with it)
    assert main(["--base-url", "http://127.0.0.1:9", option, value]) == exit_codes.USAGE
    assert option in capsys.readouterr().err
