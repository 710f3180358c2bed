"""Validate outgoing httpx requests against spec/openapi.yaml (openapi-core).

    validator = SpecValidator("https://api.apikley.ru")
    validator.errors(request)      # [] when the request is what the spec allows

`SpecRecordingRouter` is a respx router that validates every request it
intercepts and keeps the violations, so a test can fail on a request the SDK
sent even when the SDK (or a mocked answer) swallowed the resulting error.
The `spec_respx` fixture in conftest.py wraps it.
"""

from __future__ import annotations

import copy
import functools
import re
from http.cookies import SimpleCookie
from typing import Any

import httpx
import respx
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.exceptions import SecurityValidationError
from werkzeug.datastructures import Headers, ImmutableMultiDict

from ._paths import bundled_spec

DEFAULT_BASE = "https://api.apikley.ru"

# RFC 3986 URI (absolute: a scheme is required), from its ABNF's character
# classes. jsonschema checks `format: uri` only when rfc3987 is installed,
# which it is not here, so without this checker a callBackUrl of "not a url"
# would pass silently.
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def is_uri(value: Any) -> bool:
    if not isinstance(value, str):
        return True  # `format` applies to strings only; `type` catches the rest
    return bool(_URI.fullmatch(value)) and not _BAD_PERCENT.search(value)


class HttpxOpenAPIRequest:
    """openapi-core's Request protocol over an httpx.Request."""

    def __init__(self, request: httpx.Request) -> None:
        request.read()
        self._request = request
        cookies: dict[str, str] = {}
        for header in request.headers.get_list("cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            cookies.update({k: v.value for k, v in jar.items()})
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.multi_items())),
            cookie=ImmutableMultiDict(cookies),
        )

    @property
    def host_url(self) -> str:
        return f"{self._request.url.scheme}://{self._request.url.netloc.decode('ascii')}"

    @property
    def path(self) -> str:
        return self._request.url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "")


def _rebased(doc: dict[str, Any], base: str) -> dict[str, Any]:
    """The spec with its servers moved to `base` (path-level ones keep their suffix)."""
    doc = copy.deepcopy(doc)
    original = doc["servers"][0]["url"].rstrip("/")
    base = base.rstrip("/")

    def move(servers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for server in servers:
            url = server["url"].rstrip("/")
            if not url.startswith(original):
                raise ValueError(f"server {url} is not under {original}")
            out.append({**server, "url": base + url[len(original) :]})
        return out

    doc["servers"] = move(doc["servers"])
    for item in doc["paths"].values():
        if "servers" in item:
            item["servers"] = move(item["servers"])
    return doc


@functools.cache
def _openapi(base: str) -> OpenAPI:
    from apikley_kling.catalog import with_alternatives

    doc = with_alternatives(_rebased(bundled_spec(), base))
    return OpenAPI.from_dict(doc, config=Config(extra_format_validators={"uri": is_uri}))


def _describe(error: Exception) -> str:
    text = str(error)
    if len(text) > 160:
        text = text[:150] + " ..."
    parts = [text if text.startswith(type(error).__name__) else f"{type(error).__name__}: {text}".rstrip(": ")]
    cause = error.__cause__
    if cause is not None:
        schema_errors = getattr(cause, "schema_errors", None)
        if schema_errors:
            parts += [f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}" for e in schema_errors]
        else:
            parts.append(f"{type(cause).__name__}: {cause}")
    return "; ".join(parts)


class SpecValidator:
    def __init__(self, base_url: str = DEFAULT_BASE) -> None:
        self.base_url = base_url.rstrip("/")
        self._app = _openapi(self.base_url)

    def errors(self, request: httpx.Request) -> list[str]:
        raw = list(self._app.iter_request_errors(HttpxOpenAPIRequest(request)))
        found = [_describe(e) for e in raw]
        if any(isinstance(e, SecurityValidationError) for e in raw):
            # openapi-core stops at a security failure; look at the rest too,
            # so a request without a token still has its body checked.
            stand_in = httpx.Request(
                request.method,
                request.url,
                headers={**request.headers, "authorization": "Bearer stand-in"},
                content=request.content,
            )
            found += [
                _describe(e)
                for e in self._app.iter_request_errors(HttpxOpenAPIRequest(stand_in))
                if not isinstance(e, SecurityValidationError)
            ]
        # openapi-core accepts "Authorization: Bearer " with nothing after it.
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer") and not auth[len("bearer") :].strip():
            found.append("SecurityValidationError: empty bearer token")
        return found

    def covers(self, request: httpx.Request) -> bool:
        """Whether the request goes to the API at all (result files live on other hosts)."""
        return str(request.url).startswith(self.base_url + "/")


def describe_request(request: httpx.Request) -> str:
    return f"{request.method} {request.url}"


class SpecRecordingRouter(respx.MockRouter):
    """A respx router that validates every intercepted request against the spec.

    Routes take full URLs (`router.api(path)` prefixes the API base): a respx
    base_url would also be forced onto routes for result-file hosts.
    """

    def __init__(self, base_url: str = DEFAULT_BASE, **kwargs: Any) -> None:
        kwargs.setdefault("assert_all_called", False)
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.validator = SpecValidator(base_url)
        self.violations: list[str] = []
        self.checked: list[httpx.Request] = []
        self.unchecked: list[httpx.Request] = []

    def api(self, path: str) -> str:
        return self.base_url + path

    def _inspect(self, request: httpx.Request) -> None:
        if not self.validator.covers(request):
            self.unchecked.append(request)
            return
        self.checked.append(request)
        self.violations += [f"{describe_request(request)}: {e}" for e in self.validator.errors(request)]

    def resolve(self, request: httpx.Request) -> Any:
        self._inspect(request)
        return super().resolve(request)

    async def aresolve(self, request: httpx.Request) -> Any:
        self._inspect(request)
        return await super().aresolve(request)

    def violation_report(self) -> str | None:
        if not self.violations:
            return None
        return f"{len(self.violations)} request(s) broke spec/openapi.yaml:\n  " + "\n  ".join(self.violations)
