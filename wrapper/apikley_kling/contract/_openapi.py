"""The bundled spec as the contract checker reads it: operations, answer schemas, the task record.

Everything the checker judges by comes from here, and all of it from the spec
that ships inside the package (`apikley_kling.catalog.load_spec`): the operations and
their answer schemas, the createTask -> recordInfo link (which says where a
created task's id is), the task states and the record's properties.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

from ..catalog import load_spec, resolve, with_alternatives


@dataclass(frozen=True)
class Operation:
    """One operation, addressed the way schemathesis labels it (path-level servers folded into the path)."""

    id: str
    method: str
    path: str

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Link:
    """Where a created task's id sits in the create answer, and which query parameter takes it."""

    target: Operation
    parameter: str
    pointer: tuple[str, ...]


def spec() -> dict[str, Any]:
    """The bundled spec (shared and cached: callers must not change it)."""
    return load_spec()


def single_base(doc: dict[str, Any]) -> dict[str, Any]:
    """The spec as schemathesis gets it: path-level servers folded into the paths
    (one base URL for all), and the known gaps below closed."""
    doc = with_alternatives(doc)  # alternatives the generator cannot type (spec/fixes.yaml), for the fuzzer
    schemas = doc["components"]["schemas"]
    requests = [name for name, schema in schemas.items() if "x-models" in schema]  # one per model page (regen.py)
    for name, prop in [*((r, "callBackUrl") for r in requests), ("FileUrlUploadRequest", "fileUrl")]:
        # Known gap: `format: uri` admits "data:" or "urn:x", which no service
        # can POST a callback to or fetch a file from; the simulator requires
        # a host. Narrowed here to what the prose means (a web URL).
        schemas[name]["properties"][prop].setdefault("pattern", "^https?://[^/?#\\s]+")
    for name in ("FileStreamUploadRequest", "FileBase64UploadRequest", "FileUrlUploadRequest"):
        # Known gap: "uploadPath: without a leading or trailing slash" is prose
        # only; the service (and the simulator) answers 422 for "/x" or "x/".
        schemas[name]["properties"]["uploadPath"].setdefault("pattern", "^([^/]([\\s\\S]*[^/])?)?$")
    base = doc["servers"][0]["url"].rstrip("/")
    paths: dict[str, Any] = {}
    for path, item in doc["paths"].items():
        servers = item.pop("servers", None)
        if servers:
            url = servers[0]["url"].rstrip("/")
            if not url.startswith(base):
                raise ValueError(f"{path}: server {url} is not under {base}")
            path = url[len(base) :] + path
        paths[path] = item
    doc["paths"] = paths
    return doc


@functools.cache
def _folded() -> dict[str, Any]:
    return single_base(spec())


@functools.cache
def operations() -> dict[str, Operation]:
    """Every operation of the spec by operationId."""
    found: dict[str, Operation] = {}
    for path, item in _folded()["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                found[op["operationId"]] = Operation(op["operationId"], method.upper(), path)
    return found


def _raw_operation(operation: Operation) -> dict[str, Any]:
    found: dict[str, Any] = _folded()["paths"][operation.path][operation.method.lower()]
    return found


def plain_reads() -> list[Operation]:
    """The GET operations that need no parameter (e.g. the credit balance): free to ask every run."""
    found = []
    for operation in operations().values():
        raw = _raw_operation(operation)
        if operation.method == "GET" and not any(p.get("required") for p in raw.get("parameters", ())):
            found.append(operation)
    return found


def _json_schema_of(node: dict[str, Any]) -> Any:
    return node.get("requestBody", node).get("content", {}).get("application/json", {}).get("schema")


@functools.cache
def create_operation() -> Operation:
    """The operation that creates tasks: the one whose body picks its schema by a discriminator."""
    for operation in operations().values():
        body = _json_schema_of(_raw_operation(operation)) if "requestBody" in _raw_operation(operation) else None
        if isinstance(body, dict) and "discriminator" in body:
            return operation
    raise LookupError("the spec has no operation whose body has a discriminator")


@functools.cache
def task_link() -> Link:
    """The create answer's link to the task query (the spec's OpenAPI link)."""
    responses = _raw_operation(create_operation())["responses"]
    for answer in responses.values():
        for link in answer.get("links", {}).values():
            [(parameter, expression)] = link["parameters"].items()
            pointer = tuple(str(expression).split("#", 1)[1].strip("/").split("/"))
            return Link(operations()[link["operationId"]], parameter, pointer)
    raise LookupError(f"{create_operation().id} has no link to a task query")


def _response(operation: Operation, status: int) -> dict[str, Any] | None:
    responses = _raw_operation(operation)["responses"]
    node = responses.get(str(status), responses.get(f"{str(status)[0]}XX", responses.get("default")))
    while isinstance(node, dict) and "$ref" in node:
        node = resolve_pointer(node["$ref"])
    return node if isinstance(node, dict) else None


@functools.cache
def answer_schema(operation_id: str, status: int) -> Any:
    """The JSON Schema an answer with this HTTP status must satisfy (None: the spec states none)."""
    response = _response(operations()[operation_id], status)
    schema = _json_schema_of(response) if response is not None else None
    return None if schema is None else resolve(copy.deepcopy(schema), spec())


def resolve_pointer(ref: str) -> Any:
    """The node a local $ref names."""
    target: Any = spec()
    for part in ref.removeprefix("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


def follow(node: Any) -> Any:
    """`node`, with $refs followed until a node that is not a reference."""
    while isinstance(node, dict) and "$ref" in node:
        node = resolve_pointer(node["$ref"])
    return node


def _enum_in(node: Any) -> tuple[Any, ...] | None:
    node = follow(node)
    if not isinstance(node, dict):
        return None
    if isinstance(node.get("enum"), list):
        return tuple(node["enum"])
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(key, ()):
            found = _enum_in(branch)
            if found:
                return found
    return None


@functools.cache
def record_schema() -> dict[str, Any]:
    """The task record (the `data` of a task query answer), as the spec states it, $refs unresolved."""
    link = task_link()
    response = _response(link.target, 200)
    schema = follow(_json_schema_of(response) if response else None)
    for branch in [*schema.get("oneOf", ()), *schema.get("anyOf", ()), schema]:
        for part in [follow(branch), *(follow(p) for p in follow(branch).get("allOf", ()))]:
            data = part.get("properties", {}).get("data") if isinstance(part, dict) else None
            if data is not None:
                found: dict[str, Any] = follow(data)
                return found
    raise LookupError(f"{link.target.id}: no success answer with a data object")


@functools.cache
def task_states() -> tuple[str, ...]:
    """The states a task record may be in, as the spec enumerates them."""
    found = _enum_in(record_schema().get("properties", {}).get("state"))
    if not found:
        raise LookupError("the task record's state has no enumerated values in the spec")
    return tuple(str(s) for s in found)


@functools.cache
def code_meaning(word: str) -> int | None:
    """The code whose documented meaning starts with `word` ("**422**: Validation Error - ..." for "Validation")."""
    import re

    for schema in spec()["components"]["schemas"].values():
        text = str(schema.get("properties", {}).get("code", {}).get("description", ""))
        found = re.search(rf"\*\*(\d{{3}})\*\*: {re.escape(word)}", text)
        if found:
            return int(found.group(1))
    return None


@functools.cache
def millisecond_times() -> tuple[str, ...]:
    """The record's properties the spec describes as Unix milliseconds."""
    props = record_schema().get("properties", {})
    return tuple(n for n, p in props.items() if "unix ms" in str(p.get("description", "")).lower())
