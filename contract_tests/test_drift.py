"""The checker against a simulator that drifts from the spec one way at a time (contract_tests/_drifts.py).

Every breaking drift must be caught, as one finding whose headline names the
field that moved; every harmless one (an added field, `message` for `msg`,
HTTP 200 with an error code, nulls where the spec allows them) must raise no
alarm. Each test first proves its drift really changed answers or requests.

Most runs use the checker's own cases only (`--phases none`, about a second
each): they are what must catch drift. The default mode (every schemathesis
phase) runs once on all harmless drifts together and on the breaking drifts
the issue names, so that the fuzzer's own failures are seen to group under
the cause rather than add findings.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
from apikley_kling.contract import Report, Settings, check_service, main
from apikley_kling.contract._report import text
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator, Timings

from ._drift_proxy import Drift, Exchange, drifting
from ._drifts import BREAKING, CREATE, DEFAULT, MODELS
from ._drifts_harmless import HARMLESS

FREE = [d for d in BREAKING if d.free]


def _fresh(drift: Drift) -> Drift:
    return dataclasses.replace(drift, changed=0)


def _run(drift: Drift, *, phases: tuple[str, ...] = (), **settings: Any) -> tuple[Report, Simulator]:
    with drifting(drift) as (url, sim):
        report = check_service(Settings(base_url=url, api_key=DEFAULT_API_KEY, phases=phases, **settings))
    return report, sim


def _names(drift: Drift, report: Report) -> bool:
    root = report.roots[0]
    return drift.names in root.headline() or drift.names == root.check


def _chain(drifts: list[Drift]) -> Drift:
    """All harmless drifts at once (each rewrite in turn)."""

    def answer(exchange: Exchange) -> bool:
        return any([d.answer(exchange) for d in drifts if d.answer is not None])

    options: dict[str, Any] = {}
    for d in drifts:
        options.update(d.sim)
    return Drift("all-harmless", False, answer=answer, sim=options)


def test_default_mode_no_alarm_on_every_harmless_drift_at_once() -> None:
    drift = _chain(HARMLESS)
    report, _ = _run(drift, phases=Settings.phases)
    assert drift.changed > 0
    assert report.exit_code == 0, text(report)
    assert report.outcome is not None and sum(report.outcome.cases.values()) > 0


# The fuzzer's own failures on a drift, each filed under the checker's finding: which phase sees each drift.
GROUPED = [
    ("code-missing", ("coverage",), (CREATE,), "negative_data_rejection"),
    ("result-json-object", ("examples", "stateful"), (), "response_schema_conformance"),
    ("required-not-enforced", ("coverage",), (CREATE,), "negative_data_rejection"),
]


@pytest.mark.parametrize(("name", "phases", "operations", "theirs"), GROUPED, ids=[g[0] for g in GROUPED])
def test_the_fuzzers_failures_are_follow_ons_of_the_cause(
    name: str, phases: tuple[str, ...], operations: tuple[str, ...], theirs: str
) -> None:
    drift = _fresh(next(d for d in BREAKING if d.name == name))
    report, _ = _run(drift, phases=phases, operations=operations)
    assert report.exit_code == 1, text(report)
    assert len(report.roots) == 1, text(report)
    assert _names(drift, report)

    def checks(group: Any) -> set[str]:
        return {group.check} | {c for f in group.follow_ons for c in checks(f)}

    assert theirs in checks(report.roots[0]), text(report)


@pytest.mark.parametrize("drift", BREAKING, ids=str)
def test_each_breaking_drift_is_one_finding_naming_its_field(drift: Drift) -> None:
    drift = _fresh(drift)
    report, sim = _run(drift)
    shown = text(report)
    assert drift.changed > 0, f"{drift} was never applied"
    assert report.exit_code == 1, shown
    assert len(report.roots) == 1, shown
    assert _names(drift, report), shown
    # Every model of the family was probed, whatever broke.
    assert {t.model for t in sim.tasks()} == set(MODELS) or drift.name.startswith("create"), shown


@pytest.mark.parametrize("drift", HARMLESS, ids=str)
def test_each_harmless_drift_raises_no_alarm(drift: Drift) -> None:
    drift = _fresh(drift)
    report, _ = _run(drift)
    assert drift.changed > 0, f"{drift} was never applied"
    assert report.exit_code == 0, text(report)
    assert report.roots == [] and all(c.state in ("passed", "off") for c in report.checks), text(report)


def _finished_task(sim: Simulator) -> str:
    """A task created straight on the simulator (not through the drift), finished at once."""
    body = {"model": DEFAULT.id, "input": DEFAULT.sample_input()}
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url) as http:
        answer = http.post(f"{sim.base_url}/api/v1/jobs/createTask", json=body, headers=_key())
    task_id: str = answer.json()["data"]["taskId"]
    return task_id


def _key() -> dict[str, str]:
    return {"Authorization": f"Bearer {DEFAULT_API_KEY}"}


@pytest.mark.parametrize("drift", FREE, ids=str)
def test_free_mode_with_a_finished_task_catches_what_needs_no_create(
    drift: Drift, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    drift = _fresh(drift)
    monkeypatch.setenv("APIKLEY_API_KEY", DEFAULT_API_KEY)
    with drifting(drift, **{"timings": Timings.instant(), **drift.sim}) as (url, sim):
        task_id = _finished_task(sim)
        # One model is enough here: the drifts move answers, or a field of the default model.
        argv = ["--base-url", url, "--no-create", "--task-id", task_id, "--strict", "--phases", "none"]
        code = main([*argv, "--models", DEFAULT.id])
    out = capsys.readouterr().out
    assert drift.changed > 0, f"{drift} was never applied"
    assert sum(sim.counters.tasks_created.values()) >= 1
    assert code == 1, out
    assert drift.names in out, out


def test_the_drifts_cover_the_kinds_the_issue_names() -> None:
    kinds = {d.name for d in BREAKING}
    for expected in (
        "unknown-state",
        "result-json-object",
        "result-urls-vanish",
        "code-missing",
        "limit-widened-one-step",
        "required-not-enforced",
        "create-without-task-id",
        "fail-code-number",
    ):
        assert expected in kinds
    assert len(BREAKING) >= 15 and len(HARMLESS) >= 8
