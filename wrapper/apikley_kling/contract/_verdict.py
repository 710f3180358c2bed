"""From a run's tally to a verdict: each check passed, failed, not exercised (and why) or off; the exit code.

A check that found nothing to judge proves nothing, so it is never reported
as passed: it is "not exercised", with the reason the run knows (every
create answered 402, `--no-create` without `--task-id`, no task finished
before the deadline). A check the options switched off is "off", naming the
option. Exit codes: 0 kept, 1 a finding, 2 the run could not happen, 3 nothing
broke but something was not exercised (always when every create failed;
any check under --strict).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import exit_codes
from ..catalog import models
from . import _openapi
from ._answers import CHECK as ANSWER_CHECK
from ._bounds import BOUND_CHECK
from ._findings import Group, Tally, arrange
from ._probes import FINISH_CHECK, INSIDE_CHECK, OUTSIDE_CHECK, SAMPLE_CHECK, TASK_ID_CHECK, UNKNOWN_CHECK
from ._records import ECHO_CHECK, FINISHED_CHECK, RECORD_CHECK

# The exit codes of a verdict, from the one table of exit codes (NOT_EXERCISED is its own code there).
OK, FOUND, COULD_NOT_RUN, NOT_EXERCISED = exit_codes.OK, exit_codes.FAILED, exit_codes.USAGE, exit_codes.NOT_EXERCISED


@dataclass(frozen=True)
class CheckInfo:
    name: str
    what: str
    creates: bool = False  # needs a create the spec says must succeed (paid)
    operations: tuple[str, ...] = ()  # "create" and/or "query": the operations it needs
    needs_task: bool = False  # needs a task record to read (a created task or --task-id)


CHECKS = (
    CheckInfo(ANSWER_CHECK, "every answer matches the spec's schema for its operation and status"),
    CheckInfo(BOUND_CHECK, "every answer is whole within the request timeout and the size cap"),
    CheckInfo("success_carries_data", "an answer that says success (code 200) carries data"),
    CheckInfo("auth_is_enforced", "an operation that served our key refuses a wrong one"),
    CheckInfo(SAMPLE_CHECK, "each model's example input (from its page) is accepted", True, ("create",)),
    CheckInfo(TASK_ID_CHECK, "a create that succeeds names its task where the spec's link says", True, ("create",)),
    CheckInfo(ECHO_CHECK, "a created task is known at once, with the model and param sent", True, ("create", "query")),
    CheckInfo(INSIDE_CHECK, "a value at each limit of each model is accepted", True, ("create",)),
    CheckInfo(
        OUTSIDE_CHECK, "a value one step past each limit, or a required field left out, is refused", False, ("create",)
    ),
    CheckInfo(UNKNOWN_CHECK, "a task id never issued is not found", False, ("query",)),
    CheckInfo(
        RECORD_CHECK, "a task record: a state the spec lists, its id, param a create request", False, ("query",), True
    ),
    CheckInfo(
        FINISHED_CHECK,
        "a finished task: success has resultJson with resultUrls and no fail fields; fail says why",
        False,
        ("query",),
        True,
    ),
    CheckInfo(FINISH_CHECK, "a created task reaches success or fail before the deadline", True, ("create", "query")),
)
MINE = frozenset(c.name for c in CHECKS)


@dataclass
class CheckStatus:
    name: str
    what: str
    applied: int
    state: str  # "passed", "failed", "not exercised", "off"
    reason: str = ""
    groups: list[Group] = field(default_factory=list)


def _operation_ids(settings: Any) -> dict[str, str]:
    return {"create": _openapi.create_operation().id, "query": _openapi.task_link().target.id}


def _off(info: CheckInfo, settings: Any) -> str:
    if info.creates and not settings.create:
        return "--no-create"
    for need, operation_id in _operation_ids(settings).items():
        if need in info.operations and not settings.included(operation_id):
            return f"--operations leaves out {operation_id}"
    return ""


def create_reason(tally: Tally) -> str:
    """Why no create succeeded ("" when one did, or none was tried)."""
    if tally.creates["accepted"] or not tally.creates:
        return ""
    told = ", ".join(f"{n} answered {why}" for why, n in tally.creates.most_common())
    return f"no create succeeded ({told})"


def _reason(info: CheckInfo, settings: Any, tally: Tally) -> str:
    if info.name in tally.reasons:
        return tally.reasons[info.name]
    creates = create_reason(tally) if settings.create else ""
    if info.needs_task:
        if not settings.create and not settings.task_ids:
            return "--no-create without --task-id: no task to read"
        parts = [creates, tally.reasons.get("task", ""), tally.reasons.get(FINISH_CHECK, "")]
        return "; ".join(p for p in parts if p) or "no finished task was read"
    if creates:
        return creates
    if tally.unjudged:
        told = ", ".join(f"{n} answered {why}" for why, n in tally.unjudged.most_common())
        return f"no answer could be judged ({told})"
    return "nothing it applies to was seen"


def statuses(settings: Any, tally: Tally, checks_run: dict[str, int]) -> tuple[list[CheckStatus], list[Group]]:
    """Every check's status, and the findings as causes (each with the follow-ons it explains)."""
    order = [c.name for c in CHECKS] + sorted(set(checks_run) - MINE)
    roots = arrange(tally.groups(), order, MINE, frozenset(models()))
    by_check: dict[str, list[Group]] = {}
    for root in roots:
        by_check.setdefault(root.check, []).append(root)
    explained = {g.check for root in roots for g in root.follow_ons}
    out: list[CheckStatus] = []
    for info in CHECKS:
        applied = tally.applied[info.name]
        off = _off(info, settings)
        if info.name in by_check or (info.name in explained and applied):
            state, reason = "failed", ""
        elif off:
            state, reason = "off", off
        elif not applied:
            state, reason = "not exercised", _reason(info, settings, tally)
        else:
            state, reason = "passed", ""
        out.append(CheckStatus(info.name, info.what, applied, state, reason, by_check.get(info.name, [])))
    for name, count in sorted(checks_run.items()):
        if name in MINE:
            continue
        state = "failed" if name in by_check or name in explained else "passed"
        out.append(CheckStatus(name, "schemathesis built-in check", count, state, "", by_check.get(name, [])))
    return out, roots


def all_creates_failed(settings: Any, tally: Tally) -> bool:
    return bool(settings.create and create_reason(tally))


def exit_code(settings: Any, tally: Tally, roots: list[Group], checks: list[CheckStatus]) -> int:
    if roots:
        return FOUND
    if tally.errors or not tally.applied[ANSWER_CHECK]:
        return COULD_NOT_RUN  # errors, or no answer at all: nothing was judged
    if all_creates_failed(settings, tally):
        return NOT_EXERCISED
    if settings.strict and any(c.state == "not exercised" for c in checks):
        return NOT_EXERCISED
    return OK
