"""Real answers the generated client (apikley_kling_api, used directly) must survive.

The service answers errors with HTTP 200 and the code in the body, sometimes
with a matching HTTP status, sometimes with a status HTTPStatus cannot hold
(455, a proxy's 520), sometimes with `message` for `msg`, with nulls where the
page promises strings, and sometimes not with JSON at all. None of that may
surface as a TypeError/ValueError from inside a model.
"""

from __future__ import annotations

import datetime
import importlib
import io
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from apikley_kling import load_models
from apikley_kling_api import AuthenticatedClient
from apikley_kling_api.api.default import (
    create_task,
    get_download_url,
    get_remaining_credits,
    get_task_details,
    upload_file_base64,
    upload_file_stream,
    upload_file_url,
)
from apikley_kling_api.errors import UnexpectedBody
from apikley_kling_api.models import (
    CreateTaskSuccess,
    CreditsSuccess,
    DownloadUrlRequest,
    DownloadUrlSuccess,
    ErrorCode,
    ErrorEnvelope,
    FileBase64UploadRequest,
    FileStreamUploadRequest,
    FileUploadResult,
    FileUrlUploadRequest,
    TaskCallback,
    TaskRecord,
    TaskRecordSuccess,
    TaskState,
)
from apikley_kling_api.types import UNSET, File

from ._paths import bundled_spec, resolve

BASE = "https://api.test"
KEY = "sk-contract"
IMAGE_URL = "https://example.com/cat.png"
HTML_PAGE = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
PARAM = {"model": "kling/v2-1-standard", "input": {"prompt": "A cat walks", "image_url": IMAGE_URL, "duration": "5"}}


MODELS = load_models()


def _create_body(model_id: str | None = None, **extra: Any) -> Any:
    """The generated request class of a model (the default one unless named), from the page's sample input."""
    model = MODELS[model_id or MODELS.default]
    data = {"model": model.id, "input": model.sample_input(), **extra}
    return _model(model.request_schema).from_dict(data)


# name -> (call with a client, the 200 success model, whether the endpoint answers the envelope)
Call = Callable[[AuthenticatedClient], Any]
ENDPOINTS: dict[str, tuple[Call, type]] = {
    "createTask": (lambda c: create_task.sync_detailed(client=c, body=_create_body()), CreateTaskSuccess),
    "recordInfo": (lambda c: get_task_details.sync_detailed(client=c, task_id="task_1"), TaskRecordSuccess),
    "credits": (lambda c: get_remaining_credits.sync_detailed(client=c), CreditsSuccess),
    "downloadUrl": (
        lambda c: get_download_url.sync_detailed(client=c, body=DownloadUrlRequest(url="https://x.test/v.mp4")),
        DownloadUrlSuccess,
    ),
    "uploadStream": (
        lambda c: upload_file_stream.sync_detailed(
            client=c,
            body=FileStreamUploadRequest(
                file=File(payload=io.BytesIO(b"\x89PNG"), file_name="a.png", mime_type="image/png"),
                upload_path="images",
            ),
        ),
        FileUploadResult,
    ),
    "uploadBase64": (
        lambda c: upload_file_base64.sync_detailed(
            client=c, body=FileBase64UploadRequest(base_64_data="iVBORw0KGgo=", upload_path="images")
        ),
        FileUploadResult,
    ),
    "uploadUrl": (
        lambda c: upload_file_url.sync_detailed(
            client=c, body=FileUrlUploadRequest(file_url=IMAGE_URL, upload_path="images")
        ),
        FileUploadResult,
    ),
}
UPLOADS = {"uploadStream", "uploadBase64", "uploadUrl"}
ENVELOPE_ERROR_CODES = [401, 402, 404, 422, 429, 455, 500, 505]


def _client(status: int, body: bytes, content_type: str = "application/json") -> AuthenticatedClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": content_type})

    return AuthenticatedClient(base_url=BASE, token=KEY, httpx_args={"transport": httpx.MockTransport(handler)})


