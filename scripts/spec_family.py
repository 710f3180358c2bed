"""The Kling family: many model pages on one createTask path become one operation.

The provider publishes one page per model, each describing the same
`POST /api/v1/jobs/createTask` with its own `model` value and `input` object.
Here each model page gives one request schema (`<Name>Request`, its input as
`<Name>Input`), and the operation's body becomes a oneOf of them discriminated
by `model`. The head page (Apikley's own page of the default model) keeps its
responses, callbacks and components for the whole operation: every page shows
the same envelope, and the neighbour pages share the head's components.

A page that cannot be read as one model is refused with its name and the
problem (BundleError), never merged into a body that quietly accepts nothing.
"""

from __future__ import annotations

import copy
import keyword
import re
from typing import Any

CREATE_PATH = "/api/v1/jobs/createTask"
JSON = "application/json"


class BundleError(Exception):
    pass


def body_schema(page: dict[str, Any]) -> dict[str, Any] | None:
    """The createTask request body schema of a model page (None: the page is not a model page)."""
    op = page.get("paths", {}).get(CREATE_PATH, {}).get("post")
    if not isinstance(op, dict):
        return None
    schema = op.get("requestBody", {}).get("content", {}).get(JSON, {}).get("schema")
    return schema if isinstance(schema, dict) else None


def model_ids(name: str, page: dict[str, Any]) -> list[str]:
    """The model ids a page describes: its `model` enum (usually one id; several share the page's input)."""
    schema = body_schema(page)
    assert schema is not None
    values = schema.get("properties", {}).get("model", {}).get("enum")
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise BundleError(f"{name}: `model` must be an enum of model ids, found {values!r}")
    if len(set(values)) != len(values):
        raise BundleError(f"{name}: `model` lists a model id twice: {values!r}")
    return list(values)


def schema_stem(model: str) -> str:
    """A schema name from a model id: kling-2.6/image-to-video -> Kling26ImageToVideo."""
    words = re.split(r"[^A-Za-z0-9]+", model)
    return "".join(w[:1].upper() + w[1:] for w in words if w)


def is_python_name(field: object) -> bool:
    """Whether a page's field name may become a Python name: an ASCII identifier that is not a keyword."""
    return isinstance(field, str) and field.isascii() and field.isidentifier() and not keyword.iskeyword(field)


def check_input_names(name: str, model: str, fields: dict[Any, Any]) -> None:
    """Input field names become Python names (TypedDict keys in the generated inputs.py, keyword arguments), so
    only ASCII identifiers that are not keywords are taken: a page cannot write code into what it generates."""
    for field in fields:
        if not is_python_name(field):
            raise BundleError(f"{name}: {model}'s input field {field!r} is not a Python identifier")


def _check_model_page(name: str, model: str, schema: dict[str, Any]) -> dict[str, Any]:
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise BundleError(f"{name}: the request body of {model} is not an object with properties")
    inp = schema["properties"].get("input")
    if not isinstance(inp, dict) or inp.get("type") != "object" or not isinstance(inp.get("properties"), dict):
        raise BundleError(f"{name}: {model} has no `input` object with properties")
    combined = [k for k in ("anyOf", "oneOf", "allOf", "not") if k in inp]
    if combined:
        raise BundleError(
            f"{name}: {model}'s input uses {combined[0]} at its top, which the generator types as Any "
            "(state alternatives as x-required-any-of in spec/fixes.yaml)"
        )
    if not inp["properties"]:
        raise BundleError(f"{name}: {model}'s input declares no fields")
    props = inp["properties"]
    check_input_names(name, model, props)
    missing = [f for f in inp.get("required", []) if f not in props]
    if missing:
        raise BundleError(f"{name}: {model} requires input fields it does not declare: {', '.join(missing)}")
    return inp


def input_required(schema: dict[str, Any]) -> None:
    """The pages require only `model`, but an input with required fields cannot be left out."""
    inp = schema["properties"]["input"]
    if inp.get("required"):
        req = schema.setdefault("required", [])
        if "input" not in req:
            req.append("input")


def merge_family(
    head: tuple[str, dict[str, Any]], pages: list[tuple[str, dict[str, Any]]], doc: dict[str, Any]
) -> None:
    """Replace the head's createTask body in `doc` by a oneOf over every model page (head first)."""
    models: dict[str, str] = {}
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    mapping: dict[str, str] = {}
    for name, page in [head, *pages]:
        ids = model_ids(name, page)
        for model in ids:
            if model in models:
                raise BundleError(f"{name}: model {model} is described by two pages (first: {models[model]})")
            models[model] = name
        model = ids[0]
        schema = copy.deepcopy(body_schema(page))
        assert schema is not None
        op = page["paths"][CREATE_PATH]["post"]
        inp = _check_model_page(name, model, schema)
        stem = schema_stem(model)
        for suffix in ("Request", "Input"):
            if stem + suffix in schemas:
                raise BundleError(f"{name}: schema {stem}{suffix} exists already (two models with one name?)")
        input_required(schema)
        schema["properties"]["input"] = {"$ref": f"#/components/schemas/{stem}Input"}
        schema["x-title"] = op.get("summary") or model
        schema["x-models"] = ids
        schema["x-page"] = name
        # The page's request example (beside the schema or in it) stays with its model's schema.
        example = op["requestBody"]["content"][JSON].get("example", schema.pop("example", None))
        if isinstance(example, dict):
            schema["example"] = example
        schemas[f"{stem}Input"] = inp
        schemas[f"{stem}Request"] = schema
        mapping.update({m: f"#/components/schemas/{stem}Request" for m in ids})
    op = doc["paths"][CREATE_PATH]["post"]
    media = op["requestBody"]["content"][JSON]
    media.pop("example", None)
    media["schema"] = {
        "oneOf": [{"$ref": ref} for ref in dict.fromkeys(mapping.values())],
        "discriminator": {"propertyName": "model", "mapping": mapping},
        "x-default-model": model_ids(*head)[0],
    }
    op["operationId"] = "create-task"
    op["summary"] = "Create a task with any Kling model"
    op["description"] = "One endpoint for every model: the body's `model` chooses its `input` schema."
