"""The drifts the suite puts between the checker and the simulator: breaking ones and harmless ones.

Every name and limit is read from the spec (the catalog, the record schema),
never written here: the field a drift moves is the first of its kind that the
spec has, and the finding must name it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from apikley_kling.catalog import Field, models
from apikley_kling.contract import _openapi
from apikley_kling.contract._records import FAIL_CODE, FAIL_MSG, MODEL, PARAM, RESULT, RESULT_URLS, STATE, TASK_ID
from apikley_kling.models import TaskState
from apikley_kling.simulator import DEFAULT_API_KEY, Timings

from ._drift_proxy import Drift, Exchange

MODELS = models()
DEFAULT = MODELS[MODELS.default]
CREATE = _openapi.create_operation().id
LINK = _openapi.task_link()
QUERY = LINK.target.id
CREDITS = next(o.id for o in _openapi.operations().values() if o.method == "GET" and o.id not in (QUERY,))
RECORD = _openapi.record_schema()["properties"]
# The first integer property of the record (a timestamp or a duration), the first nullable ones.
INTEGER = next(n for n, p in RECORD.items() if p.get("type") == "integer" and p.get("nullable"))
NULLABLE = [n for n, p in RECORD.items() if p.get("nullable")]
ALL_STATES = _openapi.task_states()
UNKNOWN_STATE = "completed"  # a state a provider might add or rename to
assert UNKNOWN_STATE not in ALL_STATES


def _first(test: Callable[[Field], bool]) -> Field:
    return next(f for f in DEFAULT.fields if test(f))


BOUNDED = _first(lambda f: f.type == "number" and f.maximum is not None and f.step is not None)
REQUIRED = _first(lambda f: f.required and f.type == "string" and f.file is None)
CHOICE = _first(lambda f: bool(f.choices and len(f.choices) > 1))
assert BOUNDED.maximum is not None and BOUNDED.step is not None
TOP = BOUNDED.maximum
STEP = BOUNDED.step
PAST = round(TOP + STEP, 6)


def _data(exchange: Exchange) -> dict[str, Any] | None:
    body = exchange.body
    return body["data"] if isinstance(body, dict) and isinstance(body.get("data"), dict) else None


def _records(change: Callable[[dict[str, Any]], bool]) -> Callable[[Exchange], bool]:
    def rewrite(exchange: Exchange) -> bool:
        data = _data(exchange) if exchange.operation == QUERY else None
        return data is not None and change(data)

    return rewrite


def _in_state(state: TaskState, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], bool]:
    def apply(data: dict[str, Any]) -> bool:
        if data.get(STATE) != state.value:
            return False
        before = copy.deepcopy(data)
        change(data)
        return data != before

    return apply


def _inputs(change: Callable[[dict[str, Any]], bool]) -> Callable[[Exchange], bool]:
    """A rewrite of createTask request inputs (what the simulator then sees)."""

    def rewrite(exchange: Exchange) -> bool:
        body = exchange.request
        inp = body.get("input") if exchange.operation == CREATE and isinstance(body, dict) else None
        return isinstance(inp, dict) and change(inp)

    return rewrite


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ------------------------------------------------------------ breaking


def _clamp_past_top(inp: dict[str, Any]) -> bool:
    # Accepts a value one step past the maximum: the simulator is handed the maximum instead.
    value = inp.get(BOUNDED.name)
    if _number(value) and TOP < value <= PAST + 1e-9:
        inp[BOUNDED.name] = TOP
        return True
    return False


def _refuse_top(inp: dict[str, Any]) -> bool:
    if inp.get(BOUNDED.name) == TOP:
        inp[BOUNDED.name] = PAST
        return True
    return False


def _fill_required(inp: dict[str, Any]) -> bool:
    if REQUIRED.name in inp:
        return False
    inp[REQUIRED.name] = REQUIRED.sample()
    return True


def _refuse_last_choice(inp: dict[str, Any]) -> bool:
    assert CHOICE.choices is not None
    if inp.get(CHOICE.name) == CHOICE.choices[-1]:
        inp[CHOICE.name] = f"{CHOICE.choices[-1]}-refused"
        return True
    return False


def _strip_code(exchange: Exchange) -> bool:
    return isinstance(exchange.body, dict) and exchange.body.pop("code", None) is not None


def _strip_task_id(exchange: Exchange) -> bool:
    data = _data(exchange) if exchange.operation == CREATE else None
    return data is not None and data.pop(LINK.pointer[-1], None) is not None


def _forget(exchange: Exchange) -> bool:
    if exchange.operation != QUERY or not isinstance(exchange.body, dict) or exchange.body.get("code") != 200:
        return False
    exchange.body = {"code": 404, "msg": "Task not found", "data": None}
    return True


def _drop_success_data(exchange: Exchange) -> bool:
    body = exchange.body
    if isinstance(body, dict) and body.get("code") == 200 and "success" not in body and "data" in body:
        del body["data"]
        return True
    return False


def _accept_any_key(exchange: Exchange) -> bool:
    if exchange.headers.get("authorization") == f"Bearer {DEFAULT_API_KEY}":
        return False
    exchange.headers["authorization"] = f"Bearer {DEFAULT_API_KEY}"
    return True


def _credits_as_text(exchange: Exchange) -> bool:
    if exchange.operation == CREDITS and isinstance(exchange.body, dict) and _number(exchange.body.get("data")):
        exchange.body["data"] = str(exchange.body["data"])
        return True
    return False


def _param_without_required(data: dict[str, Any]) -> bool:
    request = json.loads(data.get(PARAM) or "null")
    inp = request.get("input") if isinstance(request, dict) else None
    model = MODELS.get(request.get(MODEL, "")) if isinstance(request, dict) else None
    if not isinstance(inp, dict) or model is None or REQUIRED.name not in model.required or REQUIRED.name not in inp:
        return False
    del inp[REQUIRED.name]
    data[PARAM] = json.dumps(request)
    return True


def _other_model(data: dict[str, Any]) -> bool:
    others = [m for m in MODELS if m != data.get(MODEL)]
    data[MODEL] = others[0]
    return True


def _urls(change: Callable[[list[Any]], list[Any]]) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        result = json.loads(data[RESULT])
        result[RESULT_URLS] = change(result[RESULT_URLS])
        data[RESULT] = json.dumps(result)

    return apply


SUCCESS, FAIL = TaskState.SUCCESS, TaskState.FAIL
VALIDATION = _openapi.code_meaning("Validation")
NOT_FOUND = _openapi.code_meaning("Not Found")
SECONDS = _openapi.millisecond_times()[0]


def _validation_code_moves(exchange: Exchange) -> bool:
    body = exchange.body
    if exchange.operation == CREATE and isinstance(body, dict) and body.get("code") == VALIDATION:
        body["code"] = 400
        return True
    return False


def _serve_unknown(exchange: Exchange) -> bool:
    body = exchange.body
    if exchange.operation == QUERY and isinstance(body, dict) and body.get("code") == NOT_FOUND:
        exchange.body = {"code": 200, "msg": "success", "data": {}}
        return True
    return False


def _in_seconds(data: dict[str, Any]) -> bool:
    if not _number(data.get(SECONDS)) or not data[SECONDS]:
        return False
    data[SECONDS] = data[SECONDS] // 1000
    return True


def _no_description(exchange: Exchange) -> bool:
    body = exchange.body
    if not isinstance(body, dict) or body.get("code") in (200, None):
        return False
    changed = [body.pop(k) for k in ("msg", "message") if k in body]
    return bool(changed)


def _as_text(exchange: Exchange) -> bool:
    exchange.content_type = "text/plain"
    return True


ALL_FAIL = {"timings": Timings.instant(fail_probability=1.0)}


def _set(key: str, value: Callable[[Any], Any]) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        data[key] = value(data.get(key))

    return apply


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        data.pop(key, None)

    return apply


def _other_task(data: dict[str, Any]) -> bool:
    data[TASK_ID] = f"{data.get(TASK_ID)}-other"
    return True


BREAKING = [
    Drift(
        "record-integer-becomes-string",
        True,
        f"data.{INTEGER}",
        answer=_records(_in_state(SUCCESS, _set(INTEGER, str))),
    ),
    Drift(
        "unknown-state",
        True,
        f"data.{STATE}",
        answer=_records(_in_state(SUCCESS, _set(STATE, lambda _: UNKNOWN_STATE))),
    ),
    Drift("result-json-object", True, f"data.{RESULT}", answer=_records(_in_state(SUCCESS, _set(RESULT, json.loads)))),
    Drift("result-urls-vanish", True, f"data.{RESULT}", answer=_records(_in_state(SUCCESS, _urls(lambda _: [])))),
    Drift(
        "result-urls-relative",
        True,
        f"{RESULT}.{RESULT_URLS}",
        answer=_records(_in_state(SUCCESS, _urls(lambda u: ["/" + x.split("/", 3)[-1] for x in u]))),
    ),
    Drift(
        "fail-code-number",
        True,
        f"data.{FAIL_CODE}",
        answer=_records(_in_state(FAIL, _set(FAIL_CODE, int))),
        sim=ALL_FAIL,
    ),
    Drift(
        "fail-msg-missing", True, f"data.{FAIL_MSG}", answer=_records(_in_state(FAIL, _drop(FAIL_MSG))), sim=ALL_FAIL
    ),
    Drift("code-missing", True, "code", answer=_strip_code),
    Drift("success-without-data", True, "data", answer=_drop_success_data),
    Drift("credits-as-text", True, "data", answer=_credits_as_text),
    Drift("wrong-key-served", True, "auth_is_enforced", request=_accept_any_key),
    Drift("limit-widened-one-step", True, f"input.{BOUNDED.name}", request=_inputs(_clamp_past_top)),
    Drift("required-not-enforced", True, f"input.{REQUIRED.name}", request=_inputs(_fill_required)),
    Drift(
        "param-loses-a-required-field",
        True,
        f"data.{PARAM}.input.{REQUIRED.name}",
        answer=_records(_param_without_required),
    ),
    Drift("record-names-another-model", True, f"data.{MODEL}", answer=_records(_other_model)),
    Drift("record-names-another-task", True, f"data.{TASK_ID}", answer=_records(_other_task)),
    Drift("validation-error-code-changes", True, "code", answer=_validation_code_moves),
    Drift("unknown-task-served", True, "unknown_task_not_found", answer=_serve_unknown),
    Drift("times-in-seconds", True, f"data.{SECONDS}", answer=_records(_in_seconds)),
    Drift("errors-without-description", True, "msg", answer=_no_description),
    Drift("json-served-as-text", True, "Content-Type", answer=_as_text),
    # Seen only by creating (paid): no free mode can see them.
    Drift("create-without-task-id", True, ".".join(LINK.pointer), free=False, answer=_strip_task_id),
    Drift("created-task-invisible", True, "data", free=False, answer=_forget),
    Drift("limit-narrowed-at-maximum", True, f"input.{BOUNDED.name}", free=False, request=_inputs(_refuse_top)),
    Drift("last-choice-refused", True, f"input.{CHOICE.name}", free=False, request=_inputs(_refuse_last_choice)),
]