def _json_client(status: int, payload: Any) -> AuthenticatedClient:
    return _client(status, json.dumps(payload).encode())


def _code_of(parsed: Any) -> int:
    assert parsed is not None
    return int(parsed.code)


# ------------------------------------------------------- HTTP 200 + error code


@pytest.mark.parametrize("code", ENVELOPE_ERROR_CODES)
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_http_200_with_error_code_is_an_error_not_a_success(endpoint: str, code: int) -> None:
    call, success_model = ENDPOINTS[endpoint]
    resp = call(_json_client(200, {"code": code, "msg": "something went wrong", "data": None}))
    assert resp.status_code == 200
    assert _code_of(resp.parsed) == code
    if endpoint in UPLOADS:
        # The upload page has its own answer shape, with the code and data: null.
        assert isinstance(resp.parsed, FileUploadResult)
        assert resp.parsed.data is None
    else:
        assert isinstance(resp.parsed, ErrorEnvelope), type(resp.parsed)
        assert not isinstance(resp.parsed, success_model)
        assert isinstance(resp.parsed.code, ErrorCode)
        assert resp.parsed.msg == "something went wrong"


@pytest.mark.parametrize("endpoint", sorted(set(ENDPOINTS) - UPLOADS))
@pytest.mark.parametrize("code", [400, 418])
def test_a_body_code_outside_the_enum_is_kept(endpoint: str, code: int) -> None:
    call, _ = ENDPOINTS[endpoint]
    resp = call(_json_client(200, {"code": code, "msg": "odd"}))
    assert isinstance(resp.parsed, ErrorEnvelope)
    assert resp.parsed.code == code
    # 400 is documented (task-query page) and typed; 418 is not, and stays a plain int.
    assert isinstance(resp.parsed.code, ErrorCode) is (code in {c.value for c in ErrorCode})


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("status", [455, 520, 429, 401])
def test_http_error_statuses_with_the_envelope(endpoint: str, status: int) -> None:
    call, _ = ENDPOINTS[endpoint]
    resp = call(_json_client(status, {"code": status, "msg": "unavailable"}))
    # A plain int: http.HTTPStatus(455) or (520) raises ValueError.
    assert type(resp.status_code) is int
    assert resp.status_code == status
    assert isinstance(resp.parsed, ErrorEnvelope)
    assert resp.parsed.code == status


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (200, b"", "application/json"),
        (502, HTML_PAGE, "text/html"),
        (200, HTML_PAGE, "text/html"),
        (520, b"", "text/plain"),
        (200, b'{"code": 200, "msg": "succ', "application/json"),
        (200, b"[1, 2, 3]", "application/json"),
    ],
    ids=["empty-200", "html-502", "html-200", "empty-520", "truncated-json", "json-list"],
)
def test_a_body_that_is_not_the_envelope_raises_unexpected_body(
    endpoint: str, status: int, body: bytes, content_type: str
) -> None:
    call, _ = ENDPOINTS[endpoint]
    with pytest.raises(UnexpectedBody) as info:
        call(_client(status, body, content_type))
    assert info.value.status_code == status
    assert info.value.content == body


# ------------------------------------------------------- message, nulls, JSON strings


def test_message_instead_of_msg_on_an_error() -> None:
    resp = ENDPOINTS["createTask"][0](_json_client(200, {"code": 422, "message": "prompt is too long"}))
    assert isinstance(resp.parsed, ErrorEnvelope)
    assert resp.parsed.message == "prompt is too long"
    assert resp.parsed.msg is UNSET


def test_message_instead_of_msg_on_a_success() -> None:
    resp = ENDPOINTS["createTask"][0](_json_client(200, {"code": 200, "message": "ok", "data": {"taskId": "t_9"}}))
    assert isinstance(resp.parsed, CreateTaskSuccess)
    assert resp.parsed.data.task_id == "t_9"
    assert resp.parsed.message == "ok"


