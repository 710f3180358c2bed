"""Schemathesis against the spec: examples, coverage, fuzzing (positive and negative) and stateful phases.

Two adaptations to this API:
- The service answers errors with HTTP 200 and the real status in the body
  `code`. An after_call hook moves that code into the status, so the built-in
  checks (negative data must be rejected, status codes must be documented)
  see the answer as a client must read it.
- The upload operations live under a path-level server (<base>/file-upload);
  the schema handed to schemathesis has that prefix folded into their paths,
  so one base URL reaches every operation.

The checker's own checks are registered too and judge every answer the
fuzzer gets, writing their findings into the run's tally; a built-in check's
failure becomes a finding with the field its message names.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import _openapi
from ._bounds import DEFAULT_MAX_BYTES
from ._checks import APPLIED, CUSTOM_CHECKS, TALLY, _current, body_code_as_status, register_checks
from ._failures import accepted_by_the_spec, finding_from_failure, message_lines
from ._findings import Tally

__all__ = [  # APPLIED, CUSTOM_CHECKS and the hook are the contract tests' too (scripts/contract_check.py)
    "APPLIED",
    "CUSTOM_CHECKS",
    "DEFAULT_SEED",
    "EXPECTED_STATUSES",
    "PHASES",
    "Failure",
    "Outcome",
    "Settings",
    "body_code_as_status",
    "load_schema",
    "make_config",
    "register_checks",
    "run",
]

DEFAULT_SEED = 20260401
PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Right answers to schema-valid requests, per operation: an unknown task is
# 404 and an empty taskId 400 (task-query page); a URL the service did not
# generate (download-url) or cannot fetch (file-url-upload) is 422 (provider
# docs); running out of credits is 402. Every other operation keeps the
# schemathesis default.
EXPECTED_STATUSES = {
    "create-task": [200, 402],
    "get-task-details": [200, 400, 404],
    "get-download-url": [200, 422],
    "upload-file-url": [200, 422],
    # base64Data is a plain string in the spec; the service refuses what is not base64.
    "upload-file-base64": [200, 422],
}
# Multipart form fields are all strings on the wire: a "wrong type" (null,
# 5) arrives as the string "null" or "5", which is valid, so negative data
# cannot be expressed for the stream upload.
NO_NEGATIVE_REJECTION = ("upload-file-stream",)


@dataclass
class Settings:
    """What to check and how hard; `create=False` sends no create the spec says must succeed (they cost credits)."""

    base_url: str
    api_key: str
    seed: int = DEFAULT_SEED
    max_examples: int = 8
    stateful_steps: int = 6
    phases: tuple[str, ...] = PHASES
    operations: tuple[str, ...] = ()  # operationIds; empty: all
    exclude_operations: tuple[str, ...] = ()
    request_timeout: float = 10.0
    rate_limit: str | None = None
    create: bool = True
    task_ids: tuple[str, ...] = ()
    models: tuple[str, ...] = ()  # model ids; empty: every model of the spec
    task_deadline: float | None = None  # seconds; None: the provider's own advice (polling.DEFAULT_TIMEOUT)
    strict: bool = False
    max_answer_bytes: int = DEFAULT_MAX_BYTES  # the most of one answer's body the checker reads

    def included(self, operation_id: str) -> bool:
        chosen = not self.operations or operation_id in self.operations
        return chosen and operation_id not in self.exclude_operations


def make_config(settings: Settings) -> Any:
    import schemathesis

    generation: dict[str, Any] = {"max-examples": settings.max_examples, "no-shrink": True}
    # Positive and negative data. A keyword, because one model's input has a field by that name, and
    # the wrapper spells no field name as a string (tests/test_quality.py).
    generation.update(mode="all")
    phases: dict[str, Any] = {name: {"enabled": name in settings.phases} for name in PHASES}
    phases["stateful"]["max-steps"] = settings.stateful_steps
    raw: dict[str, Any] = {
        "seed": settings.seed,
        "base-url": settings.base_url,
        "headers": {"Authorization": f"Bearer {settings.api_key}"},
        "generation": generation,
        "phases": phases,
        "request-timeout": settings.request_timeout,
        "suppress-health-check": ["all"],
        # The probe of ignored_auth reads only the HTTP status; auth_is_enforced replaces it.
        "checks": {"ignored_auth": {"enabled": False}},
        "operations": [
            {
                "include-operation-id": operation_id,
                "checks": {"positive_data_acceptance": {"expected-statuses": statuses}},
            }
            for operation_id, statuses in EXPECTED_STATUSES.items()
        ]
        + [
            {"include-operation-id": operation_id, "checks": {"negative_data_rejection": {"enabled": False}}}
            for operation_id in NO_NEGATIVE_REJECTION
        ],
    }
    if settings.rate_limit:
        raw["rate-limit"] = settings.rate_limit
    return schemathesis.Config.from_dict(raw)


def load_schema(settings: Settings, *, app: Any = None, read_body_code: bool = True) -> Any:
    """The schemathesis schema for these settings (`app`: an ASGI/WSGI app to call in-process)."""
    import schemathesis
    from schemathesis.schemas import BaseSchema

    register_checks()
    doc = _openapi.single_base(_openapi.spec())
    every = set(_openapi.operations())
    unknown = set(settings.operations) - every
    if unknown:
        raise ValueError(f"unknown operationId(s): {sorted(unknown)}; known: {sorted(every)}")
    # Exclusions, not include(): includes are OR-ed with the config's own
    # catch-all filter, so an include alone narrows nothing.
    left_out = {o for o in every if not settings.included(o)}
    if not settings.create:
        # Every create schemathesis sends may succeed (its negative data is not sure to be invalid): none.
        left_out.add(_openapi.create_operation().id)
    if _openapi.create_operation().id in left_out and "stateful" in settings.phases:
        # The spec's only link starts at createTask: without it there is no stateful phase to run.
        settings = dataclasses.replace(settings, phases=tuple(p for p in settings.phases if p != "stateful"))
    schema: BaseSchema = schemathesis.openapi.from_dict(doc, config=make_config(settings))
    if app is not None:
        schema.app = app
    if left_out:
        schema = schema.exclude(operation_id=sorted(left_out))
    if read_body_code:

        @schema.hook("after_call")
        def _body_code(context: Any, case: Any, response: Any) -> None:
            body_code_as_status(response)

    return schema


@dataclass
class Failure:
    phase: str
    operation: str
    check: str
    message: str


@dataclass
class Outcome:
    cases: Counter[str] = field(default_factory=Counter)  # by phase
    failures: list[Failure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    checks_run: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors

    def failed_checks(self) -> set[str]:
        return {f.check for f in self.failures}

    def summary(self, limit: int = 30) -> str:
        total = sum(self.cases.values())
        by_phase = ", ".join(f"{k} {v}" for k, v in sorted(self.cases.items()))
        lines = [f"{total} cases ({by_phase}); {len(self.failures)} failure(s); {len(self.errors)} error(s)"]
        found = dict.fromkeys(f"  FAIL [{f.phase}] {f.operation}: {f.check}: {f.message}" for f in self.failures)
        found.update(dict.fromkeys(f"  ERROR {e}" for e in self.errors))
        shown = list(found)[:limit]
        lines += shown
        if len(found) > len(shown):
            lines.append(f"  ... and {len(found) - len(shown)} more distinct problem(s)")
        return "\n".join(lines)


def run(
    schema: Any,
    tally: Tally | None = None,
    *,
    limits: tuple[float, int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Outcome:
    """Run every enabled phase; custom checks and converted failures go into `tally` (default: TALLY, reset).

    `limits` (seconds, bytes): every exchange schemathesis makes is held to them (`_guard`), each breach a finding.
    `progress` hears one line per operation and phase finished.
    """
    from ._guard import Limits, bounded_requests, judged_into

    if tally is None:
        tally = TALLY
        tally.reset()
    _current[0] = tally
    outcome = Outcome()
    guard = (
        bounded_requests(Limits(limits[0], limits[1], judged_into(tally)))
        if limits is not None
        else contextlib.nullcontext()
    )
    try:
        with guard:
            _execute(schema, outcome, tally, progress or (lambda _: None))
    finally:
        _current[0] = TALLY
    for message in outcome.errors:
        tally.error(f"schemathesis: {message}")
    return outcome


def _execute(schema: Any, outcome: Outcome, tally: Tally, progress: Callable[[str], None]) -> None:
    from schemathesis import engine
    from schemathesis.engine import Status, events

    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            if event.status != Status.SKIP:
                _record(outcome, tally, event, Status.FAILURE)
            progress(f"schemathesis: {_phase(event)} {event.recorder.label}: {len(event.recorder.cases)} case(s)")
        elif isinstance(event, events.NonFatalError):
            outcome.errors.append(f"{getattr(event, 'label', '?')}: {str(event.info).splitlines()[0][:200]}")
        elif isinstance(event, events.FatalError):
            outcome.errors.append(f"fatal: {event.exception!r}")


def _phase(event: Any) -> str:
    return str(event.phase.value if hasattr(event.phase, "value") else event.phase)


def _record(outcome: Outcome, tally: Tally, event: Any, failed: Any) -> None:
    phase = _phase(event)
    outcome.cases[phase] += len(event.recorder.cases)
    for checks in event.recorder.checks.values():
        for node in checks:
            outcome.checks_run[node.name] += 1
            if node.status != failed or node.failure_info is None:
                continue
            failure = node.failure_info.failure
            lines = message_lines(failure)
            title = str(getattr(failure, "title", "") or failure).splitlines()[0][:300]
            named = [line for line in lines if "->" in line] or lines[:1]
            message = ": ".join([title, *named[:2]])
            outcome.failures.append(Failure(phase, event.recorder.label, node.name, message))
            # The stateful phase's recorder is labelled "Stateful tests"; the failure names its operation.
            label = str(getattr(failure, "operation", None) or event.recorder.label)
            if node.name in CUSTOM_CHECKS:
                continue
            if accepted_by_the_spec(label, failure, lines):
                tally.disagreements[node.name] += 1
                continue
            tally.add(finding_from_failure(node.name, label, failure))
