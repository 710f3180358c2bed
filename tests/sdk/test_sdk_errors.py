"""Body code is the truth: every documented code, as HTTP 200 + code and as a matching HTTP status."""

from __future__ import annotations

import apikley_kling as ak
import httpx
import pytest
import respx
from apikley_kling import Kling

from .conftest import CANARY, CREATE, CREDITS, QUERY, envelope, ok, record

CODES = {
    400: ak.BadRequestError,
    401: ak.AuthenticationError,
    402: ak.InsufficientCreditsError,
    404: ak.NotFoundError,
    422: ak.ValidationError,
    429: ak.RateLimitError,
    455: ak.MaintenanceError,
    500: ak.ServerError,
    501: ak.GenerationFailed,
    505: ak.FeatureDisabled,
}


@pytest.fixture
def kling0(kling: Kling) -> Kling:
    kling._core.retry.max_retries = 0  # one answer per call: these tests are about mapping, not retrying
    return kling


@pytest.mark.parametrize("http_status", ["200", "same"])
@pytest.mark.parametrize("code", sorted(CODES))
def test_query_error_codes(kling0: Kling, mock: respx.MockRouter, code: int, http_status: str) -> None:
    status = 200 if http_status == "200" else code
    mock.get(QUERY).respond(status, json={"code": code, "msg": f"boom {code}", "data": None})
    with pytest.raises(ak.APIError) as info:
        kling0.tasks.get("task_9")
    err = info.value
    assert type(err) is CODES[code]
    assert err.code == code
    assert err.status == status
    assert err.task_id == "task_9"
    assert f"boom {code}" in str(err)
    assert "task_9" in str(err)


@pytest.mark.parametrize("code", sorted(CODES))
def test_credits_error_codes_http200(kling0: Kling, mock: respx.MockRouter, code: int) -> None:
    mock.get(CREDITS).respond(200, json={"code": code, "msg": "nope"})
    with pytest.raises(CODES[code]):
        kling0.credits()


def test_message_instead_of_msg(kling0: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).respond(200, json={"code": 404, "message": "Task not found here"})
    with pytest.raises(ak.NotFoundError, match="Task not found here"):
        kling0.tasks.get("t1")


def test_error_with_null_msg_and_data(kling0: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).respond(200, json={"code": 401, "msg": None, "data": None})
    with pytest.raises(ak.APIError):  # msg null does not fit the model: still a typed error, never a crash
        kling0.tasks.get("t1")


def test_html_502_page(kling0: Kling, mock: respx.MockRouter) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    mock.get(QUERY).respond(502, text=page, headers={"content-type": "text/html"})
    with pytest.raises(ak.ServerError) as info:
        kling0.tasks.get("t1")
    assert info.value.status == 502
    assert "502 Bad Gateway" in (info.value.excerpt or "")
    assert "502 Bad Gateway" in str(info.value)


def test_long_html_page_is_excerpted(kling0: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).respond(503, text="<html>" + "x" * 5000)
    with pytest.raises(ak.ServerError) as info:
        kling0.tasks.get("t1")
    assert len(info.value.excerpt or "") <= 200


def test_empty_body_with_error_status(kling0: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).respond(500, content=b"")
    with pytest.raises(ak.ServerError, match="empty"):
        kling0.tasks.get("t1")


def test_empty_body_with_200_is_protocol_error(kling0: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).respond(200, content=b"")
    with pytest.raises(ak.ProtocolError):
        kling0.tasks.get("t1")


def test_non_json_200_is_protocol_error(kling0: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).respond(200, text="<html>maintenance</html>")
    with pytest.raises(ak.ProtocolError) as info:
        kling0.tasks.get("t1")
    assert "maintenance" in (info.value.excerpt or "")


def test_status_520_with_envelope(kling0: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).respond(520, json={"code": 500, "msg": "origin error"})
    with pytest.raises(ak.ServerError) as info:
        kling0.tasks.get("t1")
    assert info.value.status == 520 and info.value.code == 500


def test_unknown_code_is_api_error(kling0: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).respond(200, json={"code": 418, "msg": "teapot"})
    with pytest.raises(ak.APIError) as info:
        kling0.tasks.get("t1")
    assert type(info.value) is ak.APIError and info.value.code == 418


def test_success_without_data_is_protocol_error(kling0: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).respond(200, json={"code": 200, "msg": "success", "data": None})
    with pytest.raises(ak.ProtocolError):
        kling0.tasks.get("t1")


def test_answer_about_another_task_is_protocol_error(kling0: Kling, mock: respx.MockRouter) -> None:
    mock.get(QUERY).mock(return_value=ok(record("other")))
    with pytest.raises(ak.ProtocolError, match="other"):
        kling0.tasks.get("t1")


def test_create_definite_refusal_402(kling0: Kling, mock: respx.MockRouter) -> None:
    route = mock.post(CREATE).respond(200, json={"code": 402, "msg": "Insufficient credits"})
    with pytest.raises(ak.InsufficientCreditsError):
        kling0.tasks.create("a cat", image="https://x.example/c.png")
    assert route.call_count == 1


def test_all_errors_are_kling_errors() -> None:
    for cls in [*CODES.values(), ak.TaskTimeout, ak.AmbiguousSubmit, ak.TransportError, ak.ProtocolError]:
        assert issubclass(cls, ak.KlingError)


def test_error_envelope_helper_shape() -> None:
    assert envelope(None, 429)["code"] == 429 and CANARY


def test_request_carries_bearer_key(kling: Kling, mock: respx.MockRouter) -> None:
    route = mock.get(QUERY).mock(return_value=ok(record()))
    kling.tasks.get("t1")
    req: httpx.Request = route.calls[0].request
    assert req.headers["authorization"] == f"Bearer {CANARY}"
    assert req.url.params["taskId"] == "t1"