def _record(**overrides: Any) -> dict[str, Any]:
    record = {
        "taskId": "task_1",
        "model": "kling/v2-1-standard",
        "state": "generating",
        "param": json.dumps(PARAM),
        "resultJson": None,
        "failCode": None,
        "failMsg": None,
        "costTime": None,
        "completeTime": None,
        "createTime": 1765187766581,
        "updateTime": None,
    }
    record.update(overrides)
    return record


def test_nulls_where_the_page_promises_strings_and_integers() -> None:
    resp = ENDPOINTS["recordInfo"][0](_json_client(200, {"code": 200, "msg": "success", "data": _record()}))
    assert isinstance(resp.parsed, TaskRecordSuccess)
    record = resp.parsed.data
    assert record.fail_code is None
    assert record.fail_msg is None
    assert record.cost_time is None
    assert record.complete_time is None
    assert record.result_json is None
    assert record.create_time == 1765187766581
    assert record.to_dict() == _record()


def test_param_and_result_json_are_strings_holding_json() -> None:
    result = {"resultUrls": ["https://tempfile.example/f/v.mp4"]}
    data = _record(state="success", resultJson=json.dumps(result), failCode="", failMsg="", costTime=84000)
    resp = ENDPOINTS["recordInfo"][0](_json_client(200, {"code": 200, "msg": "success", "data": data}))
    assert isinstance(resp.parsed, TaskRecordSuccess)
    record = resp.parsed.data
    assert isinstance(record.param, str)
    assert isinstance(record.result_json, str)
    assert json.loads(record.param) == PARAM
    assert json.loads(record.result_json) == result
    assert record.state is TaskState.SUCCESS


@pytest.mark.parametrize("state", [s.value for s in TaskState])
def test_known_states_are_typed(state: str) -> None:
    record = TaskRecord.from_dict(_record(state=state))
    assert isinstance(record.state, TaskState)
    assert record.state == state


def test_an_unknown_state_is_kept_as_a_string() -> None:
    resp = ENDPOINTS["recordInfo"][0](_json_client(200, {"code": 200, "data": _record(state="paused_by_moderation")}))
    assert isinstance(resp.parsed, TaskRecordSuccess)
    record = resp.parsed.data
    assert not isinstance(record.state, TaskState)
    assert record.state == "paused_by_moderation"
    assert record.to_dict()["state"] == "paused_by_moderation"


def test_a_callback_body_with_task_id_and_unknown_state() -> None:
    body = {"code": 501, "msg": "failed", "data": {**_record(state="fail", failCode="501"), "task_id": "task_1"}}
    callback = TaskCallback.from_dict(body)
    assert callback.code == 501
    assert callback.data.state is TaskState.FAIL
    assert callback.data.task_id == "task_1"
    assert callback.to_dict() == body


# ------------------------------------------------------- documented examples


def _examples() -> Iterator[tuple[str, Any, str, Any]]:
    """Every object example in the spec: (where, value, kind, target) where kind
    says how to parse it: "model" (a components/schemas name) or "answer"
    (operationId, HTTP status) through the endpoint's own response parser."""
    doc = bundled_spec()
    for name, schema in doc["components"]["schemas"].items():
        for where, value in _walk_examples(schema, f"components/schemas/{name}"):
            yield where, value, "model", name
    for name, response in doc["components"]["responses"].items():
        for mt, media in response.get("content", {}).items():
            for where, value in _media_examples(media, f"components/responses/{name}/{mt}"):
                target = resolve(doc, media["schema"])
                schema_name = media["schema"]["$ref"].rsplit("/", 1)[-1]
                assert target, where
                yield where, value, "model", schema_name
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "servers":
                continue
            for where, value in _media_examples_of_body(op, f"paths{path}/{method}"):
                yield where, value, "request", op["operationId"]
            for status, response in op.get("responses", {}).items():
                if "$ref" in response:
                    continue  # component responses are covered above
                for mt, media in response.get("content", {}).items():
                    for where, value in _media_examples(media, f"paths{path}/{method}/{status}/{mt}"):
                        yield where, value, "answer", (op["operationId"], int(status))


