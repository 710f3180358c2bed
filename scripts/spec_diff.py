"""Compare two versions of a provider page (or two bundles) and say what broke.

    python -m scripts.spec_diff OLD NEW          # files, or NEW as an http(s) URL
    python -m scripts.spec_diff OLD NEW --json   # the same findings as JSON

Exit status: 1 when a change would break a client of OLD, 0 otherwise, 2 on
a usage error. Both documents are first read through the bundler's named rules
(scripts/spec_rules.py), so what a page states only in prose (the file types a
field takes, its size limit, a number's step) is compared too. A createTask
body is compared model by model: a page's one model, or a bundle's oneOf by
`model`; each finding names its model. "Breaking" is judged from the client's side: a request that
OLD allowed and NEW refuses (a narrowed enum or limit, a new required field, a
removed operation), or an answer field the client reads that NEW no longer
promises (a removed field, a changed type). Widening an answer (a new enum
value in a response, a field that may now be null) is reported as a warning:
a strict client can trip on it, a tolerant one does not.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from .page_guard import LIMITS, load_page
from .spec_family import BundleError
from .spec_rules import normalise

BREAKING, WARNING, NON_BREAKING = "breaking", "warning", "non-breaking"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Limits that narrow what is accepted when they go down (upper bounds) or up (lower bounds).
UPPER = ("maxLength", "maximum", "maxItems", "maxProperties", "x-max-bytes")
LOWER = ("minLength", "minimum", "minItems", "minProperties")


@dataclass(frozen=True)
class Change:
    level: str
    where: str
    what: str


def _fetch(url: str, into: Path) -> Path:
    """A page from a URL into a file: at most page_guard's LIMITS.page_bytes read (the page is untrusted)."""
    import httpx

    target = into / (Path(url.split("?", 1)[0]).name or "page.yaml")
    with httpx.stream("GET", url, timeout=30, follow_redirects=True) as resp, target.open("wb") as out:
        resp.raise_for_status()
        for chunk in resp.iter_bytes():
            out.write(chunk)
            if out.tell() > LIMITS.page_bytes:
                break  # load_page refuses it, naming the limit
    return target


