"""The checker's own checks, registered with schemathesis: each judges every answer the fuzzer gets.

Their findings go into the run's tally (`TALLY`, or the one `_fuzz.run` swaps in); the after_call
hook `body_code_as_status` gives the built-in checks the status a client must act on.
"""

from __future__ import annotations

import json
from typing import Any

from . import _openapi
from ._answers import CHECK as ANSWER_CHECK
from ._answers import body_code, check_answer
from ._findings import Finding, Tally
from ._probes import TASK_ID_CHECK, VISIBLE
from ._records import ECHO_CHECK, RECORD_CHECK, check_echo, check_record
from ._service import WRONG_KEY, judge_success_data, judge_wrong_key

# The checks registered with schemathesis (each judges every answer it gets).
CUSTOM_CHECKS = (ECHO_CHECK, "success_carries_data", "auth_is_enforced", ANSWER_CHECK, RECORD_CHECK)
# The tally the registered checks write into (swapped for each run; this one by default).
TALLY = Tally()
APPLIED = TALLY.applied
_current: list[Tally] = [TALLY]


def body_code_as_status(response: Any) -> None:
    """HTTP 200 + {"code": 422} is a 422: give the checks the status a client must act on.

    An upload answer says how it went in `success` as well; one that says false and gives no code
    is a refusal (400) all the same.
    """
    if response.status_code != 200:
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        return
    code = body_code(body)
    if code is None and isinstance(body, dict) and body.get("success") is False:
        code = 400
    if code is not None and code != 200 and 100 <= code <= 599:
        response.status_code = code


def _operation_id(case: Any) -> str:
    by_label = {op.label: op.id for op in _openapi.operations().values()}
    return by_label.get(f"{case.operation.method.upper()} {case.operation.path}", "")


def _judged(check: Any) -> Any:
    """Run a check into a fresh tally, merge it, and fail the case (for schemathesis) when it found something."""

    def wrapper(ctx: Any, response: Any, case: Any) -> bool | None:
        found = Tally()
        found.probed = _current[0].probed
        check(found, response, case)
        _current[0].merge(found)
        groups = found.groups()
        if groups:
            raise AssertionError("\n".join(g.headline() for g in groups))
        return True if found.applied else None

    wrapper.__name__ = check.__name__
    wrapper.__doc__ = check.__doc__
    return wrapper


def _answer_matches_spec(tally: Tally, response: Any, case: Any) -> None:
    """Every answer matches the spec's schema for its operation and status, each breach named by field."""
    if str(response.request.method).upper() != case.operation.method.upper():
        return  # unsupported_method's probe: a 405 from the server's router, outside the spec
    check_answer(tally, _operation_id(case), response.status_code, response.content)


def _task_record_keeps_contract(tally: Tally, response: Any, case: Any) -> None:
    """A task query's record keeps the spec and the documented behaviour (states, param, results, fail fields)."""
    link = _openapi.task_link()
    if _operation_id(case) != link.target.id:
        return
    body = _body(response)
    queried = (case.query or {}).get(link.parameter)
    # Only tasks this run created or was given: a fuzzed id's answer says nothing a record check can judge
    # (a success for an id never issued is the unknown-task check's business).
    known = isinstance(queried, str) and queried in _current[0].known
    if body_code(body) == 200 and isinstance(body.get("data"), dict) and known:
        check_record(
            tally, body["data"], label=link.target.label, queried=queried if isinstance(queried, str) else None
        )


def _success_carries_data(tally: Tally, response: Any, case: Any) -> None:
    """An answer that says success (code 200) has a `data` that is not null."""
    judge_success_data(tally, case.operation.label, _body(response))


def _auth_is_enforced(tally: Tally, response: Any, case: Any) -> None:
    """An operation that answered success with our key refuses a wrong key (HTTP or body code 401).

    Replaces the built-in ignored_auth, whose probe reads only the HTTP
    status and so misses this service's HTTP 200 + code 401.
    """
    if body_code(_body(response)) != 200 or case.operation.label in tally.probed:
        return
    tally.probed.add(case.operation.label)
    probe = case.call(headers={"Authorization": f"Bearer {WRONG_KEY}"})
    judge_wrong_key(tally, case.operation.label, probe.status_code, probe.content)


def _created_task_is_visible(tally: Tally, response: Any, case: Any) -> None:
    """A task createTask reported is at once known to the task query, with the model and param sent."""
    create, link = _openapi.create_operation(), _openapi.task_link()
    body = _body(response)
    if _operation_id(case) != create.id or body_code(body) != 200:
        return
    tally.apply(TASK_ID_CHECK)
    task_id: Any = body
    for part in link.pointer:
        task_id = task_id.get(part) if isinstance(task_id, dict) else None
    if not (isinstance(task_id, str) and task_id):
        expected = f"a non-empty string (what {link.target.id} takes as {link.parameter})"
        tally.add(Finding(TASK_ID_CHECK, create.label, ".".join(link.pointer), expected, json.dumps(task_id)))
        return
    _current[0].known.add(task_id)
    query = case.operation.schema[link.target.path][link.target.method].Case(
        query={link.parameter: task_id}, headers=_auth_headers(response)
    )
    answer = query.call()
    record = check_answer(tally, link.target.id, answer.status_code, answer.content, where=task_id)
    tally.apply(ECHO_CHECK)
    if body_code(record) != 200 or not isinstance(record.get("data"), dict):
        tally.add(Finding(ECHO_CHECK, link.target.label, "data", VISIBLE, repr(answer.content[:120]), where=task_id))
        return
    check_record(tally, record["data"], label=link.target.label, queried=task_id)
    sent = _body(response.request)
    if isinstance(sent, dict):
        check_echo(tally, record["data"], sent, label=link.target.label, where=task_id)


def _body(message: Any) -> Any:
    """A response's (or request's) JSON body; None when there is none or it is not JSON."""
    raw = getattr(message, "content", None)
    raw = getattr(message, "body", None) if raw is None else raw
    try:
        return json.loads(raw) if raw else None
    except (TypeError, ValueError):
        return None


def _auth_headers(response: Any) -> dict[str, str]:
    auth = response.request.headers.get("Authorization")
    return {"Authorization": auth} if auth else {}


_registered: list[bool] = []


def register_checks() -> None:
    """Register the custom checks once per process (schemathesis keeps a global registry)."""
    import schemathesis

    if _registered:
        return
    for check in (
        _created_task_is_visible,
        _success_carries_data,
        _auth_is_enforced,
        _answer_matches_spec,
        _task_record_keeps_contract,
    ):
        wrapped = _judged(check)
        wrapped.__name__ = check.__name__.lstrip("_")
        schemathesis.check(wrapped)
    _registered.append(True)