def _walk_examples(node: Any, where: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("example"), dict):
            yield f"{where}/example", node["example"]
        for key, value in node.items():
            if key != "example":
                yield from _walk_examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk_examples(value, f"{where}/{i}")


def _media_examples(media: dict[str, Any], where: str) -> Iterator[tuple[str, Any]]:
    if "example" in media:
        yield f"{where}/example", media["example"]
    for name, ex in media.get("examples", {}).items():
        yield f"{where}/examples/{name}", ex["value"]


def _media_examples_of_body(op: dict[str, Any], where: str) -> Iterator[tuple[str, Any]]:
    for mt, media in op.get("requestBody", {}).get("content", {}).items():
        yield from _media_examples(media, f"{where}/requestBody/{mt}")


EXAMPLES = list(_examples())


def _model(name: str) -> Any:
    return getattr(importlib.import_module("apikley_kling_api.models"), name)


def _same(a: Any, b: Any) -> bool:
    """Equal, reading ISO 8601 strings as instants (to_dict writes +00:00 for Z)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) and isinstance(b, str) and a != b:
        try:
            return datetime.datetime.fromisoformat(a) == datetime.datetime.fromisoformat(b)
        except ValueError:
            return False
    return bool(a == b) and type(a) is type(b)


def test_the_example_walk_finds_the_documented_examples() -> None:
    where = {w for w, *_ in EXAMPLES}
    # The seed's request and answer examples, the query page's three task
    # examples and its error examples, the upload answer: a walk that found
    # fewer would make the round-trip test below vacuous.
    schemas = bundled_spec()["components"]["schemas"]
    with_examples = [m.request_schema for m in MODELS.values() if "example" in schemas[m.request_schema]]
    assert MODELS[MODELS.default].request_schema in with_examples
    for name in with_examples:  # every model page's request example
        assert f"components/schemas/{name}/example" in where
    assert "components/schemas/CreateTaskSuccess/example" in where
    assert "components/responses/UploadSuccess/application/json/example" in where
    for name in ("success", "waiting", "fail"):
        assert f"paths/api/v1/jobs/recordInfo/get/200/application/json/examples/{name}" in where
    assert sum(1 for _, _, kind, _ in EXAMPLES if kind == "answer") >= 7
    assert len(EXAMPLES) >= 12


@pytest.mark.parametrize(("where", "value", "kind", "target"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_documented_example_round_trips(where: str, value: Any, kind: str, target: Any) -> None:
    if kind == "model":
        parsed = _model(target).from_dict(value)
    elif kind == "request":
        raise AssertionError(f"{where}: inline request examples need a model mapping here")
    else:
        operation_id, status = target
        module = importlib.import_module(f"apikley_kling_api.api.default.{operation_id.replace('-', '_')}")
        response = httpx.Response(status, json=value, request=httpx.Request("GET", BASE))
        parsed = module.build_response(client=None, response=response).parsed
        if int(value.get("code", 0)) == 200:
            assert not isinstance(parsed, ErrorEnvelope), f"{where}: a success example parsed as an error"
        if status == 200 and "recordInfo" in where:
            record = parsed.data
            assert isinstance(record, TaskRecord)
            assert isinstance(record.state, TaskState)
            assert _same(record.to_dict(), value["data"])
    assert _same(parsed.to_dict(), value), f"{where}: {parsed.to_dict()!r} != {value!r}"


def test_round_trip_comparison_is_not_blind() -> None:
    # A model that dropped or retyped a field must fail _same().
    assert not _same({"a": 1}, {"a": 1, "b": 2})
    assert not _same({"a": "5"}, {"a": 5})
    assert not _same({"t": "2025-01-01T12:00:00Z"}, {"t": "2025-01-01T12:00:01Z"})
    assert _same({"t": "2025-01-01T12:00:00.000Z"}, {"t": "2025-01-01T12:00:00+00:00"})


# ------------------------------------------------------- real HTTP, a tiny stub


class _StubHandler(BaseHTTPRequestHandler):
    """The two task endpoints as the spec describes them, and nothing more."""

    tasks: dict[str, dict[str, Any]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            self._answer({"code": 401, "msg": "You do not have access permissions"})
            return False
        return True

    def do_POST(self) -> None:
        if not self._authorised():
            return
        if self.path != "/api/v1/jobs/createTask":
            self._answer({"code": 404, "msg": "Not found"})
            return
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        task_id = f"task_stub_{len(self.tasks) + 1}"
        self.tasks[task_id] = _record(taskId=task_id, state="waiting", param=json.dumps(request))
        self._answer({"code": 200, "msg": "success", "data": {"taskId": task_id}})

    def do_GET(self) -> None:
        if not self._authorised():
            return
        url = httpx.URL(self.path)
        record = self.tasks.get(url.params.get("taskId", ""))
        if url.path != "/api/v1/jobs/recordInfo" or record is None:
            self._answer({"code": 404, "msg": "Task not found"})
            return
        self._answer({"code": 200, "msg": "success", "data": record})


@pytest.fixture
def stub_server() -> Iterator[str]:
    handler = type("Handler", (_StubHandler,), {"tasks": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_generated_client_creates_and_reads_back_over_http(stub_server: str) -> None:
    body = _create_body(callBackUrl="https://example.com/hook")
    with AuthenticatedClient(base_url=stub_server, token=KEY) as client:
        created = create_task.sync_detailed(client=client, body=body)
        assert created.status_code == 200
        assert isinstance(created.parsed, CreateTaskSuccess)
        task_id = created.parsed.data.task_id

        got = get_task_details.sync_detailed(client=client, task_id=task_id)
        assert isinstance(got.parsed, TaskRecordSuccess)
        record = got.parsed.data
        assert record.taskId == task_id
        assert record.state is TaskState.WAITING
        assert isinstance(record.param, str)
        assert json.loads(record.param) == body.to_dict()

        missing = get_task_details.sync_detailed(client=client, task_id="task_nope")
        assert isinstance(missing.parsed, ErrorEnvelope)
        assert missing.parsed.code == ErrorCode.VALUE_404


async def test_generated_async_client_against_the_stub(stub_server: str) -> None:
    async with AuthenticatedClient(base_url=stub_server, token=KEY) as client:
        created = await create_task.asyncio_detailed(client=client, body=_create_body())
        assert isinstance(created.parsed, CreateTaskSuccess)
        got = await get_task_details.asyncio_detailed(client=client, task_id=created.parsed.data.task_id)
        assert isinstance(got.parsed, TaskRecordSuccess)
    async with AuthenticatedClient(base_url=stub_server, token="sk-wrong") as client:
        denied = await get_task_details.asyncio_detailed(client=client, task_id="task_stub_1")
        assert isinstance(denied.parsed, ErrorEnvelope)
        assert denied.parsed.code == ErrorCode.VALUE_401


@pytest.mark.parametrize(
    "module",
    [
        create_task,
        get_download_url,
        get_remaining_credits,
        get_task_details,
        upload_file_base64,
        upload_file_stream,
        upload_file_url,
    ],
)
def test_endpoint_modules_offer_public_request_building_and_parsing(module: Any) -> None:
    # The SDK sends each request on its own httpx client: it builds it and parses the answer through these
    # public functions of the template the project owns, never through a module's private names.
    assert callable(module.get_kwargs) and callable(module.build_response)
    assert not hasattr(module, "_get_kwargs") and not hasattr(module, "_build_response")


def test_the_sdk_uses_no_private_name_of_the_generated_client() -> None:
    import ast
    from pathlib import Path

    import apikley_kling

    root = Path(apikley_kling.__file__).parent
    used = {
        (path.relative_to(root).as_posix(), node.attr)
        for path in sorted(root.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in ("_get_kwargs", "_build_response", "_parse_response")
    }
    assert used == set()