def load(source: str) -> dict[str, Any]:
    """A page (a file or an http(s) URL), read as regen reads pages (page_guard's limits), then normalised."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = _fetch(source, Path(tmp)) if source.startswith(("http://", "https://")) else Path(source)
        doc = load_page(path)
    if not isinstance(doc, dict) or "paths" not in doc:
        raise ValueError(f"{source} is not an OpenAPI document (no `paths`)")
    return normalise(doc)


class Differ:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old, self.new = old, new
        self.changes: list[Change] = []
        self._seen: set[tuple[str, str, str]] = set()

    def add(self, level: str, where: str, what: str) -> None:
        change = Change(level, where, what)
        if change not in self.changes:
            self.changes.append(change)

    # ---------------------------------------------------------------- refs

    @staticmethod
    def _resolve(doc: dict[str, Any], node: Any) -> tuple[Any, str | None]:
        ref = None
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            target: Any = doc
            for part in ref.removeprefix("#/").split("/"):
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
            node = target
        return node, ref

    # ---------------------------------------------------------------- document

    def run(self) -> list[Change]:
        self._servers("servers", self.old.get("servers"), self.new.get("servers"))
        old_paths, new_paths = self.old.get("paths", {}), self.new.get("paths", {})
        for path in old_paths.keys() - new_paths.keys():
            self.add(BREAKING, path, "path removed")
        for path in new_paths.keys() - old_paths.keys():
            self.add(NON_BREAKING, path, "path added")
        for path in sorted(old_paths.keys() & new_paths.keys()):
            old_item, new_item = old_paths[path], new_paths[path]
            self._servers(f"{path} servers", old_item.get("servers"), new_item.get("servers"))
            for method in METHODS:
                where = f"{method.upper()} {path}"
                if method in old_item and method not in new_item:
                    self.add(BREAKING, where, "operation removed")
                elif method in new_item and method not in old_item:
                    self.add(NON_BREAKING, where, "operation added")
                elif method in old_item:
                    self._operation(where, old_item, new_item, method)
        self._components()
        order = {BREAKING: 0, WARNING: 1, NON_BREAKING: 2}
        return sorted(self.changes, key=lambda c: (order[c.level], c.where, c.what))

    def _servers(self, where: str, old: Any, new: Any) -> None:
        old_urls = [s.get("url") for s in old or []]
        new_urls = [s.get("url") for s in new or []]
        if old_urls and new_urls and old_urls[0] != new_urls[0]:
            self.add(BREAKING, where, f"base URL changed {old_urls[0]} -> {new_urls[0]}")

    def _operation(self, where: str, old_item: dict[str, Any], new_item: dict[str, Any], method: str) -> None:
        old_op, new_op = old_item[method], new_item[method]
        if old_op.get("operationId") != new_op.get("operationId"):
            self.add(WARNING, where, f"operationId changed {old_op.get('operationId')} -> {new_op.get('operationId')}")
        self._parameters(where, old_item, new_item, old_op, new_op)
        self._security(
            where, old_op.get("security", self.old.get("security")), new_op.get("security", self.new.get("security"))
        )
        old_body, _ = self._resolve(self.old, old_op.get("requestBody"))
        new_body, _ = self._resolve(self.new, new_op.get("requestBody"))
        if old_body or new_body:
            self._request_body(where, old_body or {}, new_body or {})
        old_resp, new_resp = old_op.get("responses", {}), new_op.get("responses", {})
        for status in sorted(old_resp.keys() - new_resp.keys(), key=str):
            self.add(WARNING, where, f"response {status} no longer documented")
        for status in sorted(new_resp.keys() - old_resp.keys(), key=str):
            self.add(NON_BREAKING, where, f"response {status} added")
        for status in sorted(old_resp.keys() & new_resp.keys(), key=str):
            old_r, _ = self._resolve(self.old, old_resp[status])
            new_r, _ = self._resolve(self.new, new_resp[status])
            self._content(f"{where} response {status}", old_r.get("content", {}), new_r.get("content", {}), "response")

    def _security(self, where: str, old: Any, new: Any) -> None:
        if (old or []) != (new or []):
            self.add(BREAKING if new else NON_BREAKING, where, f"security changed {old} -> {new}")

    def _parameters(
        self,
        where: str,
        old_item: dict[str, Any],
        new_item: dict[str, Any],
        old_op: dict[str, Any],
        new_op: dict[str, Any],
    ) -> None:
        def index(doc: dict[str, Any], item: dict[str, Any], op: dict[str, Any]) -> dict[tuple[str, str], Any]:
            out = {}
            for raw in [*item.get("parameters", []), *op.get("parameters", [])]:
                param, _ = self._resolve(doc, raw)
                out[(param.get("in", ""), param.get("name", ""))] = param
            return out

        old_params, new_params = index(self.old, old_item, old_op), index(self.new, new_item, new_op)
        for key in sorted(old_params.keys() - new_params.keys()):
            self.add(BREAKING, where, f"{key[0]} parameter {key[1]} removed")
        for key in sorted(new_params.keys() - old_params.keys()):
            required = new_params[key].get("required")
            self.add(
                BREAKING if required else NON_BREAKING,
                where,
                f"{'required' if required else 'optional'} {key[0]} parameter {key[1]} added",
            )
        for key in sorted(old_params.keys() & new_params.keys()):
            old_p, new_p = old_params[key], new_params[key]
            if new_p.get("required") and not old_p.get("required"):
                self.add(BREAKING, where, f"{key[0]} parameter {key[1]} became required")
            elif old_p.get("required") and not new_p.get("required"):
                self.add(NON_BREAKING, where, f"{key[0]} parameter {key[1]} became optional")
            self._schema(
                f"{where} {key[0]} parameter {key[1]}", old_p.get("schema", {}), new_p.get("schema", {}), "request"
            )

    def _request_body(self, where: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        if new.get("required") and not old.get("required"):
            self.add(BREAKING, where, "request body became required")
        self._content(f"{where} request body", old.get("content", {}), new.get("content", {}), "request")

    def _content(self, where: str, old: dict[str, Any], new: dict[str, Any], direction: str) -> None:
        for media in sorted(old.keys() - new.keys()):
            level = BREAKING if direction == "request" else WARNING
            self.add(level, where, f"content type {media} removed")
        for media in sorted(new.keys() - old.keys()):
            self.add(NON_BREAKING if direction == "request" else WARNING, where, f"content type {media} added")
        for media in sorted(old.keys() & new.keys()):
            old_s, new_s = old[media].get("schema", {}), new[media].get("schema", {})
            old_m, new_m = self._models(self.old, old_s), self._models(self.new, new_s)
            if old_m is None or new_m is None:
                self._schema(where, old_s, new_s, direction)
                continue
            for model in sorted(old_m.keys() - new_m.keys()):
                self.add(BREAKING if direction == "request" else WARNING, f"{where} [{model}]", "model removed")
            for model in sorted(new_m.keys() - old_m.keys()):
                self.add(NON_BREAKING if direction == "request" else WARNING, f"{where} [{model}]", "model added")
            for model in sorted(old_m.keys() & new_m.keys()):
                self._schema(f"{where} [{model}]", old_m[model], new_m[model], direction)

    def _models(self, doc: dict[str, Any], schema: Any) -> dict[str, Any] | None:
        """model id -> its request schema, for a body chosen by `model`: a bundle's oneOf with a discriminator,
        or a page's object whose `model` enum holds one id. None for any other body."""
        body, _ = self._resolve(doc, schema)
        if not isinstance(body, dict):
            return None
        mapping = body.get("discriminator", {}).get("mapping")
        if isinstance(mapping, dict) and mapping:
            return {model: {"$ref": ref} for model, ref in mapping.items()}
        enum = body.get("properties", {}).get("model", {}).get("enum")
        if isinstance(enum, list) and len(enum) == 1 and "input" in body.get("properties", {}):
            return {str(enum[0]): body}
        return None

    def _components(self) -> None:
        # Schemas nobody references still matter to readers of a provider page
        # (and pages repeat shared ones); compare them as answers, the safer side.
        old_s = self.old.get("components", {}).get("schemas", {})
        new_s = self.new.get("components", {}).get("schemas", {})
        for name in sorted(old_s.keys() - new_s.keys()):
            self.add(BREAKING, f"components/schemas/{name}", "schema removed")
        for name in sorted(new_s.keys() - old_s.keys()):
            self.add(NON_BREAKING, f"components/schemas/{name}", "schema added")

    # ---------------------------------------------------------------- schemas

    def _schema(self, where: str, old: Any, new: Any, direction: str, field: str = "") -> None:
        old, old_ref = self._resolve(self.old, old)
        new, new_ref = self._resolve(self.new, new)
        if old_ref and new_ref:
            key = (old_ref, new_ref, direction)
            if key in self._seen:
                return
            self._seen.add(key)
        if not isinstance(old, dict) or not isinstance(new, dict):
            return
        at = f"{where}: {field}" if field else where
        narrowing = BREAKING if direction == "request" else NON_BREAKING
        widening = NON_BREAKING if direction == "request" else WARNING

        if old.get("type") != new.get("type") and (old.get("type") or new.get("type")):
            self.add(BREAKING, at, f"type changed {old.get('type')} -> {new.get('type')}")
        if old.get("format") != new.get("format"):
            level = BREAKING if direction == "request" and new.get("format") else WARNING
            self.add(level, at, f"format changed {old.get('format')} -> {new.get('format')}")
        if ("default" in old or "default" in new) and old.get("default") != new.get("default"):
            level = BREAKING if direction == "request" else WARNING
            self.add(level, at, f"default changed {old.get('default')!r} -> {new.get('default')!r}")
        if bool(old.get("nullable")) != bool(new.get("nullable")):
            if new.get("nullable"):
                self.add(widening, at, "may now be null")
            else:
                self.add(narrowing, at, "may no longer be null")
        self._enum(at, old.get("enum"), new.get("enum"), narrowing, widening)
        old_types, new_types = old.get("x-accepted-types"), new.get("x-accepted-types")
        self._enum(at, old_types, new_types, narrowing, widening, noun="accepted file types")
        self._limits(at, old, new, narrowing, widening)
        self._properties(where, field, old, new, direction, narrowing)
        if "items" in old or "items" in new:
            self._schema(where, old.get("items", {}), new.get("items", {}), direction, f"{field}[]")
        for combiner in ("allOf", "oneOf", "anyOf"):
            old_parts, new_parts = old.get(combiner, []), new.get(combiner, [])
            if len(old_parts) != len(new_parts):
                self.add(WARNING, at, f"{combiner} now has {len(new_parts)} parts (was {len(old_parts)})")
            for o, n in zip(old_parts, new_parts, strict=False):
                self._schema(where, o, n, direction, field)

    def _enum(self, at: str, old: Any, new: Any, narrowing: str, widening: str, noun: str = "enum") -> None:
        if old is None and new is None:
            return
        if old is None:
            self.add(narrowing, at, f"now limited to {new}")
            return
        if new is None:
            self.add(widening, at, f"no longer limited to {old}")
            return
        removed = [v for v in old if v not in new]
        added = [v for v in new if v not in old]
        if removed:
            self.add(narrowing, at, f"{noun} narrowed: {removed} removed")
        if added:
            self.add(widening, at, f"{noun} widened: {added} added")

    def _limits(self, at: str, old: dict[str, Any], new: dict[str, Any], narrowing: str, widening: str) -> None:
        for key in UPPER + LOWER:
            o, n = old.get(key), new.get(key)
            if o == n:
                continue
            if o is None:
                self.add(narrowing, at, f"{key} {n} added")
            elif n is None:
                self.add(widening, at, f"{key} {o} removed")
            elif (n < o) == (key in UPPER):
                self.add(narrowing, at, f"{key} narrowed {o} -> {n}")
            else:
                self.add(widening, at, f"{key} widened {o} -> {n}")

    def _properties(
        self, where: str, field: str, old: dict[str, Any], new: dict[str, Any], direction: str, narrowing: str
    ) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        prefix = f"{field}." if field else ""
        removed = sorted(old_props.keys() - new_props.keys())
        added = sorted(new_props.keys() - old_props.keys())
        for name in removed:
            twin = next((a for a in added if self._same_shape(old_props[name], new_props[a])), None)
            what = f"renamed to {prefix}{twin}" if twin else "field removed"
            self.add(BREAKING, f"{where}: {prefix}{name}", what)
        for name in added:
            if direction == "request" and name in new_req:
                self.add(BREAKING, f"{where}: {prefix}{name}", "new required field")
            else:
                self.add(NON_BREAKING, f"{where}: {prefix}{name}", "field added")
        for name in sorted(old_props.keys() & new_props.keys()):
            at = f"{where}: {prefix}{name}"
            if name in new_req and name not in old_req:
                self.add(narrowing, at, "became required")
            if name in old_req and name not in new_req:
                self.add(NON_BREAKING if direction == "request" else BREAKING, at, "no longer required")
            self._schema(where, old_props[name], new_props[name], direction, f"{prefix}{name}")

    def _same_shape(self, old: Any, new: Any) -> bool:
        old, _ = self._resolve(self.old, old)
        new, _ = self._resolve(self.new, new)
        strip = ("description", "example", "examples")
        if not isinstance(old, dict) or not isinstance(new, dict):
            return False
        return {k: v for k, v in old.items() if k not in strip} == {k: v for k, v in new.items() if k not in strip}


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    return Differ(old, new).run()


