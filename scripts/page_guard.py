"""A provider page is untrusted input: it is read with limits, and what it says is checked before it is bundled.

Every refusal is a BundleError of one line naming the page and, where there is
one, the JSON Pointer of what is wrong; untrusted text in it is repr()'d, so it
cannot span lines or carry terminal escapes.

- `load_page`: at most LIMITS.page_bytes, UTF-8, YAML composed with a node budget
  that counts each alias as the nodes it stands for (an alias bomb stops at the
  budget, not at memory), a nesting depth, an alias count, and an enum length.
- `check_refs`: every `$ref` is a local pointer that resolves (in the page, else in
  the components the pages share) and no chain of `$ref`s leads back into itself.
- `check_patterns`: every `pattern` compiles under RE2, the engine the SDK and the
  simulator match it with (linear time: no lookaround, no backreferences).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .spec_family import BundleError

Page = dict[str, Any]


@dataclass(frozen=True)
class Limits:
    """What a page may hold; each far above the largest real page (spec/upstream: 29 KB, 686 nodes, depth 18,
    4 aliases, 13 enum values), so that only a page written to hurt meets them."""

    page_bytes: int = 1024 * 1024
    nodes: int = 50_000  # aliases counted as what they expand to
    depth: int = 64
    aliases: int = 200
    enum_values: int = 1_000


LIMITS = Limits()


def _one_line(text: str) -> str:
    return repr(text)[1:-1] if any(not ch.isprintable() for ch in text) else text


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that composes within LIMITS (nodes, depth, aliases) and refuses a recursive alias."""

    def __init__(self, stream: str, name: str) -> None:
        super().__init__(stream)
        self.page = name
        self.total = 0
        self.depth = 0
        self.alias_count = 0
        self.sizes: dict[int, int] = {}  # id(node) -> the nodes it stands for, aliases expanded

    def _event(self) -> Any:
        return self.peek_event()  # type: ignore[no-untyped-call]

    def _refuse(self, what: str) -> BundleError:
        mark = self._event().start_mark
        return BundleError(f"{self.page}: {what} (line {mark.line + 1}); refused before bundling")

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > LIMITS.aliases:
                raise self._refuse(f"more than {LIMITS.aliases} YAML aliases")
            anchored = self.anchors.get(self._event().anchor)
            if anchored is not None:
                if id(anchored) not in self.sizes:
                    raise self._refuse("a YAML alias inside the node it names (a recursive alias)")
                self._count(self.sizes[id(anchored)])
            return super().compose_node(parent, index)
        self.depth += 1
        if self.depth > LIMITS.depth:
            raise self._refuse(f"YAML nested more than {LIMITS.depth} levels deep")
        start = self.total
        self._count(1)
        node = super().compose_node(parent, index)
        self.depth -= 1
        self.sizes[id(node)] = self.total - start
        return node

    def _count(self, nodes: int) -> None:
        self.total += nodes
        if self.total > LIMITS.nodes:
            raise self._refuse(f"more than {LIMITS.nodes} YAML nodes (aliases expanded)")


def load_page(path: Path) -> Any:
    """The YAML document at `path`, read within LIMITS; BundleError (one line naming the page) otherwise."""
    name = path.name
    with path.open("rb") as f:
        data = f.read(LIMITS.page_bytes + 1)
    if len(data) > LIMITS.page_bytes:
        raise BundleError(f"{name}: larger than {LIMITS.page_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"{name}: not UTF-8 text (byte {exc.start} is {data[exc.start : exc.start + 1]!r})") from None
    loader = _BoundedLoader(text, name)
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise BundleError(f"{name}: not YAML: {_one_line(str(problem))}{where}") from None
    finally:
        loader.dispose()
    _check_enums(name, doc)
    return doc


def _escape(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _nodes(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict in `node` with its JSON Pointer, depth first."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _nodes(value, f"{where}/{_escape(key)}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _nodes(value, f"{where}/{i}")


def _check_enums(name: str, doc: Any) -> None:
    for where, node in _nodes(doc):
        values = node.get("enum")
        if isinstance(values, list) and len(values) > LIMITS.enum_values:
            raise BundleError(
                f"{name}: the enum at {_one_line(where)} lists {len(values)} values (at most {LIMITS.enum_values})"
            )


def check_patterns(name: str, doc: Any) -> None:
    """Every `pattern` (and `patternProperties` key) compiles under RE2."""
    import re2

    options = re2.Options()
    options.log_errors = False
    for where, node in _nodes(doc):
        found = [("pattern", node["pattern"])] if "pattern" in node else []
        props = node.get("patternProperties")
        found += [("patternProperties", p) for p in props] if isinstance(props, dict) else []
        for key, pattern in found:
            try:
                re2.compile(pattern, options) if isinstance(pattern, str) else None
            except re2.error:
                raise BundleError(
                    f"{name}: the {key} {pattern!r} at {_one_line(where)} is not an RE2 pattern "
                    "(lookaround and backreferences cannot be matched in linear time)"
                ) from None
            if not isinstance(pattern, str):
                raise BundleError(f"{name}: the {key} at {_one_line(where)} is not a string")


def _target(ref: str, page: Page, shared: dict[str, Any]) -> Any:
    """What a local `$ref` points at: in the page, else (a component) among the components the pages share."""
    if not ref.startswith("#/"):
        raise LookupError("is not a local JSON Pointer")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]
    for root in (page, {"components": shared}):
        node: Any = root
        for part in parts:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                break
        else:
            return node
    raise LookupError("points at nothing")


def _children(node: Any, where: str, page: Page, shared: dict[str, Any], name: str) -> Iterator[tuple[Any, str]]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if "$ref" in node:
            if not isinstance(ref, str):
                raise BundleError(f"{name}: the $ref at {_one_line(where)} is not a string")
            try:
                yield _target(ref, page, shared), ref[1:]
            except LookupError as exc:
                raise BundleError(f"{name}: $ref {ref!r} at {_one_line(where)} {exc}") from None
        for key, value in node.items():
            if isinstance(value, dict | list):
                yield value, f"{where}/{_escape(key)}"
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, dict | list):
                yield value, f"{where}/{i}"


def _check_page_refs(name: str, page: Page, shared: dict[str, Any]) -> None:
    # Depth first over the page's containers with each $ref as one more edge: meeting a node still being
    # walked means a chain of $refs leads back into itself (containment alone cannot loop).
    walking, done = {id(page)}, set()
    stack = [(page, "", _children(page, "", page, shared, name))]
    while stack:
        node, where, kids = stack[-1]
        nxt = next(kids, None)
        if nxt is None:
            walking.discard(id(node))
            done.add(id(node))
            stack.pop()
            continue
        child, child_where = nxt
        if id(child) in walking:
            ref = node.get("$ref") if isinstance(node, dict) else None
            raise BundleError(f"{name}: $ref {ref!r} at {_one_line(where or '/')} leads back into itself (a cycle)")
        if id(child) not in done:
            walking.add(id(child))
            stack.append((child, child_where, _children(child, child_where, page, shared, name)))


def check_refs(pages: list[tuple[str, Page]]) -> None:
    """Every `$ref` of every page resolves, and none leads back into itself (also through another page's
    components, which the bundle shares)."""
    shared: dict[str, Any] = {}
    for _, page in pages:
        components = page.get("components")
        for section, entries in components.items() if isinstance(components, dict) else ():
            if isinstance(entries, dict):
                for key, value in entries.items():
                    shared.setdefault(section, {}).setdefault(key, value)
    for name, page in pages:
        _check_page_refs(name, page, shared)
