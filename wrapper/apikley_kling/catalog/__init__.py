"""Every Kling model the bundled spec describes, and the one validator of a create.

    from apikley_kling.catalog import models
    m = models()["kling/v2-1-pro"]
    [f.name for f in m.fields]          # the input fields, in the page's order
    m.check(prompt="A cat walks")       # ValidationError if a create with these values would be refused

The public names are `models` (also as `load_models`, the package root's name for it),
`Models`, `Model`, `Field` and `FileRule`.

The rest of `__all__` is semi-internal: the spec loader, its schemas as JSON Schema
and the create validator, for the SDK's own packages (the engine, pricing, the
simulator and the contract checker) that must agree with it. They may change
without a deprecation period.

Three things are called "models", and keep their names: `catalog.models()` (this function, every
model of the spec), the module `apikley_kling.models` (the SDK's `Task` and `TaskState`) and the
client property `Kling.models` (the same catalog, reached from a client).

Modules: `_models` (the catalog), `_spec` (the bundled document, read once),
`_schema` (spec schema -> JSON Schema, patterns by RE2), `_validate` (a create checked
and planned before anything is sent).
"""

from ._models import CREATE_PATH, Field, FileRule, Model, Models, models
from ._schema import describe, first_error, is_uri, resolve, validator, with_alternatives
from ._spec import load_spec, spec_path
from ._spec import schema as component_schema
from ._validate import CreatePlan, Upload, build_request, check_url, plan_create

load_models = models

__all__ = [
    "CREATE_PATH",
    "CreatePlan",
    "Field",
    "FileRule",
    "Model",
    "Models",
    "Upload",
    "build_request",
    "check_url",
    "component_schema",
    "describe",
    "first_error",
    "is_uri",
    "load_models",
    "load_spec",
    "models",
    "plan_create",
    "resolve",
    "spec_path",
    "validator",
    "with_alternatives",
]
