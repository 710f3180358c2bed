"""Requests checked against the bundled spec, the way the service answers: one message naming the field.

The conversion of spec schemas to JSON Schema (refs, `nullable`, the overlay's
`x-required-any-of`) and the wording of each error live in `apikley_kling.catalog`,
shared with the SDK, so the simulator and the client never disagree on a limit.

A createTask body is checked against one model's request schema, picked by
`model` through the spec's discriminator mapping (read by `catalog.models()`),
so a new model page needs no change here.
"""

from __future__ import annotations

import functools

from apikley_kling.catalog import CREATE_PATH, Model, describe, first_error, load_spec, models, validator


class Refused(Exception):
    """The error answer an operation gives instead of its result: the envelope's code and msg (and HTTP headers)."""

    def __init__(self, code: int, msg: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg
        self.headers = headers


def require(name: str, body: object) -> None:
    """Refused (422, "field: what is wrong") unless `body` satisfies the named component schema."""
    msg = check(name, body)
    if msg is not None:
        raise Refused(422, msg)


def check(name: str, body: object) -> str | None:
    """None when `body` satisfies the named component schema, else "field: what is wrong"."""
    errors = list(validator(name).iter_errors(body))
    if not errors:
        return None
    where, message = describe(first_error(errors))
    return f"{where}: {message}"


def check_create(body: object) -> tuple[Model | None, str | None]:
    """The model a createTask body asks for and None, or (None or the model, the 422 message)."""
    catalog = models()
    if not isinstance(body, dict):
        # Any model's schema says the same about a body that is not an object.
        return None, check(catalog[catalog.default].request_schema, body) or "body: must be a JSON object"
    discriminator = discriminator_property()
    if discriminator not in body:
        return None, f"{discriminator}: is required"
    chosen = body[discriminator]
    if not isinstance(chosen, str) or chosen not in catalog:
        return None, f"{discriminator}: must be one of " + ", ".join(repr(m) for m in catalog)
    model = catalog[chosen]
    return model, check(model.request_schema, body)


@functools.cache
def discriminator_property() -> str:
    """The body property that names the model (the spec's discriminator propertyName)."""
    body = load_spec()["paths"][CREATE_PATH]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return str(body["discriminator"]["propertyName"])
