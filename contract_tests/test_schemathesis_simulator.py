"""Schemathesis against the simulator: in-process and over HTTP, and proof it catches planted faults.

The harness (schema preparation, the body-code-as-status hook, custom checks,
the engine runner) lives in scripts/contract_check.py so that teams' CI runs
exactly what runs here. Seeds are fixed and example counts bounded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, ClassVar

import httpx
import hypothesis
import pytest
from apikley_kling.catalog import Field, models
from apikley_kling.clock import VirtualClock
from apikley_kling.simulator import DEFAULT_API_KEY, IN_PROCESS_URL, Money, Simulator, Timings, _validation

from scripts import contract_check as cc

from ._paths import ROOT

MODELS = models()
DEFAULT = MODELS[MODELS.default]
REQUEST_SCHEMAS = {m.request_schema for m in MODELS.values()}


def _bounded_number(model_fields: tuple[Field, ...]) -> Field:
    """The default model's first number with a maximum: the limit the planted faults relax."""
    return next(f for f in model_fields if f.type == "number" and f.maximum is not None)


PLANTED = _bounded_number(DEFAULT.fields)
assert PLANTED.maximum is not None


def default_body(**input_fields: Any) -> dict[str, Any]:
    """A valid create of the default model (any image URL: the contract simulators take placeholders)."""
    return {"model": DEFAULT.id, "input": {**DEFAULT.sample_input(), **input_fields}}


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def make_simulator(**overrides: Any) -> Simulator:
    # Instant generations on a frozen clock: every created task is already a
    # success (or, one in four, a failure) when first read, so the stateful
    # phase and the result checks see final answers without any waiting.
    options: dict[str, Any] = {
        "clock": VirtualClock(),
        "money": Money(credits=1e12),
        "external_images": "placeholder",
        "timings": Timings.instant(fail_probability=0.25),
        "seed": 7,
    }
    options.update(overrides)
    return Simulator(**options)


# ------------------------------------------------------------ known simulator gaps


def test_simulator_refuses_a_callback_url_with_control_characters() -> None:
    # Schemathesis' coverage phase found this: RFC 3986 admits printable ASCII only.
    sim = make_simulator()
    body = {**default_body(), "callBackUrl": "https://\u0101\x0f.example/cb"}
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url) as http:
        answer = http.post(
            "/api/v1/jobs/createTask", json=body, headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"}
        ).json()
    assert answer["code"] == 422


# ------------------------------------------------------------ pytest integration, in-process

SIM = make_simulator()
PYTEST_SETTINGS = cc.Settings(
    base_url=IN_PROCESS_URL,
    api_key=DEFAULT_API_KEY,
    max_examples=10,
    phases=("examples", "coverage", "fuzzing"),
)
schema = cc.load_schema(PYTEST_SETTINGS, app=SIM.app)


@schema.parametrize()
@hypothesis.settings(deadline=None, derandomize=True, database=None)
def test_simulator_in_process(case: Any) -> None:
    # Coverage + fuzzing (positive and negative data), every built-in check
    # plus the custom ones, with the body code read as the status.
    case.call_and_validate()


STATEFUL_SETTINGS = cc.Settings(base_url=IN_PROCESS_URL, api_key=DEFAULT_API_KEY, phases=("stateful",))
_Workflow = cc.load_schema(STATEFUL_SETTINGS, app=SIM.app).as_state_machine()


class _TracedWorkflow(_Workflow):  # type: ignore[misc, valid-type]
    created: ClassVar[set[str]] = set()
    queried: ClassVar[set[str]] = set()

    def after_call(self, response: Any, case: Any) -> None:
        super().after_call(response, case)
        body = json.loads(response.content or b"null")
        if case.operation.path == cc.CREATE_PATH and isinstance(body, dict) and isinstance(body.get("data"), dict):
            self.created.add(body["data"].get("taskId"))
        if case.operation.path == cc.QUERY_PATH:
            self.queried.add((case.query or {}).get("taskId"))


