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


# A switch for the video's sound says so only in prose ("Whether to generate sound", "with audio").
_AUDIO_PROSE = re.compile(r"\b(?:sound|audio)\b", re.IGNORECASE)
AUDIO_ROLE = "audio-track"


def audio_switch_from_prose(page: Page) -> Page:
    """A boolean whose description speaks of sound or audio switches the video's audio track on: marked
    `x-role: audio-track`, so that readers (the simulator) find it by its role, never by its name."""
    for node in walk_schemas(page):
        text = node.get("description")
        if node.get("type") == "boolean" and isinstance(text, str) and _AUDIO_PROSE.search(text):
            node.setdefault("x-role", AUDIO_ROLE)
    return page


# Ranges and lists a field states only in its description: "Optional duration: 3s - 15s", "range: 3 to 15",
# "Range: 1-12", "is 1-12 seconds", "between 1 and 10", "one of: std, pro". A span is the field's own only
# after a colon, "range" or "is" ("the difference ... must be within 3000 to 8000" is not); a number glued to a
# letter or a dot ("v2-1", "1.5-2.") is not a bound.
_NUM = r"\d+(?:\.\d+)?"
_SECONDS = r"(?:\s*(?:s|secs?|seconds?)\b)?"
_SPAN_PROSE = re.compile(
    rf"(?:\brange\b\s*:?|:|\bis\b)\s*(?P<lo>{_NUM})(?P<u1>{_SECONDS})\s*(?:-|\u2013|\bto\b)\s*(?P<hi>{_NUM})(?P<u2>{_SECONDS})(?![\w]|\.\d)",
    re.IGNORECASE,
)
_BETWEEN_PROSE = re.compile(
    rf"\bbetween\s+(?P<lo>{_NUM})(?P<u1>{_SECONDS})\s+and\s+(?P<hi>{_NUM})(?P<u2>{_SECONDS})(?![\w]|\.\d)",
    re.IGNORECASE,
)
_ONE_OF_PROSE = re.compile(r"\b(?:one of|options)\s*:\s*(?P<list>[^;()\n]+?)\s*(?:\.(?=\s|$)|[;)]|$)", re.IGNORECASE)
_IN_SECONDS = re.compile(r"\bin seconds\b", re.IGNORECASE)
_TOKEN = re.compile(r"^[\w:.+/-]+$")
_MAX_SPAN = 100  # a string range becomes an enum of each value: a wider one is not a list of choices


def _bound(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


def _spans(text: str) -> list[tuple[str, int | float, int | float, bool]]:
    """(wording, low, high, in seconds) for every range the text states."""
    found = []
    for pattern in (_SPAN_PROSE, _BETWEEN_PROSE):
        for match in pattern.finditer(text):
            lo, hi = _bound(match["lo"]), _bound(match["hi"])
            if lo < hi:
                found.append((match[0].lstrip(": "), lo, hi, bool(match["u1"] or match["u2"])))
    return found


def _listed(text: str, kind: str) -> tuple[str, list[Any]] | None:
    """(wording, values) for "one of: a, b or c", each value of the field's type; None when absent or unclear."""
    match = _ONE_OF_PROSE.search(text)
    if match is None:
        return None
    words = [w.strip().strip("'\"`") for w in re.split(r"\s*,\s*(?:or\s+)?|\s+or\s+", match["list"])]
    if not words or not all(_TOKEN.match(w) for w in words):
        return None
    if kind == "string":
        return match[0], words
    try:
        values = [_bound(w) for w in words]
    except ValueError:
        return None
    if kind == "integer" and not all(isinstance(v, int) for v in values):
        return None
    return match[0], values


def _digits(value: object) -> bool:
    return isinstance(value, str) and value.isdigit()


def _prose_constraint(node: dict[str, Any], text: str) -> tuple[str, dict[str, Any]] | None:
    """(wording, the schema keys it states) for one field, or None when the text says nothing clear."""
    kind = node["type"]
    spans = _spans(text)
    listed = _listed(text, kind)
    if len(spans) + (listed is not None) != 1:
        return None  # nothing, or two statements: which one holds is a guess
    if listed is not None:
        return listed[0], {"enum": listed[1]}
    wording, lo, hi, seconds = spans[0]
    seconds = seconds or bool(_IN_SECONDS.search(text))
    unit = {"x-unit": "s"} if seconds else {}
    if kind in ("integer", "number"):
        if kind == "integer" and not (isinstance(lo, int) and isinstance(hi, int)):
            return None
        return wording, {"minimum": lo, "maximum": hi, **unit}
    # A string holds these numbers as digits only when the page says so: a unit, or digits as its own values.
    as_digits = seconds or _digits(node.get("default")) or _digits(node.get("example"))
    if not (isinstance(lo, int) and isinstance(hi, int)) or not as_digits or hi - lo >= _MAX_SPAN:
        return None
    return wording, {"enum": [str(n) for n in range(lo, hi + 1)], **unit}


def _admits(keys: dict[str, Any], value: object) -> bool:
    if "enum" in keys:
        return value in keys["enum"]
    return isinstance(value, (int, float)) and keys["minimum"] <= value <= keys["maximum"]


def _states_its_own(node: dict[str, Any]) -> bool:
    if "enum" in node or "x-from-prose" in node:
        return True
    if node["type"] == "string":
        return any(k in node for k in ("format", "pattern", "x-accepted-types"))
    return "minimum" in node or "maximum" in node


def ranges_from_prose(page: Page, name: str = "") -> Page:
    """String and number fields state their range or their choices only in their description ("Optional duration:
    3s - 15s", "between 1 and 10", "one of: std, pro"). The same facts become the schema's own constraint: an
    `enum` of each stated value for a string of digits ("3".."15") or a listed string, `minimum`/`maximum` for a
    number, with `x-unit: s` where the page says seconds and `x-from-prose` holding the page and the words read.
    A field that states its own constraint keeps it; a description with no such wording, two of them, or one
    its own default or example contradicts is left as published."""
    for node in walk_schemas(page):
        text = node.get("description")
        if node.get("type") not in ("string", "integer", "number") or not isinstance(text, str):
            continue
        if _states_its_own(node):
            continue
        found = _prose_constraint(node, " ".join(text.split()))
        if found is None:
            continue
        wording, keys = found
        if any(k in node and not _admits(keys, node[k]) for k in ("default", "example")):
            continue
        node.update(keys)
        node["x-from-prose"] = {"page": name, "text": wording}
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
    ranges_from_prose,
    audio_switch_from_prose,
]


def normalise(page: Page, name: str = "") -> Page:
    """A deep copy of the page with every rule applied, in order; `name` (the page's file) is where
    `ranges_from_prose` says it read its wording."""
    out = copy.deepcopy(page)
    for rule in RULES:
        out = ranges_from_prose(out, name) if rule is ranges_from_prose else rule(out)
    return out
