"""The harmless drifts: what a provider may change without breaking its contract (none may raise an alarm)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from apikley_kling.models import TaskState

from ._drift_proxy import Drift, Exchange
from ._drifts import (
    ALL_STATES,
    FAIL,
    FAIL_CODE,
    FAIL_MSG,
    MODEL,
    MODELS,
    NULLABLE,
    PARAM,
    RECORD,
    RESULT,
    RESULT_URLS,
    STATE,
    SUCCESS,
    _in_state,
    _records,
)


def _everywhere(change: Callable[[dict[str, Any]], None]) -> Callable[[Exchange], bool]:
    def rewrite(exchange: Exchange) -> bool:
        if not isinstance(exchange.body, dict):
            return False
        before = json.dumps(exchange.body)
        change(exchange.body)
        return json.dumps(exchange.body) != before

    return rewrite


def _new_field(body: dict[str, Any]) -> None:
    body["newTopLevel"] = {"added": True}
    if isinstance(body.get("data"), dict):
        body["data"]["newField"] = [1, "two"]


def _message_for_msg(body: dict[str, Any]) -> None:
    if "msg" in body:
        body["message"] = body.pop("msg")


def _mirror(exchange: Exchange) -> bool:
    code = exchange.body.get("code") if isinstance(exchange.body, dict) else None
    if isinstance(code, int) and code != 200 and 400 <= code < 600 and exchange.status != code:
        exchange.status = code
        return True
    return False


def _always_200(exchange: Exchange) -> bool:
    if exchange.status == 200:
        return False
    exchange.status = 200
    return True


def _nulls(data: dict[str, Any]) -> bool:
    """null wherever the spec says a property may be null and the answer has nothing in it."""
    before = dict(data)
    final = TaskState(data[STATE]).is_final if data.get(STATE) in ALL_STATES else False
    for name in NULLABLE:
        empty = data.get(name) in ("", 0)
        not_yet = name != PARAM and not final and name in RECORD and RECORD[name].get("type") == "integer"
        not_failed = name in (FAIL_CODE, FAIL_MSG) and data.get(STATE) != FAIL.value
        if name in data and (empty or not_yet or not_failed):
            data[name] = None
    return data != before


def _error_data_null(exchange: Exchange) -> bool:
    body = exchange.body
    if isinstance(body, dict) and body.get("code") not in (200, None) and "data" not in body:
        body["data"] = None
        return True
    return _records(_nulls)(exchange)


def _extra_result_key(data: dict[str, Any]) -> None:
    result = json.loads(data[RESULT])
    result["resultWaterMarkUrls"] = result[RESULT_URLS]
    data[RESULT] = json.dumps(result)


def _progress(data: dict[str, Any]) -> bool:
    data["progress"] = 100 if data.get(STATE) in (SUCCESS.value, FAIL.value) else 0
    return True


def _reverse(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _reverse(node[k]) for k in reversed(list(node))}
    if isinstance(node, list):
        return [_reverse(v) for v in node]
    return node


def _reversed_keys(exchange: Exchange) -> bool:
    if not isinstance(exchange.body, dict) or len(exchange.body) < 2:
        return False
    exchange.body = _reverse(exchange.body)
    return True


def _param_defaults(data: dict[str, Any]) -> bool:
    request = json.loads(data.get(PARAM) or "null")
    model = MODELS.get(request.get(MODEL, "")) if isinstance(request, dict) else None
    if model is None or not isinstance(request.get("input"), dict):
        return False
    added = {f.name: f.default for f in model.fields if f.has_default and f.name not in request["input"]}
    request["input"].update(added)
    data[PARAM] = json.dumps(request)
    return bool(added)


def _charset(exchange: Exchange) -> bool:
    exchange.content_type = "application/json; charset=utf-8"
    return True


def _empty_fail_fields(data: dict[str, Any]) -> None:
    data[FAIL_CODE], data[FAIL_MSG] = "", ""


HARMLESS = [
    Drift("new-fields", False, answer=_everywhere(_new_field)),
    Drift("message-instead-of-msg", False, answer=_everywhere(_message_for_msg)),
    Drift("http-status-mirrors-code", False, answer=_mirror),
    Drift("http-200-with-error-code", False, answer=_always_200, sim={"mirror_http_status": True}),
    Drift("documented-nulls", False, answer=_error_data_null),
    Drift("result-json-extra-key", False, answer=_records(_in_state(SUCCESS, _extra_result_key))),
    Drift("progress-reported", False, answer=_records(_progress)),
    Drift("empty-fail-fields-on-success", False, answer=_records(_in_state(SUCCESS, _empty_fail_fields))),
    Drift("key-order-reversed", False, answer=_reversed_keys),
    Drift("param-filled-with-defaults", False, answer=_records(_param_defaults)),
    Drift("json-with-charset", False, answer=_charset),
]
