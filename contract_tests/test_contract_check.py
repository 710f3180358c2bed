"""The contract checker (`apikley_kling.contract`, and scripts/contract_check.py over it) against the simulator.

Runs here use the checker's own cases only (`--phases none`) unless a test is
about schemathesis: they are what catch drift, and they take a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from apikley_kling import exit_codes
from apikley_kling.catalog import models
from apikley_kling.clock import VirtualClock
from apikley_kling.contract import Settings, _openapi, check_service, main
from apikley_kling.contract._boundaries import LEFT_OUT, probes
from apikley_kling.contract._findings import Finding, Group, arrange
from apikley_kling.contract._report import junit
from apikley_kling.contract._verdict import CHECKS, MINE
from apikley_kling.simulator import DEFAULT_API_KEY, Money, Simulator, Timings, _validation

from scripts import contract_check as cc

from ._paths import ROOT
from .test_schemathesis_simulator import PLANTED, _lenient_maximum

MODELS = models()
QUICK = ["--phases", "none"]


def _served(**options: Any) -> Simulator:
    base: dict[str, Any] = {
        "clock": VirtualClock(),
        "money": Money(credits=1e9),
        "external_images": "placeholder",
        "timings": Timings.instant(),
    }
    return Simulator(**{**base, **options})


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIKLEY_API_KEY", DEFAULT_API_KEY)
    monkeypatch.delenv("APIKLEY_CONTRACT_TASK_IDS", raising=False)


def _states(out: str) -> dict[str, str]:
    """check name -> its report line's status word."""
    found: dict[str, str] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("ok", "FAIL", "NONE", "off"):
            found[parts[1]] = parts[0]
    return found


# ------------------------------------------------------------ the command


