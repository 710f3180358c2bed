"""Schemathesis's failures as findings: the field each names (from the instance path or the message)."""

from __future__ import annotations

import json
import re
from typing import Any

from ._findings import Finding

# Built-in checks whose failures are about the request sent, not the answer.
_REQUEST_SIDE = frozenset({"negative_data_rejection", "positive_data_acceptance"})


def message_lines(failure: Any) -> list[str]:
    text = str(getattr(failure, "message", "") or "")
    return [line.strip()[:300] for line in text.splitlines() if line.strip()]


def _field_named(lines: list[str]) -> str:
    """The field a schemathesis message names ("in body - input -> cfg_scale: ..." is input.cfg_scale)."""
    for line in lines:
        found = re.search(r"in \w+ - (.*)$", line)
        if not found:
            continue
        rest = found.group(1)
        path = re.match(r"([\w.\[\]-]+(?: -> [\w.\[\]-]+)*): ", rest)
        required = re.search(r"'([^']+)' is a required property", rest)
        parts = [*(path.group(1).split(" -> ") if path else ()), *((required.group(1),) if required else ())]
        if parts:
            return ".".join(parts)
    return ""


def finding_from_failure(check: str, label: str, failure: Any) -> Finding:
    """A built-in check's failure as a finding: its field (from the instance path or the message), its lines."""
    lines = message_lines(failure)
    title = str(getattr(failure, "title", "") or type(failure).__name__)
    path = getattr(failure, "instance_path", None)
    field_path = ".".join(str(p) for p in path) if isinstance(path, list | tuple) else _field_named(lines)
    side = "request" if check in _REQUEST_SIDE else "answer"
    seen = lines[0] if lines else title
    if hasattr(failure, "expected_statuses"):
        seen = f"accepted (status {getattr(failure, 'status_code', '?')})"
        title = "a refusal (4xx) of schema-violating data"
    elif hasattr(failure, "instance"):
        seen = json.dumps(failure.instance, default=str)[:120]
    named = [line for line in lines if "->" in line or (field_path and field_path.split(".")[-1] in line)]
    return Finding(check, label, field_path, title, seen, side, detail=tuple(named[:4] or lines[:2]))


def accepted_by_the_spec(label: str, failure: Any, lines: list[str]) -> bool:
    """A schema failure on a whole answer that the checker's own reading of the spec accepts.

    The two validators differ at the edges (jsonschema-rs refuses 1765187766581.0 as an integer, which
    JSON Schema allows); the checker's reading, which also picks the branch by `code`, is the one kept.
    """
    from . import _openapi
    from ._answers import schema_errors

    if getattr(failure, "instance_path", None) != [] or not hasattr(failure, "instance"):
        return False
    by_label = {op.label: op.id for op in _openapi.operations().values()}
    found = re.search(r"status code (\d{3})", " ".join(lines))
    operation_id = by_label.get(label)
    if operation_id is None:
        return False
    return not schema_errors(operation_id, int(found.group(1)) if found else 200, failure.instance)
