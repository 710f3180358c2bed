"""What a run found, and how often each check had something to judge.

A finding is one thing the service did that its spec (or the provider's
documented behaviour) says it must not: the operation, the field (a path
inside the body sent or the answer received), what was expected and what was
seen. The same drift is usually seen many times (every model, every answer);
identical findings are kept as one group that counts them. A drift also
breaks checks that only read through it (without `code` no check can tell a
refusal from a success): those groups are filed under the group that explains
them, so the report leads with the cause.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

# The answer's envelope field every status-reading check depends on, and the check that reads it.
CODE_FIELD = "code"
ENVELOPE_CHECK = "answer_matches_spec"
# An answer cut at the checker's size cap or deadline: whatever else was judged on what came is read through it.
BOUND_CHECK = "answer_is_bounded"
# Checks that judge only what a created task's answers say: without a task id they have nothing.
NEEDS_TASK_ID = frozenset({"created_task_is_visible", "task_finishes", "task_record_keeps_contract"})
_KEEP = 5  # examples kept per group


@dataclass(frozen=True)
class Finding:
    """One breach: `side` is "request" (the body the checker sent) or "answer" (what came back)."""

    check: str
    operation: str
    field: str
    expected: str
    seen: str
    side: str = "answer"
    where: str = ""  # which case showed it: a model, a task id, a value
    detail: tuple[str, ...] = ()  # lines of the underlying tool's message that name the field

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.check, self.side, self.field, self.expected)

    @property
    def place(self) -> str:
        return f"{self.side} {self.field or 'body'}"


@dataclass
class Group:
    """Identical findings (same check, field and expectation), however many answers showed them."""

    first: Finding
    count: int = 0
    operations: dict[str, None] = field(default_factory=dict)
    seen: dict[str, None] = field(default_factory=dict)
    where: dict[str, None] = field(default_factory=dict)
    detail: dict[str, None] = field(default_factory=dict)
    follow_ons: list[Group] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        self.count += 1
        self.operations[finding.operation] = None
        for bag, value in ((self.seen, finding.seen), (self.where, finding.where)):
            if value and len(bag) < _KEEP:
                bag[value] = None
        for line in finding.detail:
            if len(self.detail) < _KEEP:
                self.detail[line] = None

    @property
    def check(self) -> str:
        return self.first.check

    def headline(self) -> str:
        """One line a maintainer can act on: where, what the spec says, what the service did."""
        ops = ", ".join(self.operations)
        seen = "; ".join(self.seen) or self.first.seen
        return f"{ops} {self.first.place}: expected {self.first.expected}; seen {seen}"

    def total(self) -> int:
        return self.count + sum(g.total() for g in self.follow_ons)


class Tally:
    """Findings, counts of what each check applied to, and the reasons a check had nothing to judge.

    Shared by the schemathesis checks (which may run on another thread) and the checker's own probes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.applied: Counter[str] = Counter()
        self._groups: dict[tuple[str, str, str, str], Group] = {}
        self.errors: list[str] = []
        self.creates: Counter[str] = Counter()  # outcome of each create meant to succeed, e.g. "accepted", "402"
        self.unjudged: Counter[str] = Counter()  # probe answers no check could judge, by why (e.g. "402")
        self.reasons: dict[str, str] = {}  # why a check had nothing to judge, where the run knows better
        self.probed: set[str] = set()  # operations whose auth was probed (once per operation and run)
        self.known: set[str] = set()  # task ids this run created or was given: the records it can judge
        self.disagreements: Counter[str] = Counter()  # schemathesis failures the spec's schema accepts, by check

    def reset(self) -> None:
        """Forget everything (in place: callers may hold `applied`)."""
        with self._lock:
            self.applied.clear()
            self._groups.clear()
            self.errors.clear()
            self.creates.clear()
            self.unjudged.clear()
            self.reasons.clear()
            self.probed.clear()
            self.known.clear()
            self.disagreements.clear()

    def apply(self, check: str, count: int = 1) -> None:
        with self._lock:
            self.applied[check] += count

    def add(self, finding: Finding) -> None:
        with self._lock:
            group = self._groups.get(finding.key)
            if group is None:
                group = self._groups[finding.key] = Group(finding)
            group.add(finding)

    def error(self, message: str) -> None:
        with self._lock:
            if message not in self.errors:
                self.errors.append(message)

    def merge(self, other: Tally) -> None:
        """Add what `other` counted and found (a check's findings are gathered apart, then merged)."""
        with self._lock:
            self.applied.update(other.applied)
            for key, theirs in other._groups.items():
                ours = self._groups.setdefault(key, Group(theirs.first))
                ours.count += theirs.count
                ours.operations.update(theirs.operations)
                for mine, more in ((ours.seen, theirs.seen), (ours.where, theirs.where), (ours.detail, theirs.detail)):
                    for value in more:
                        if len(mine) < _KEEP:
                            mine[value] = None
            self.creates.update(other.creates)
            self.unjudged.update(other.unjudged)

    def groups(self) -> list[Group]:
        with self._lock:
            return list(self._groups.values())

    def failed_checks(self) -> set[str]:
        return {g.check for g in self.groups()}


def _envelope(group: Group) -> bool:
    """A breach of the answer's own `code` (not a check that merely judged by it, like a wrong key served)."""
    return group.check == ENVELOPE_CHECK and group.first.side == "answer" and group.first.field == CODE_FIELD


def _explains(cause: Group, other: Group, mine: frozenset[str], broad: frozenset[str]) -> bool:
    """Whether `other` is what `cause` looks like through a check that reads the answer through it."""
    shared = bool(cause.operations.keys() & other.operations.keys())
    if _envelope(cause) or cause.check == BOUND_CHECK:
        # Without a readable `code`, nothing on that operation can tell a refusal from a success.
        return shared
    ours, theirs = cause.first.field, other.first.field
    if ours and cause.first.side == other.first.side:
        if ours == theirs:
            return True  # the same field seen wrong by another check
        if shared and theirs.startswith(ours + "."):
            return True  # a field inside one that is already wrong (or missing)
    if cause.check == "create_returns_task_id" and other.check in NEEDS_TASK_ID:
        return True
    if shared and (cause.where.keys() & other.where.keys()) - broad:
        return True  # the same answer (the same task) showed both
    if other.check in mine or not shared or other.first.side != cause.first.side:
        return False
    # A generic tool's failure on the same operation and side that names no field, or a field around ours.
    return not theirs or ours.startswith(theirs + ".") or theirs.startswith(ours + ".")


def arrange(
    groups: list[Group], order: list[str], mine: frozenset[str], broad: frozenset[str] = frozenset()
) -> list[Group]:
    """Causes first, each with the groups it explains as follow-ons (checks ranked by `order`).

    `broad`: `where` values that name many answers (model ids), which say nothing about a common cause.
    """
    rank = {name: i for i, name in enumerate(order)}

    def priority(group: Group) -> tuple[int, int]:
        # The envelope comes first: it explains everything read through it.
        return (0 if _envelope(group) or group.check == BOUND_CHECK else 1, rank.get(group.check, len(rank)))

    roots: list[Group] = []
    for group in sorted(groups, key=priority):
        group.follow_ons = []
        cause = next((r for r in roots if _explains(r, group, mine, broad)), None)
        if cause is None:
            roots.append(group)
        else:
            cause.follow_ons.append(group)
    return roots
