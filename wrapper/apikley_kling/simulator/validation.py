"""Request validation taken from the bundled spec, compiled once.

The spec is OpenAPI 3.0, which is not quite JSON Schema: `$ref`s point into
the document and `nullable: true` stands for "or null". Both are rewritten
here into plain JSON Schema so that `jsonschema` can check requests, and each
error becomes one message that names the field the way the service does
("input.prompt: must be at most 5000 characters").
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator, FormatChecker

from apikley_kling._spec import load_spec


def _resolve(node: Any, root: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, list):
        return [_resolve(item, root, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"recursive $ref {ref} is not supported by the simulator")
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return _resolve(target, root, (*seen, ref))
    out: dict[str, Any] = {}
    for key, value in node.items():
        # Examples and vendor extensions say nothing a validator can check.
        if key in ("example", "examples") or key.startswith("x-"):
            continue
        out[key] = _resolve(value, root, seen)
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def to_json_schema(name: str) -> dict[str, Any]:
    """A component schema of the bundled spec as self-contained JSON Schema."""
    doc = load_spec()
    resolved: dict[str, Any] = _resolve(doc["components"]["schemas"][name], doc)
    return resolved


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    # RFC 3986 URIs are printable ASCII only (an IRI must be percent-encoded
    # first); urlsplit alone happily accepts control and non-ASCII characters.
    if any(not ("\x21" <= ch <= "\x7e") for ch in value):
        return False
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path)


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("uri")(_is_uri)


@functools.cache
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(to_json_schema(name), format_checker=_FORMATS)


def _field(path: list[str | int], leaf: str | None = None) -> str:
    parts = [str(p) for p in path]
    if leaf is not None:
        parts.append(leaf)
    return ".".join(parts) or "body"


def _describe(error: jsonschema.ValidationError) -> str:
    path = list(error.absolute_path)
    kind = error.validator
    limit = error.validator_value
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        return f"{_field(path, missing)}: is required"
    where = _field(path)
    if kind == "maxLength":
        return f"{where}: must be at most {limit} characters"
    if kind == "minLength":
        return f"{where}: must be at least {limit} characters"
    if kind == "maximum":
        return f"{where}: must be at most {limit}"
    if kind == "minimum":
        return f"{where}: must be at least {limit}"
    if kind == "enum":
        return f"{where}: must be one of " + ", ".join(repr(v) for v in limit)
    if kind == "type":
        wanted = limit if isinstance(limit, str) else " or ".join(limit)
        return f"{where}: must be of type {wanted}"
    if kind == "format":
        return f"{where}: must be a valid {limit}"
    return f"{where}: {error.message}"


def check(name: str, body: object) -> str | None:
    """None when `body` satisfies the named schema, else the service's message for the first problem."""
    errors = list(validator(name).iter_errors(body))
    if not errors:
        return None
    # Deterministic pick: the shallowest path first, then by field name; a wrong
    # type explains more than the enum or bound it also breaks.
    errors.sort(
        key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path], e.validator != "type", str(e.validator))
    )
    return _describe(errors[0])
