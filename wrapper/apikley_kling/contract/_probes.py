"""The checker's own cases: every model's example create, every limit's boundary, tasks followed to their end.

Schemathesis picks its cases at random within the spec; these are the ones a
drifting provider is most likely to break, sent every run: each model's
documented input, the value at each limit and one step past it, a required
field left out; then one created task per model is followed until it
finishes (or a deadline passes), and tasks named with `--task-id` are read,
so that the answer of a finished task is checked in every mode.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..catalog import models
from ..models import TaskState
from ..polling import poll_interval
from . import _openapi
from ._boundaries import Probe, probes
from ._findings import Finding, Tally
from ._records import ECHO_CHECK, check_echo, check_record

SAMPLE_CHECK = "every_model_accepted"
TASK_ID_CHECK = "create_returns_task_id"
INSIDE_CHECK = "limits_accept_inside"
OUTSIDE_CHECK = "limits_refuse_outside"
FINISH_CHECK = "task_finishes"
UNKNOWN_CHECK = "unknown_task_not_found"
NO_CREDITS = 402
VISIBLE = "the record of the task just created (code 200), at once"
# Answers that say nothing about the body: the key, the credits or the pace stood in the way.
UNJUDGED = {401: "401 (key refused)", NO_CREDITS: "402 (no credits)", 429: "429 (rate limited)"}


@dataclass(frozen=True)
class Created:
    task_id: str
    model: str
    sent: dict[str, Any]


class Prober:
    """The checker's own cases against one service (`service` is a `_service.Service`)."""

    def __init__(self, service: Any, tally: Tally) -> None:
        self.service = service
        self.tally = tally
        self.create = _openapi.create_operation()
        self.link = _openapi.task_link()

    def plain_reads(self, included: Any) -> None:
        """Ask each operation that needs no parameter once (its answer is judged like every other)."""
        for operation in _openapi.plain_reads():
            if included(operation.id):
                self.service.call(operation.id)

    # ------------------------------------------------------------ creates

    def create_samples(self, model_ids: Iterable[str]) -> list[Created]:
        """One create per model from its page's example input; the tasks to follow to their end."""
        created: list[Created] = []
        catalog = models()
        for model_id in model_ids:
            body = {"model": model_id, "input": catalog[model_id].sample_input()}
            task = self._must_create(SAMPLE_CHECK, body, "input", f"{model_id}'s example input accepted", model_id)
            if task is not None:
                created.append(task)
        return created

    def _must_create(self, check: str, body: dict[str, Any], field: str, expected: str, where: str) -> Created | None:
        answer = self.service.call(self.create.id, json=body, where=where)
        if answer is None:
            return None
        code = answer.code
        if code in UNJUDGED:
            self.tally.creates[UNJUDGED[code]] += 1
            return None
        self.tally.apply(check)
        if code != 200:
            self.tally.creates[f"{code}" if code is not None else "no code"] += 1
            self.tally.add(Finding(check, self.create.label, field, expected, answer.said(), "request", where))
            return None
        return self._created(answer, body, where)

    def _created(self, answer: Any, body: dict[str, Any], where: str) -> Created | None:
        """A create answered success: it names its task, and the query knows that task at once."""
        self.tally.apply(TASK_ID_CHECK)
        task_id = _at(answer.body, self.link.pointer)
        if not (isinstance(task_id, str) and task_id):
            self.tally.creates["accepted without a task id"] += 1
            expected = f"a non-empty string (what {self.link.target.id} takes as {self.link.parameter})"
            seen = "missing" if task_id is _ABSENT else json.dumps(task_id)
            self.tally.add(
                Finding(TASK_ID_CHECK, self.create.label, ".".join(self.link.pointer), expected, seen, where=where)
            )
            return None
        self.tally.creates["accepted"] += 1
        self.tally.known.add(task_id)
        record = self.service.call(self.link.target.id, params={self.link.parameter: task_id}, where=task_id)
        if record is None:
            return None
        label = self.link.target.label
        if record.code != 200 or not isinstance(record.data, dict):
            self.tally.apply(ECHO_CHECK)
            self.tally.add(Finding(ECHO_CHECK, label, "data", VISIBLE, record.said(), where=task_id))
            return None
        check_record(self.tally, record.data, label=label, queried=task_id)
        check_echo(self.tally, record.data, body, label=label, where=task_id)
        return Created(task_id, str(body.get("model")), body)

    # ------------------------------------------------------------ limits

    def limits(self, model_ids: tuple[str, ...], *, inside: bool) -> list[str]:
        """Send every boundary probe (those the spec accepts only when `inside`); return why any were dropped."""
        found, dropped = probes(model_ids)
        for probe in found:
            if probe.inside and not inside:
                continue
            if probe.inside:
                expected = f"accepted: {probe.shown_value()} is within {probe.rule}"
                self._must_create(INSIDE_CHECK, probe.body, probe.field, expected, probe.model)
            else:
                self._must_refuse(probe)
        return dropped

    def _must_refuse(self, probe: Probe) -> None:
        answer = self.service.call(self.create.id, json=probe.body, where=probe.model)
        if answer is None:
            return
        code = answer.code
        if code in UNJUDGED:
            self.tally.unjudged[UNJUDGED[code]] += 1
            return
        self.tally.apply(OUTSIDE_CHECK)
        wanted = _openapi.code_meaning("Validation")
        if code is not None and (code == wanted or (wanted is None and 400 <= code < 500)):
            return
        if code is not None and 400 <= code < 500:
            # Refused, but not as the spec says a refusal reads: the code, not the field, moved.
            expected = f"code {wanted} (the spec's validation error) for a body the spec refuses"
            self.tally.add(
                Finding(OUTSIDE_CHECK, self.create.label, "code", expected, answer.said(), where=probe.field)
            )
            return
        seen, where = f"{probe.shown_value()}: {answer.said()}", probe.model
        if code == 200:
            task_id = _at(answer.body, self.link.pointer)
            seen = f"accepted {probe.shown_value()} (code 200)"
            where += f" (task {task_id} created)" if isinstance(task_id, str) else ""
        expected = f"a refusal ({wanted or '4xx'}): {probe.rule}"
        self.tally.add(Finding(OUTSIDE_CHECK, self.create.label, probe.field, expected, seen, "request", where))

    # ------------------------------------------------------------ records

    def read(self, task_id: str) -> TaskState | None:
        """Query one task and judge its record; its state when the spec knows it."""
        answer = self.service.call(self.link.target.id, params={self.link.parameter: task_id}, where=task_id)
        if answer is None:
            return None
        if answer.code != 200 or not isinstance(answer.data, dict):
            self.tally.reasons.setdefault("task", f"task {task_id}: {answer.said()}")
            return None
        return check_record(self.tally, answer.data, label=self.link.target.label, queried=task_id)

    def read_unknown(self, seed: int) -> None:
        """A task id no service has issued is not found (the task query documents its 404)."""
        wanted = _openapi.code_meaning("Not Found")
        task_id = f"task_contract_check_{seed}_never_created"
        answer = self.service.call(self.link.target.id, params={self.link.parameter: task_id}, where=task_id)
        if answer is None or answer.code in UNJUDGED or wanted is None:
            return
        self.tally.apply(UNKNOWN_CHECK)
        if answer.code != wanted:
            expected = f"code {wanted} (not found) for a task id never issued"
            self.tally.add(
                Finding(UNKNOWN_CHECK, self.link.target.label, "code", expected, answer.said(), where=task_id)
            )

    def read_given(self, task_ids: Iterable[str]) -> None:
        """Tasks named by the user (--task-id): free to read, and finished ones exercise the finished checks."""
        for task_id in task_ids:
            self.tally.known.add(task_id)
            state = self.read(task_id)
            if state is not None and not state.is_final:
                self.tally.reasons.setdefault("task", f"task {task_id} is still {state.value}")

    def follow(self, created: list[Created], *, deadline: float, seed: int) -> None:
        """Query created tasks on the provider's polling schedule until each finishes or the deadline passes."""
        clock = self.service.clock
        rng = random.Random(seed)
        start = clock.monotonic()
        pending = [c.task_id for c in created]
        while pending:
            for task_id in list(pending):
                state = self.read(task_id)
                if state is None or state.is_final:
                    pending.remove(task_id)
                    if state is not None:
                        self.tally.apply(FINISH_CHECK)
            elapsed = clock.monotonic() - start
            if not pending or elapsed >= deadline:
                break
            clock.sleep(min(poll_interval(elapsed, rng), deadline - elapsed))
        if pending:
            self.tally.reasons[FINISH_CHECK] = (
                f"{len(pending)} created task(s) still running after the {deadline:g} s deadline "
                f"(--task-deadline): {', '.join(pending[:3])}"
            )


_ABSENT: Any = object()


def _at(body: Any, pointer: tuple[str, ...]) -> Any:
    node = body
    for part in pointer:
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node
