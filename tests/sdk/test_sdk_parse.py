"""The provider's documented answers (from the bundled spec) and real-answer quirks parse to the right Task."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import apikley_kling as ak
import pytest
import respx
from apikley_kling import Kling, Task, TaskState
from apikley_kling.catalog import load_spec

from .conftest import CREATE, QUERY, RESULT, envelope, record


def documented(name: str) -> dict[str, Any]:
    op = load_spec()["paths"]["/api/v1/jobs/recordInfo"]["get"]
    value: dict[str, Any] = op["responses"]["200"]["content"]["application/json"]["examples"][name]["value"]
    return value


def test_documented_success(kling: Kling, mock: respx.MockRouter) -> None:
    doc = documented("success")
    mock.get(QUERY).respond(200, json=doc)
    task = kling.tasks.get(doc["data"]["taskId"])
    assert task.state is TaskState.SUCCESS and task.is_final
    assert task.result_urls == tuple(json.loads(doc["data"]["resultJson"])["resultUrls"])
    assert task.video_url == task.result_urls[0]
    assert task.fail_code is None and task.fail_msg is None  # documented "" means none
    assert task.cost_time == doc["data"]["costTime"] / 1000
    assert task.created_at == datetime.fromtimestamp(doc["data"]["createTime"] / 1000, tz=UTC)
    assert task.completed_at == datetime.fromtimestamp(doc["data"]["completeTime"] / 1000, tz=UTC)
    assert task.params is not None and task.params["input"]["cfg_scale"] == 0.5
    assert task.model == "kling/v2-1-standard"
    assert task.raw["taskId"] == task.id


def test_documented_waiting(kling: Kling, mock: respx.MockRouter) -> None:
    doc = documented("waiting")
    mock.get(QUERY).respond(200, json=doc)
    task = kling.tasks.get(doc["data"]["taskId"])
    assert task.state is TaskState.WAITING and not task.is_final
    assert task.result_urls == ()
    assert task.completed_at is None and task.cost_time is None  # documented 0 means "not yet"


def test_documented_fail(kling: Kling, mock: respx.MockRouter) -> None:
    doc = documented("fail")
    mock.get(QUERY).respond(200, json=doc)
    task = kling.tasks.get(doc["data"]["taskId"])
    assert task.state is TaskState.FAIL
    assert task.fail_code == "500" and task.fail_msg == "Internal server error"


@pytest.mark.parametrize("code", [400, 401, 404, 429])
def test_documented_error_examples(kling: Kling, mock: respx.MockRouter, code: int) -> None:
    kling._core.retry.max_retries = 0
    op = load_spec()["paths"]["/api/v1/jobs/recordInfo"]["get"]
    example = op["responses"][str(code)]["content"]["application/json"]["example"]
    mock.get(QUERY).respond(code, json=example)
    with pytest.raises(ak.APIError) as info:
        kling.tasks.get("t1")
    assert info.value.code == code and example["msg"] in str(info.value)


def test_documented_create_answer(kling: Kling, mock: respx.MockRouter) -> None:
    create = load_spec()["components"]["schemas"]["CreateTaskSuccess"]["example"]
    mock.post(CREATE).respond(200, json=create)
    task = kling.tasks.create("a cat", image="https://x.example/c.png")
    assert task.id == create["data"]["taskId"]


def test_real_answer_nulls(kling: Kling, mock: respx.MockRouter) -> None:
    data = record("t1", "generating", failCode=None, failMsg=None, costTime=None, completeTime=None, resultJson=None)
    mock.get(QUERY).respond(200, json=envelope(data))
    task = kling.tasks.get("t1")
    assert task.state is TaskState.GENERATING
    assert (task.fail_code, task.fail_msg, task.cost_time, task.completed_at) == (None, None, None, None)


def test_progress_and_absent_fields() -> None:
    task = Task.from_api({"taskId": "t", "state": "generating", "progress": 40})
    assert task.progress == 40 and task.params is None and task.created_at is None


def test_task_id_snake_case_and_result_object() -> None:
    task = Task.from_api({"task_id": "t", "state": "success", "resultJson": {"resultUrls": [RESULT]}})
    assert task.id == "t" and task.result_urls == (RESULT,)


def test_numeric_fail_code() -> None:
    assert Task.from_api({"taskId": "t", "state": "fail", "failCode": 500}).fail_code == "500"


def test_unknown_state_is_protocol_error(kling: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).respond(200, json=envelope(record("t1", "paused")))
    with pytest.raises(ak.ProtocolError, match="paused") as info:
        kling.tasks.get("t1")
    assert info.value.task_id == "t1"


@pytest.mark.parametrize(
    "data",
    [
        {"taskId": "t", "state": "success", "resultJson": "{not json"},
        {"taskId": "t", "state": "success", "resultJson": '{"resultUrls": "x"}'},
        {"taskId": "t", "state": "waiting", "costTime": "soon"},
        {"state": "waiting"},
        ["not", "an", "object"],
    ],
)
def test_malformed_records(data: Any) -> None:
    with pytest.raises(ak.ProtocolError):
        Task.from_api(data)


def test_task_repr_has_no_raw() -> None:
    task = Task.from_api({"taskId": "t", "state": "waiting", "secretish": "zzz"})
    assert "zzz" not in repr(task)


@pytest.mark.parametrize("when", [1e20, float("nan"), float("inf"), -1e20])
def test_a_time_no_datetime_holds_is_a_protocol_error(when: float) -> None:
    """fromtimestamp raises OSError/ValueError/OverflowError for these: the request loop retries only KlingErrors."""
    with pytest.raises(ak.ProtocolError, match="createTime"):
        Task.from_api({"taskId": "t1", "model": "m", "state": "waiting", "createTime": when})