def test_stateful_in_process_follows_the_link() -> None:
    _TracedWorkflow.created, _TracedWorkflow.queried = set(), set()
    _TracedWorkflow.run(
        settings=hypothesis.settings(
            max_examples=12,
            stateful_step_count=5,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    # createTask -> recordInfo through the spec's OpenAPI link: ids that were
    # created were then queried.
    assert _TracedWorkflow.created & _TracedWorkflow.queried


# ------------------------------------------------------------ the engine: every phase, in-process and over HTTP


def _engine_run(app: Any = None, base_url: str = IN_PROCESS_URL, read_body_code: bool = True, **settings: Any) -> Any:
    loaded = cc.load_schema(
        cc.Settings(base_url=base_url, api_key=DEFAULT_API_KEY, **settings), app=app, read_body_code=read_body_code
    )
    return cc.run(loaded)


def test_engine_in_process_all_phases_pass() -> None:
    sim = make_simulator()
    outcome = _engine_run(sim.app, max_examples=10, stateful_steps=6)
    assert outcome.ok, outcome.summary()
    # Every phase ran cases, and the custom checks were not vacuous.
    assert set(outcome.cases) >= {"examples", "coverage", "fuzzing", "stateful"}, outcome.cases
    assert all(outcome.cases[p] > 0 for p in ("coverage", "fuzzing", "stateful")), outcome.cases
    for check in cc.CUSTOM_CHECKS:
        assert cc.APPLIED[check] > 0, f"{check} never applied: {dict(cc.APPLIED)}"
    assert sum(sim.counters.tasks_created.values()) > 0
    # The createTask body is a oneOf by model: every model of the catalog was generated, sent and accepted.
    assert {t.model for t in sim.tasks()} == set(MODELS), sorted({t.model for t in sim.tasks()})
    print(f"\nin-process: {outcome.summary()}")


def test_engine_over_http_all_phases_pass() -> None:
    sim = make_simulator()
    with sim.serve(port=0) as url:
        assert url.startswith("http://127.0.0.1:")
        outcome = _engine_run(base_url=url, max_examples=3, stateful_steps=4)
    assert outcome.ok, outcome.summary()
    assert all(outcome.cases[p] > 0 for p in ("coverage", "fuzzing", "stateful")), outcome.cases
    assert cc.APPLIED["created_task_is_visible"] > 0
    assert {t.model for t in sim.tasks()} == set(MODELS), sorted({t.model for t in sim.tasks()})
    print(f"\nover HTTP: {outcome.summary()}")


# ------------------------------------------------------------ planted faults


def _lenient_maximum(original: Callable[[str, object], str | None]) -> Callable[[str, object], str | None]:
    """A variant of the check that lets the default model's bounded number go over its maximum."""
    top = PLANTED.maximum

    def check(name: str, body: object) -> str | None:
        if name in REQUEST_SCHEMAS and isinstance(body, dict) and isinstance(body.get("input"), dict):
            value = body["input"].get(PLANTED.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and top is not None and value > top:
                body = {**body, "input": {**body["input"], PLANTED.name: top}}
        return original(name, body)

    return check


def test_planted_fault_number_above_maximum_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_validation, "check", _lenient_maximum(_validation.check))
    sim = make_simulator()
    assert PLANTED.maximum is not None
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url) as http:
        # The plant works: this variant really takes a value over the maximum.
        planted = http.post(
            "/api/v1/jobs/createTask",
            json=default_body(**{PLANTED.name: PLANTED.maximum + 0.5}),
            headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
        ).json()
    assert planted["code"] == 200
    outcome = _engine_run(sim.app, operations=(cc.CREATE_OPERATION,), phases=("coverage", "fuzzing"))
    assert not outcome.ok
    assert "negative_data_rejection" in outcome.failed_checks(), outcome.summary()
    assert any(f.operation == "POST /api/v1/jobs/createTask" for f in outcome.failures)


def test_planted_fault_number_above_maximum_is_caught_by_the_pytest_integration(tmp_path: Path) -> None:
    # The parametrized test above, run against the lenient variant in a fresh
    # process (the variant must exist before the module builds its schema).
    (tmp_path / "test_planted.py").write_text(
        "from apikley_kling.simulator import _validation\n"
        "import contract_tests.test_schemathesis_simulator as suite\n"
        "_validation.check = suite._lenient_maximum(_validation.check)\n"
        "test_simulator_in_process = suite.test_simulator_in_process\n"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(tmp_path),
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--rootdir",
            str(ROOT),
            "-k",
            "createTask",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    assert "1 failed" in run.stdout
    assert f"{PLANTED.name}: Value greater than maximum" in run.stdout


def _without_success_data(app: ASGIApp) -> ASGIApp:
    """A simulator variant whose success answers (code 200) lose their `data`."""

    async def wrapped(
        scope: Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http" or "/file-upload/" in scope["path"]:
            await app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None
            if isinstance(doc, dict) and doc.get("code") == 200:
                doc.pop("data", None)
                body = json.dumps(doc).encode()
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await app(scope, receive, capture)

    return wrapped


def test_planted_fault_success_without_data_is_caught() -> None:
    sim = make_simulator()
    app = _without_success_data(sim.app)
    # Examples and fuzzing answer success on all three; the coverage phase would add hundreds of createTask cases.
    outcome = _engine_run(
        app,
        operations=("get-remaining-credits", cc.CREATE_OPERATION, "get-task-details"),
        phases=("examples", "fuzzing", "stateful"),
        max_examples=3,
    )
    assert not outcome.ok
    failed = outcome.failed_checks()
    assert "success_carries_data" in failed, outcome.summary()
    assert "response_schema_conformance" in failed, outcome.summary()


def test_planted_fault_task_invisible_after_create_is_caught() -> None:
    # A variant that forgets tasks: createTask says 200, recordInfo says 404.
    sim = make_simulator()

    async def forgetful(
        scope: Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/v1/jobs/recordInfo":
            scope = {**scope, "query_string": b"taskId=task_forgotten"}
        await sim.app(scope, receive, send)

    outcome = _engine_run(forgetful, operations=(cc.CREATE_OPERATION,), phases=("examples", "fuzzing"), max_examples=3)
    assert "created_task_is_visible" in outcome.failed_checks(), outcome.summary()


def test_without_the_body_code_hook_the_suite_misreads_this_api() -> None:
    # The hook is load-bearing: reading only HTTP statuses, a correct
    # simulator "accepts" invalid data (it answers HTTP 200 + code 422).
    outcome = _engine_run(
        make_simulator().app, read_body_code=False, operations=(cc.CREATE_OPERATION,), phases=("coverage",)
    )
    assert "negative_data_rejection" in outcome.failed_checks(), outcome.summary()


def test_body_code_hook_reads_the_code_as_the_status() -> None:
    class Answer:
        def __init__(self, status: int, content: bytes) -> None:
            self.status_code, self.content = status, content

    cases = [
        (200, b'{"code": 422, "msg": "bad"}', 422),
        (200, b'{"code": 200, "data": 1}', 200),
        (200, b"<html>502</html>", 200),
        (200, b'{"code": "x"}', 200),
        (455, b'{"code": 455}', 455),
        (200, b'{"code": true}', 200),
    ]
    for status, content, expected in cases:
        answer = Answer(status, content)
        cc.body_code_as_status(answer)
        assert answer.status_code == expected, content
