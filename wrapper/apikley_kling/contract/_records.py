"""A task record (the `data` of a task query) against the spec and the provider's documented behaviour.

The spec's schema admits any string as a state (so that clients keep working
when the provider adds one) and types `resultJson` as a string; what the
provider documents beyond the schema is checked here: a state outside the
spec's list is a finding (the spec is behind), a success carries a JSON
string with non-empty `resultUrls`, a failure says why (`failCode`,
`failMsg`), nothing is in `resultJson` before success, the fail fields are
empty on success, and `param` is the create request as a JSON string.

Nothing here trusts a type: a record shaped wrongly is a finding, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..catalog import models
from ..models import TaskState
from . import _openapi
from ._answers import shown
from ._findings import Finding, Tally

# The record's properties this module reads; each is in the spec's record schema (a test holds it to that).
TASK_ID, MODEL, STATE, PARAM = "taskId", "model", "state", "param"
RESULT, FAIL_CODE, FAIL_MSG = "resultJson", "failCode", "failMsg"
# resultJson's description: {"resultUrls": [...]} for media models, which every model of this family is.
RESULT_URLS = "resultUrls"
RECORD_CHECK = "task_record_keeps_contract"
FINISHED_CHECK = "finished_task_keeps_contract"
ECHO_CHECK = "created_task_is_visible"
# A Unix time in milliseconds below this (March 1973) is almost surely in seconds.
EARLIEST_MS = 10**11


def missing_properties() -> list[str]:
    """The names read here that the spec's task record does not have (empty while both agree)."""
    known = _openapi.record_schema().get("properties", {})
    return [n for n in (TASK_ID, MODEL, STATE, PARAM, RESULT, FAIL_CODE, FAIL_MSG) if n not in known]


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _add(tally: Tally, check: str, label: str, name: str, expected: str, seen: str, where: str) -> None:
    tally.add(Finding(check, label, f"data.{name}", expected, seen, where=where))


def check_record(
    tally: Tally, data: Any, *, label: str, queried: str | None = None, where: str = ""
) -> TaskState | None:
    """Judge one record; return its state when the spec knows it (None: unknown, or no record at all)."""
    if not isinstance(data, Mapping):
        return None  # the answer check reports a `data` of the wrong shape
    tally.apply(RECORD_CHECK)
    where = where or str(data.get(TASK_ID) or queried or "")
    if queried is not None and data.get(TASK_ID) != queried:
        seen = f"{_seen(data, TASK_ID)} (queried {json.dumps(queried)})"
        _add(tally, RECORD_CHECK, label, TASK_ID, "the queried id", seen, where)
    state = data.get(STATE)
    if state not in _openapi.task_states():
        expected = "one of the spec's task states " + ", ".join(_openapi.task_states())
        _add(tally, RECORD_CHECK, label, STATE, expected, _seen(data, STATE), where)
        return None
    _check_param(tally, data, label, where)
    for name in _openapi.millisecond_times():
        value = data.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < EARLIEST_MS:
            _add(tally, RECORD_CHECK, label, name, "Unix milliseconds (documented)", f"{shown(value)}: seconds?", where)
    try:
        known = TaskState(state)
    except ValueError:
        return None  # a state the spec lists and this SDK does not: the spec is newer, nothing to judge
    if not known.is_final:
        if not _empty(data.get(RESULT)):
            _add(tally, RECORD_CHECK, label, RESULT, f"empty while {state} (documented)", _seen(data, RESULT), where)
        return known
    tally.apply(FINISHED_CHECK)
    if known is TaskState.SUCCESS:
        _check_success(tally, data, label, where)
    else:
        _check_fail(tally, data, label, where)
    return known


def _seen(data: Mapping[str, Any], name: str) -> str:
    return shown(data[name]) if name in data else "missing"


