"""Every answer against the spec's schema for its operation and status, each breach named by its field.

A generic validator handed an answer whose schema is a `oneOf` (success or
error envelope) says only "not valid under any of the given schemas". Here the
branch is picked first, by the body's own `code` (the branch whose errors do
not involve `code`), so the breach is reported at its field: `data.state`,
`data.resultJson`, `code`.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from . import _openapi
from ._findings import CODE_FIELD, ENVELOPE_CHECK, Finding, Tally

CHECK = ENVELOPE_CHECK
# Where an answer says what went wrong: the spec's envelope names both (some answers use `message`).
DESCRIPTIONS = ("msg", "message")
_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"))


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    for kind, name in _JSON_TYPES:
        if isinstance(value, kind):
            return name
    return "object" if isinstance(value, dict) else type(value).__name__


def shown(value: Any, limit: int = 80) -> str:
    """A value as a report shows it: its JSON type, then the value, cut short."""
    if value is None:
        return "null"
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{json_type(value)} {text}"


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value or " " in value


@functools.cache
def _validator(operation_id: str, status: int) -> Any:
    from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]

    from ..catalog import is_uri

    schema = _openapi.answer_schema(operation_id, status)
    if schema is None:
        return None
    # The formats the answers use: a URL a client fetches, a time it parses.
    formats = FormatChecker(formats=())
    formats.checks("uri")(is_uri)
    formats.checks("date-time")(_is_date_time)
    branches = schema.get("oneOf") if isinstance(schema, dict) else None
    return [Draft202012Validator(b, format_checker=formats) for b in (branches or [schema])]


def _touches_code(error: Any) -> bool:
    path = list(error.absolute_path)
    return (path[:1] == [CODE_FIELD]) or (
        not path and error.validator == "required" and f"'{CODE_FIELD}'" in error.message
    )


@functools.cache
def _quick(operation_id: str, status: int) -> Any:
    """A fast yes/no on the whole answer schema (most answers are valid), when jsonschema-rs is installed.

    schemathesis brings it with the [contract] extra; the detailed errors still come from `jsonschema`.
    """
    try:
        import jsonschema_rs
    except ImportError:
        return None
    schema = _openapi.answer_schema(operation_id, status)
    return None if schema is None else jsonschema_rs.validator_for(schema, validate_formats=True)


def schema_errors(operation_id: str, status: int, body: Any) -> list[Any]:
    """The errors of the branch the body's `code` picks (none when any branch accepts it)."""
    validators = _validator(operation_id, status)
    if not validators:
        return []
    quick = _quick(operation_id, status)
    if quick is not None and quick.is_valid(body):
        return []
    results = [sorted(v.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))) for v in validators]
    if any(not errors for errors in results):
        return []
    consistent = [errors for errors in results if not any(_touches_code(e) for e in errors)]
    return min(consistent or results, key=len)


def expectation(error: Any) -> str:
    """What the schema asked for, in words."""
    kind, limit = error.validator, error.validator_value
    if kind == "required":
        return "present (required)"
    if kind in ("anyOf", "oneOf") and error.context:
        by_branch: dict[Any, str] = {}
        for sub in error.context:
            by_branch.setdefault(next(iter(sub.relative_schema_path), None), expectation(sub))
        return " or ".join(dict.fromkeys(by_branch.values()))
    if kind == "type":
        return " or ".join(limit) if isinstance(limit, list) else str(limit)
    if kind == "enum":
        return "one of " + ", ".join(json.dumps(v) for v in limit)
    words = {
        "maximum": "at most {}",
        "minimum": "at least {}",
        "maxLength": "at most {} characters",
        "minLength": "at least {} characters",
        "maxItems": "at most {} items",
        "minItems": "at least {} items",
        "format": "a valid {}",
        "pattern": "matching {}",
        "const": "{}",
    }
    return words[kind].format(limit) if kind in words else f"{kind} {limit}"


def error_field(error: Any) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and "'" in error.message:
        path.append(error.message.split("'")[1])
    return ".".join(path)


def check_answer(
    tally: Tally, operation_id: str, status: int, content: bytes, *, where: str = "", http_status: int | None = None
) -> Any:
    """Judge one answer; return its parsed body (None when it is not JSON)."""
    label = _openapi.operations()[operation_id].label
    tally.apply(CHECK)
    try:
        body = json.loads(content)
    except ValueError:
        seen = repr(content[:60]) if content else "an empty body"
        tally.add(Finding(CHECK, label, "", "a JSON body", seen, where=where))
        return None
    code = body_code(body)
    real = status if http_status is None else http_status
    if real != 200 and isinstance(code, int) and not isinstance(code, bool) and code != real:
        expected = "HTTP 200, or an HTTP status that is the body's code"
        tally.add(Finding(CHECK, label, CODE_FIELD, expected, f"HTTP {real} with code {code}", where=where))
    if code is not None and code != 200 and not any(isinstance(body.get(k), str) and body[k] for k in DESCRIPTIONS):
        expected = f"an error description in {' or '.join(DESCRIPTIONS)} (documented)"
        tally.add(Finding(CHECK, label, DESCRIPTIONS[0], expected, "missing", where=where))
    for error in schema_errors(operation_id, status, body):
        seen = "missing" if error.validator == "required" else shown(error.instance)
        tally.add(Finding(CHECK, label, error_field(error), expectation(error), seen, where=where))
    return body


def body_code(body: Any) -> int | None:
    """The body's `code` when it is an integer (the status a client must act on), else None."""
    code = body.get(CODE_FIELD) if isinstance(body, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None
