"""Named rules for this provider's recurring page habits, applied to every page before bundling.

Each rule is a function `rule(page) -> page` with one habit to undo and the
reason in its docstring; `RULES` lists them in the order they run. A new page
with the same habits needs nothing; a defect of one page belongs in
spec/fixes.yaml instead (with `page:`), where its reason is written beside it.
The rules only ever remove tool noise or restate, as machine-readable
extensions, facts the page already states in prose: they never invent a limit.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

Page = dict[str, Any]

# Apikley's and kie.ai's pages both name the MIME types a file field takes only in prose.
_TYPES_PROSE = re.compile(
    r"(?:accepted|supported)\s+(?:types|formats)\s*:\s*(?P<types>[^;.)]+?)\s*[;.)]", re.IGNORECASE
)
_SIZE_PROSE = re.compile(
    r"max(?:imum)?\s+(?:file\s+)?size\s*:\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[KMG]B)", re.IGNORECASE
)
_STEP_PROSE = re.compile(r"\(\s*step\s*:\s*(?P<step>\d+(?:\.\d+)?)\s*\)", re.IGNORECASE)
# "JPG, PNG" in the newer wording: the same types by their usual names.
_FORMAT_NAMES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "mp4": "video/mp4",
}
_UNITS = {"KB": 1024, "MB": 1024**2, "GB": 1024**3}


def walk_schemas(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict in the page that is (or may be) a schema, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk_schemas(value)


def bearer_scheme(page: Page) -> Page:
    """`type: bearer` is not an OpenAPI scheme type: it is `type: http` with `scheme: bearer`."""
    for scheme in page.get("components", {}).get("securitySchemes", {}).values():
        if isinstance(scheme, dict) and scheme.get("type") == "bearer":
            scheme["type"] = "http"
            scheme.setdefault("scheme", "bearer")
    return page


def _strip_apidog(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_apidog(v) for k, v in node.items() if not k.startswith(("x-apidog", "x-run-in-apidog"))}
    if isinstance(node, list):
        return [_strip_apidog(v) for v in node]
    return node


def apidog_keys(page: Page) -> Page:
    """The docs tool's `x-apidog*` keys (orders, folders, scheme groups inside security requirements) mean nothing
    to OpenAPI, and inside a security requirement they are read as a scheme that does not exist."""
    stripped: Page = _strip_apidog(page)
    return stripped


def unused_schemes(page: Page) -> Page:
    """Newer pages add a second scheme (`BearerAuth1`, the same bearer key described in Chinese) that no
    requirement uses."""
    schemes = page.get("components", {}).get("securitySchemes")
    if not isinstance(schemes, dict):
        return page
    used: set[str] = set()
    for req in page.get("security", []):
        used.update(req)
    for item in page.get("paths", {}).values():
        for op in item.values() if isinstance(item, dict) else ():
            for req in op.get("security", []) if isinstance(op, dict) else ():
                used.update(req)
    for name in [n for n in schemes if n not in used]:
        del schemes[name]
    return page


def examples_lists(page: Page) -> Page:
    """`examples: [value]` on a schema is OpenAPI 3.1; in a 3.0 document a schema has one `example`.

    Media types keep their `examples` map (3.0 has that); only lists, which are schema examples, change.
    """
    if not str(page.get("openapi", "")).startswith("3.0"):
        return page
    for node in walk_schemas(page):
        examples = node.get("examples")
        if isinstance(examples, list):
            del node["examples"]
            if examples and "example" not in node:
                node["example"] = examples[0]
    return page


def _mime_types(text: str) -> list[str]:
    found: list[str] = []
    for word in re.split(r"[,\s]+", text.strip()):
        word = word.strip().lower()
        if not word:
            continue
        mime = word if "/" in word else _FORMAT_NAMES.get(word)
        if mime is None:
            return []  # a wording we do not know: say nothing rather than guess
        if mime not in found:
            found.append(mime)
    return found


def file_fields_from_prose(page: Page) -> Page:
    """File fields say which files they take only in their description ("Accepted types: image/jpeg, image/png;
    Max size: 10.0MB", "supported types: ...; maximum file size: 10.0MB", "Accepted formats: JPG, PNG. Maximum
    file size: 10MB"). The same facts become `x-accepted-types` and `x-max-bytes`, on the string field or on the
    array whose items are the URLs; a field that already has them keeps its own."""
    for node in walk_schemas(page):
        text = node.get("description")
        if not isinstance(text, str) or node.get("type") not in ("string", "array"):
            continue
        if node.get("type") == "array" and (node.get("items") or {}).get("type") != "string":
            continue
        types = _TYPES_PROSE.search(text)
        mimes = _mime_types(types.group("types")) if types else []
        if not mimes:
            continue
        node.setdefault("x-accepted-types", mimes)
        size = _SIZE_PROSE.search(text)
        if size:
            node.setdefault("x-max-bytes", round(float(size.group("n")) * _UNITS[size.group("unit").upper()]))
    return page


def step_from_prose(page: Page) -> Page:
    """Numbers say their step only in prose ("(Min: 0, Max: 1, Step: 0.1)"). As `x-step` it can be read (help,
    boundary checks); it is not `multipleOf`, since nothing shows the service refusing a value between steps."""
    for node in walk_schemas(page):
        text = node.get("description")
        if node.get("type") in ("number", "integer") and isinstance(text, str) and "x-step" not in node:
            match = _STEP_PROSE.search(text)
            if match:
                step = float(match.group("step"))
                node["x-step"] = int(step) if step.is_integer() else step
    return page


def documented_error_codes(pages: list[Page]) -> set[int]:
    """Error codes the pages list in their envelope's `code` enum (433, "sub-key usage exceeds limit", appears on
    newer pages only). The bundle's ErrorCode gains each, so a 433 is a known error, not a surprise."""
    codes: set[int] = set()
    for page in pages:
        for node in walk_schemas(page.get("components", {})):
            code = node.get("properties", {}).get("code") if isinstance(node.get("properties"), dict) else None
            if isinstance(code, dict) and isinstance(code.get("enum"), list):
                codes.update(c for c in code["enum"] if isinstance(c, int) and not isinstance(c, bool) and c >= 300)
    return codes


RULES: list[Callable[[Page], Page]] = [
    apidog_keys,
    bearer_scheme,
    unused_schemes,
    examples_lists,
    file_fields_from_prose,
    step_from_prose,
]


def normalise(page: Page) -> Page:
    """A deep copy of the page with every rule applied, in order."""
    out = copy.deepcopy(page)
    for rule in RULES:
        out = rule(out)
    return out
