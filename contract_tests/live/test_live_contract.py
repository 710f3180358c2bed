"""The real service against our spec. Opt-in: needs APIKLEY_API_KEY (skipped otherwise).

    APIKLEY_API_KEY=... pytest contract_tests/live                   # free checks only
    APIKLEY_API_KEY=... pytest contract_tests/live --live-budget 2   # plus at most 2 paid creates

APIKLEY_BASE_URL overrides https://api.apikley.ru. Requests are paced at
most one per second. Every request is first checked against the spec, so a
"bad body" case here is bad in exactly the one way it names.

The negative createTask cases are free as long as the service keeps its
contract: a service that accepted one would create (and bill) a task, and the
test fails naming it, because that is the breach this suite looks for.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
from apikley_kling.catalog import models
from apikley_kling.contract import _openapi
from apikley_kling.contract._boundaries import probes
from apikley_kling_api.models import CreditsSuccess, TaskRecord

from ..spec_validation import SpecValidator
from ._live import Budget, Pacer, base_url

pytestmark = pytest.mark.live

CREATE = _openapi.create_operation().path
QUERY = _openapi.task_link().target.path
CREDITS = next(o.path for o in _openapi.plain_reads())
MODELS = models()
DEFAULT = MODELS[MODELS.default]
# The default model's page example: its image URLs are the page's own, reachable by the service.
VALID_CREATE: dict[str, Any] = {"model": DEFAULT.id, "input": DEFAULT.sample_input()}
VALIDATION = _openapi.code_meaning("Validation")
# Every value just past a limit of every model, each required field left out (read from the spec).
OUTSIDE = {f"{p.model} {p.field} {p.rule} {p.shown_value()}": p for p in probes()[0] if not p.inside}


class Live:
    def __init__(self, http: httpx.Client, pacer: Pacer, key: str) -> None:
        self.http, self.pacer, self.key = http, pacer, key
        self.validator = SpecValidator(base_url())

    def send(
        self, method: str, path: str, *, key: str | None = None, expect_valid: bool = True, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        headers = {} if key == "" else {"Authorization": f"Bearer {self.key if key is None else key}"}
        request = self.http.build_request(method, path, headers=headers, **kwargs)
        problems = self.validator.errors(request)
        if expect_valid:
            assert problems == [], problems
        self.pacer.wait()
        response = self.http.send(request)
        try:
            body = response.json()
        except ValueError:
            pytest.fail(f"{method} {path}: HTTP {response.status_code}, not JSON: {response.text[:200]!r}")
        assert isinstance(body, dict) and isinstance(body.get("code"), int), body
        # The body code is authoritative; a non-200 HTTP status must agree with it.
        assert response.status_code in (200, body["code"]), (response.status_code, body)
        return body["code"], body


@pytest.fixture
def live(http: httpx.Client, pacer: Pacer, api_key: str) -> Live:
    return Live(http, pacer, api_key)


# ------------------------------------------------------------ free


def test_credits(live: Live) -> None:
    code, body = live.send("GET", CREDITS)
    assert code == 200, body
    parsed = CreditsSuccess.from_dict(body)
    assert isinstance(parsed.data, int | float) and parsed.data >= 0


@pytest.mark.parametrize("key", ["sk-contract-not-a-key", ""], ids=["wrong-key", "no-key"])
def test_a_bad_key_is_401(live: Live, key: str) -> None:
    code, body = live.send("GET", CREDITS, key=key, expect_valid=False)
    assert code == 401, body


def test_an_unknown_task_is_404(live: Live) -> None:
    param = _openapi.task_link().parameter
    code, body = live.send("GET", QUERY, params={param: "task_kling_0000000000000_contract_absent"})
    assert code == _openapi.code_meaning("Not Found"), body


@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_a_body_past_a_limit_is_refused(live: Live, name: str) -> None:
    body = OUTSIDE[name].body
    code, answer = live.send("POST", CREATE, json=body, expect_valid=False)
    assert live.validator.errors(httpx.Request("POST", base_url() + CREATE, json=body)), name
    task = (answer.get("data") or {}).get("taskId") if isinstance(answer.get("data"), dict) else None
    assert code == VALIDATION, f"{name}: the service answered {answer} (task {task} was created and billed)"


# ------------------------------------------------------------ paid, within --live-budget


def _paid_create(live: Live, budget: Budget, body: dict[str, Any]) -> str:
    if not budget.take():
        pytest.skip(f"--live-budget {budget.limit} is spent (or 0): this test creates a paid task")
    code, answer = live.send("POST", CREATE, json=body)
    assert code == 200, answer
    task_id = answer["data"]["taskId"]
    assert isinstance(task_id, str) and task_id
    return str(task_id)


def _record(live: Live, task_id: str) -> TaskRecord:
    code, answer = live.send("GET", QUERY, params={"taskId": task_id})
    assert code == 200, answer
    return TaskRecord.from_dict(answer["data"])


def test_paid_create_is_visible_at_once_and_echoes_param(live: Live, budget: Budget) -> None:
    task_id = _paid_create(live, budget, VALID_CREATE)
    record = _record(live, task_id)
    assert record.taskId == task_id
    assert record.state in _openapi.task_states()
    assert isinstance(record.param, str)
    assert json.loads(record.param)["input"] == VALID_CREATE["input"]


def test_paid_create_with_every_option(live: Live, budget: Budget) -> None:
    body = {
        "model": DEFAULT.id,
        "callBackUrl": "https://example.com/apikley-kling-contract-callback",
        "input": DEFAULT.sample_input(everything=True),
    }
    task_id = _paid_create(live, budget, body)
    assert _record(live, task_id).taskId == task_id


def _at_the_limits() -> dict[str, Any]:
    """The default model's example with every top-level field at its upper limit (from the spec)."""
    body = copy.deepcopy(VALID_CREATE)
    for probe in probes((DEFAULT.id,))[0]:
        upper = probe.rule.startswith(("maximum", "maxLength", "maxItems"))
        if probe.inside and upper and len(probe.path) == 2:
            body["input"][probe.path[1]] = probe.value
    return body


def test_paid_create_with_the_extremes(live: Live, budget: Budget) -> None:
    body = _at_the_limits()
    assert body != VALID_CREATE
    task_id = _paid_create(live, budget, body)
    assert _record(live, task_id).taskId == task_id