def test_passes_against_the_simulator_and_every_check_applies(
    key_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = _served(timings=Timings.instant(fail_probability=0.5), seed=3)
    with sim.serve(port=0) as url:
        code = main(["--base-url", url, *QUICK])
    out = capsys.readouterr().out
    assert code == 0, out
    states = _states(out)
    assert {c.name for c in CHECKS} <= set(states), out
    assert set(states.values()) == {"ok"}, out
    # Every model of the family was created, and both kinds of finished task were read.
    assert {t.model for t in sim.tasks()} == set(MODELS)
    assert {t.outcome for t in sim.tasks()} == {"success", "fail"}
    assert "PASSED" in out and "(exit 0)" in out


def test_the_script_is_the_same_command(key_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    with _served().serve(port=0) as url:
        code = cc.main(["--base-url", url, *QUICK, "--models", MODELS.default, "--no-create", "--strict"])
    assert code == exit_codes.NOT_EXERCISED, capsys.readouterr().out


def test_a_key_on_the_command_line_is_refused_and_files_work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("APIKLEY_API_KEY", raising=False)
    assert main(["--base-url", "http://127.0.0.1:9", "--api-key", DEFAULT_API_KEY]) == 2
    assert main(["--base-url", "http://127.0.0.1:9", *QUICK]) == 2
    assert "APIKLEY_API_KEY" in capsys.readouterr().err
    key_file = tmp_path / "key"
    key_file.write_text(DEFAULT_API_KEY + "\n")
    with _served().serve(port=0) as url:
        code = main(["--base-url", url, "--key-file", str(key_file), *QUICK, "--models", MODELS.default])
    assert code == 0, capsys.readouterr().out


def test_an_unreachable_server_is_not_a_verdict(key_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--base-url", "http://127.0.0.1:9", "--operations", "get-remaining-credits", *QUICK]) == 2
    assert main(["--base-url", "http://127.0.0.1:9", "--operations", "get-remaining-credits"]) == 2
    out = capsys.readouterr().out
    assert "ERROR" in out and "Connect" in out and "(exit 2)" in out


def test_no_create_creates_nothing_and_says_what_it_could_not_check(
    key_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = _served()
    with sim.serve(port=0) as url:
        lenient = main(["--base-url", url, "--no-create", *QUICK])
        lenient_out = capsys.readouterr().out
        strict = main(["--base-url", url, "--no-create", "--strict", *QUICK])
        strict_out = capsys.readouterr().out
    assert sum(sim.counters.tasks_created.values()) == 0
    # The bodies the spec refuses were still sent (and refused): they are free.
    assert sim.counters.requests["createTask"] > 0
    assert lenient == 0 and strict == exit_codes.NOT_EXERCISED, strict_out
    for out in (lenient_out, strict_out):
        assert "--no-create without --task-id" in out
        assert _states(out)["finished_task_keeps_contract"] == "NONE"
        assert _states(out)["every_model_accepted"] == "off"
        assert _states(out)["limits_refuse_outside"] == "ok"


def test_no_create_with_a_finished_task_exercises_everything_it_can(
    key_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = _served()
    with sim.serve(port=0) as url:
        import httpx

        body = {"model": MODELS.default, "input": MODELS[MODELS.default].sample_input()}
        answer = httpx.post(
            f"{url}/api/v1/jobs/createTask", json=body, headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"}
        )
        task_id = answer.json()["data"]["taskId"]
        code = main(["--base-url", url, "--no-create", "--task-id", task_id, "--strict", *QUICK])
    out = capsys.readouterr().out
    assert code == 0, out
    assert sum(sim.counters.tasks_created.values()) == 1
    assert _states(out)["finished_task_keeps_contract"] == "ok"


def test_no_credits_is_never_a_pass(key_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    with _served(money=Money(credits=0)).serve(port=0) as url:
        code = main(["--base-url", url, *QUICK])
    out = capsys.readouterr().out
    assert code == exit_codes.NOT_EXERCISED, out
    assert "402 (no credits)" in out
    assert _states(out)["finished_task_keeps_contract"] == "NONE"


def test_a_task_that_never_finishes_stops_at_the_deadline_without_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_real_sleep(seconds: float) -> None:
        raise AssertionError(f"a real sleep of {seconds} s: the check must wait on its clock")

    monkeypatch.setattr(time, "sleep", no_real_sleep)
    clock = VirtualClock()
    sim = _served(clock=clock, timings=Timings(waiting=0.0, queuing=0.0, generation=10_000.0))
    settings = Settings(
        base_url=sim.base_url, api_key=DEFAULT_API_KEY, phases=(), models=(MODELS.default,), task_deadline=120.0
    )
    report = check_service(settings, clock=clock, transport=sim.sync_transport())
    assert clock.monotonic() >= 120.0
    by_name = {c.name: c for c in report.checks}
    assert by_name["task_finishes"].state == "not exercised"
    assert "120 s deadline" in by_name["task_finishes"].reason
    assert report.exit_code == 0 and not report.roots
    assert report.settings.strict is False


def test_fails_against_a_server_that_accepts_a_value_one_step_past_a_maximum(
    monkeypatch: pytest.MonkeyPatch, key_env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(_validation, "check", _lenient_maximum(_validation.check))
    xml_path = tmp_path / "out" / "contract.xml"
    with _served().serve(port=0) as url:
        code = main(["--base-url", url, *QUICK, "--junit-xml", str(xml_path)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert PLANTED.maximum is not None and PLANTED.step is not None
    past = round(PLANTED.maximum + PLANTED.step, 6)
    refusal = _openapi.code_meaning("Validation")
    assert f"request input.{PLANTED.name}: expected a refusal ({refusal}): maximum {PLANTED.maximum:g}" in out
    assert f"accepted {past}" in out
    tree = ET.parse(xml_path)
    failures = tree.findall(".//failure")
    assert any(f"input.{PLANTED.name}" in (f.get("message") or "") for f in failures)
    assert tree.getroot().get("failures") == str(len(failures))


# ------------------------------------------------------------ the boundary probes


def test_every_limit_of_every_model_is_probed_at_its_step() -> None:
    found, dropped = probes()
    assert dropped == []
    assert {p.model for p in found} == set(MODELS)
    for model in MODELS.values():
        mine = [p for p in found if p.model == model.id]
        for f in model.fields:
            at = [p for p in mine if p.path == ("input", f.name)]
            if f.maximum is not None:
                step = f.step or 1
                values = {p.value for p in at if "maximum" in p.rule}
                assert f.maximum in values and round(f.maximum + step, 6) in values, (model.id, f.name, values)
            if f.minimum is not None:
                values = {p.value for p in at if "minimum" in p.rule}
                assert f.minimum in values and round(f.minimum - (f.step or 1), 6) in values
            if f.max_length is not None:
                assert {len(p.value) for p in at if "maxLength" in p.rule} == {f.max_length, f.max_length + 1}
            if f.max_items is not None:
                assert {len(p.value) for p in at if "maxItems" in p.rule} == {f.max_items, f.max_items + 1}
            if f.choices:
                assert any(p.inside for p in at) and any(not p.inside and p.value not in f.choices for p in at)
            if f.required:
                assert any(p.value is LEFT_OUT and not p.inside for p in at), (model.id, f.name)


def test_probes_reach_nested_limits_and_say_which_side_of_the_limit_they_are() -> None:
    found, _ = probes()
    nested = [p for p in found if len(p.path) > 2]
    assert nested, "the family has limits inside array items (read from the spec)"
    from apikley_kling.catalog import validator

    for p in found:
        valid = validator(MODELS[p.model].request_schema).is_valid(p.body)
        assert valid == p.inside, (p.model, p.field, p.rule, p.shown_value())


# ------------------------------------------------------------ findings, records, report


def _group(check: str, operation: str, field: str, side: str = "answer") -> Group:
    g = Group(Finding(check, operation, field, "x", "y", side))
    g.add(g.first)
    return g


def test_a_missing_code_explains_the_failures_read_through_it() -> None:
    op = _openapi.create_operation().label
    other = _openapi.task_link().target.label
    code = _group("answer_matches_spec", op, "code")
    follow = [
        _group("negative_data_rejection", op, "input.prompt", "request"),
        _group("limits_refuse_outside", op, "input.prompt", "request"),
        _group("response_schema_conformance", op, ""),
    ]
    unrelated = _group("task_record_keeps_contract", other, "data.state")
    roots = arrange([*follow, unrelated, code], [c.name for c in CHECKS], MINE)
    assert roots[0] is code and set(map(id, code.follow_ons)) == set(map(id, follow))
    assert roots[1] is unrelated


def test_the_same_field_seen_by_two_checks_is_one_finding() -> None:
    op = _openapi.task_link().target.label
    mine = _group("answer_matches_spec", op, "data.failCode")
    record = _group("finished_task_keeps_contract", op, "data.failCode")
    generic = _group("response_schema_conformance", op, "")
    roots = arrange([generic, record, mine], [c.name for c in CHECKS], MINE)
    assert roots == [mine] and mine.follow_ons == [record, generic]


def test_records_never_crash_and_name_the_field() -> None:
    from apikley_kling.contract._findings import Tally
    from apikley_kling.contract._records import check_record, missing_properties

    assert missing_properties() == []
    label = _openapi.task_link().target.label
    states = _openapi.task_states()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"taskId": "t", "state": "finished"}, "data.state"),
        ({"taskId": "t", "state": "success", "resultJson": {"resultUrls": ["https://x/y.mp4"]}}, "data.resultJson"),
        (
            {"taskId": "t", "state": "success", "resultJson": json.dumps({"resultUrls": []})},
            "data.resultJson.resultUrls",
        ),
        ({"taskId": "t", "state": "fail", "failCode": 500, "failMsg": "boom"}, "data.failCode"),
        ({"taskId": "t", "state": "success", "resultJson": 7}, "data.resultJson"),
        ({"taskId": "u", "state": states[0]}, "data.taskId"),
    ]
    for data, field in cases:
        tally = Tally()
        check_record(tally, data, label=label, queried="t")
        assert [g.first.field for g in tally.groups()] == [field], (data, tally.groups())
    harmless = Tally()
    urls = json.dumps({"resultUrls": ["https://x/y.mp4"], "extra": 1})
    for data in (
        {"taskId": "t", "state": "success", "resultJson": urls, "failCode": None, "failMsg": None, "param": None},
        {"taskId": "t", "state": states[0], "resultJson": None, "costTime": None, "newField": [1]},
    ):
        check_record(harmless, data, label=label, queried="t")
    assert harmless.groups() == []


def test_junit_under_strict_fails_what_was_not_exercised() -> None:
    sim = _served(money=Money(credits=0))
    settings = Settings(
        base_url=sim.base_url, api_key=DEFAULT_API_KEY, phases=(), models=(MODELS.default,), strict=True
    )
    report = check_service(settings, transport=sim.sync_transport())
    assert report.exit_code == exit_codes.NOT_EXERCISED
    root = junit(report).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    failed = [f.get("message") or "" for f in suite.iter("failure")]
    assert any("402 (no credits)" in m for m in failed), failed
    assert int(suite.get("tests", "0")) == len(suite.findall("testcase"))


def test_the_package_reads_the_spec_it_ships() -> None:
    from apikley_kling.catalog import load_spec

    assert _openapi.spec() is load_spec()
    run = subprocess.run(
        [sys.executable, "-m", "apikley_kling.contract", "--help"], capture_output=True, text=True, cwd=ROOT / "docs"
    )
    assert run.returncode == 0 and "--task-id" in run.stdout and "--key-file" in run.stdout
    # No option takes a key on the command line; the old --api-key-file still works, hidden from the help.
    assert "--api-key" not in run.stdout