def report(changes: list[Change], old_name: str, new_name: str) -> str:
    lines = [f"spec_diff {old_name} -> {new_name}"]
    if not changes:
        return lines[0] + "\nno changes that matter to a client"
    for level, title in ((BREAKING, "BREAKING"), (WARNING, "WARNINGS"), (NON_BREAKING, "NON-BREAKING")):
        found = [c for c in changes if c.level == level]
        if found:
            lines.append(f"\n{title} ({len(found)})")
            lines += [f"  - {c.where}: {c.what}" for c in found]
    breaking = sum(c.level == BREAKING for c in changes)
    lines.append(f"\n{breaking} breaking change(s)" if breaking else "\nno breaking changes")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", help="the earlier document (a file)")
    ap.add_argument("new", help="the later document (a file or an http(s) URL)")
    ap.add_argument("--json", action="store_true", help="print the findings as JSON")
    args = ap.parse_args(argv)
    try:
        old, new = load(args.old), load(args.new)
    except (OSError, ValueError, yaml.YAMLError, BundleError) as exc:
        print(f"spec_diff: {exc}", file=sys.stderr)
        return 2
    changes = diff(old, new)
    if args.json:
        print(json.dumps([asdict(c) for c in changes], indent=2))
    else:
        print(report(changes, args.old, args.new))
    return 1 if any(c.level == BREAKING for c in changes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
