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
from apikley_kling_api.models import CreditsSuccess, TaskRecord

from ..spec_validation import SpecValidator
from ._live import Budget, Pacer, base_url

pytestmark = pytest.mark.live

CREATE = "/api/v1/jobs/createTask"
QUERY = "/api/v1/jobs/recordInfo"
CREDITS = "/api/v1/chat/credit"
# The seed page's own example image, reachable by the service.
IMAGE_URL = "https://file.aiquickdraw.com/custom-page/akr/section-images/1755256596169mkkwr2ag.webp"
VALID_CREATE: dict[str, Any] = {
    "model": "kling/v2-1-standard",
    "input": {"prompt": "The camera slowly pushes in; steam drifts upward.", "image_url": IMAGE_URL, "duration": "5"},
}


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


def _with_input(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(VALID_CREATE)
    body["input"].update(changes)
    for key in [k for k, v in changes.items() if v is _DROP]:
        del body["input"][key]
    return body


_DROP = object()

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
    code, body = live.send("GET", QUERY, params={"taskId": "task_kling_0000000000000_contract_absent"})
    assert code == 404, body


BAD_BODIES: dict[str, dict[str, Any]] = {
    "duration-7": _with_input(duration="7"),
    "cfg-1.5": _with_input(cfg_scale=1.5),
    "cfg-negative": _with_input(cfg_scale=-0.5),
    "prompt-5001": _with_input(prompt="x" * 5001),
    "negative-prompt-501": _with_input(negative_prompt="x" * 501),
    "prompt-missing": _with_input(prompt=_DROP),
    "image-url-missing": _with_input(image_url=_DROP),
    "model-wrong": {**VALID_CREATE, "model": "kling/v2-1-pro"},
    "callback-not-a-url": {**VALID_CREATE, "callBackUrl": "not a url"},
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_a_bad_body_is_422(live: Live, name: str) -> None:
    code, body = live.send("POST", CREATE, json=BAD_BODIES[name], expect_valid=False)
    assert live.validator.errors(httpx.Request("POST", base_url() + CREATE, json=BAD_BODIES[name])), name
    task = (body.get("data") or {}).get("taskId") if isinstance(body.get("data"), dict) else None
    assert code == 422, f"{name}: the service answered {body} (task {task} was created and billed)"


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
    assert record.state in {"waiting", "queuing", "generating", "success", "fail"}
    assert isinstance(record.param, str)
    assert json.loads(record.param)["input"] == VALID_CREATE["input"]


def test_paid_create_with_every_option(live: Live, budget: Budget) -> None:
    body = {
        **VALID_CREATE,
        "callBackUrl": "https://example.com/apikley-kling-contract-callback",
        "input": {**VALID_CREATE["input"], "duration": "10", "negative_prompt": "blur", "cfg_scale": 0.3},
    }
    task_id = _paid_create(live, budget, body)
    assert _record(live, task_id).taskId == task_id


def test_paid_create_with_the_extremes(live: Live, budget: Budget) -> None:
    body = _with_input(prompt="p" * 5000, negative_prompt="n" * 500, cfg_scale=1)
    task_id = _paid_create(live, budget, body)
    assert _record(live, task_id).taskId == task_id