def _check_param(tally: Tally, data: Mapping[str, Any], label: str, where: str) -> None:
    raw = data.get(PARAM)
    if _empty(raw):
        return  # nullable in the spec; an echo is demanded only where the checker sent the request
    request = _decode(raw)
    if not isinstance(request, Mapping):
        _add(tally, RECORD_CHECK, label, PARAM, "the create request as a JSON string", _seen(data, PARAM), where)
        return
    catalog = models()
    chosen = request.get(MODEL)
    if not isinstance(chosen, str) or chosen not in catalog:
        expected = "a create request for one of the spec's models"
        _add(tally, RECORD_CHECK, label, f"{PARAM}.{MODEL}", expected, shown(chosen), where)
        return
    if isinstance(data.get(MODEL), str) and data[MODEL] != chosen:
        _add(
            tally,
            RECORD_CHECK,
            label,
            MODEL,
            f"the model of its param, {json.dumps(chosen)}",
            _seen(data, MODEL),
            where,
        )
    from ..catalog import describe, first_error, validator

    errors = list(validator(catalog[chosen].request_schema).iter_errors(_without_nulls(request)))
    if errors:
        field, message = describe(first_error(errors))
        _add(tally, RECORD_CHECK, label, f"{PARAM}.{field}", f"a valid create request: {message}", "invalid", where)


def _without_nulls(node: Any) -> Any:
    """The request as sent: an echo that spells an option not sent as null says the same thing."""
    if isinstance(node, Mapping):
        return {k: _without_nulls(v) for k, v in node.items() if v is not None}
    return node


def _decode(raw: Any) -> Any:
    if not isinstance(raw, str):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _check_success(tally: Tally, data: Mapping[str, Any], label: str, where: str) -> None:
    raw = data.get(RESULT)
    result = _decode(raw)
    if not isinstance(result, Mapping):
        expected = f'a JSON string {{"{RESULT_URLS}": [...]}} on success (documented)'
        _add(tally, FINISHED_CHECK, label, RESULT, expected, _seen(data, RESULT), where)
    else:
        urls = result.get(RESULT_URLS)
        good = isinstance(urls, list) and urls and all(_is_web_url(u) for u in urls)
        if not good:
            expected = "a non-empty list of http(s) URLs on success (documented)"
            seen = shown(urls) if RESULT_URLS in result else "missing"
            _add(tally, FINISHED_CHECK, label, f"{RESULT}.{RESULT_URLS}", expected, seen, where)
    for name in (FAIL_CODE, FAIL_MSG):
        if not _empty(data.get(name)):
            _add(tally, FINISHED_CHECK, label, name, "empty on success (documented)", _seen(data, name), where)


def _check_fail(tally: Tally, data: Mapping[str, Any], label: str, where: str) -> None:
    for name in (FAIL_CODE, FAIL_MSG):
        value = data.get(name)
        if not (isinstance(value, str) and value):
            expected = "a non-empty string saying why the task failed (documented)"
            _add(tally, FINISHED_CHECK, label, name, expected, _seen(data, name), where)


def _is_web_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_echo(tally: Tally, data: Any, sent: Mapping[str, Any], *, label: str, where: str) -> None:
    """A record of a task the checker created names its model and echoes every value sent in `param`."""
    if not isinstance(data, Mapping):
        return
    tally.apply(ECHO_CHECK)
    if data.get(MODEL) != sent.get(MODEL):
        _add(
            tally, ECHO_CHECK, label, MODEL, f"the model sent, {json.dumps(sent.get(MODEL))}", _seen(data, MODEL), where
        )
    request = _decode(data.get(PARAM))
    if not isinstance(request, Mapping):
        _add(tally, ECHO_CHECK, label, PARAM, "the create request sent, as a JSON string", _seen(data, PARAM), where)
        return
    for path, value in _differences(sent, request):
        seen = f"{_at(request, path)} (sent: {shown(value, 40)})"
        _add(tally, ECHO_CHECK, label, f"{PARAM}.{path}", "the value sent, echoed", seen, where)


def _differences(sent: Mapping[str, Any], echoed: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Paths of `sent` whose value `echoed` does not repeat (keys the echo adds, such as defaults,
    are fine, and so is 1 for 1.0: JSON does not tell them apart)."""
    out: list[tuple[str, Any]] = []
    for key, value in sent.items():
        path = f"{prefix}{key}"
        other = echoed.get(key, _MISSING) if isinstance(echoed, Mapping) else _MISSING
        if isinstance(value, Mapping) and isinstance(other, Mapping):
            out += _differences(value, other, path + ".")
        elif other is _MISSING or other != value or isinstance(other, bool) != isinstance(value, bool):
            out.append((path, value))
    return out


_MISSING: Any = object()


def _at(doc: Mapping[str, Any], path: str) -> str:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return "missing"
        node = node[part]
    return shown(node)
