"""One contract run: the checker's own cases, schemathesis, given tasks read, created tasks followed to their end.

The order spends the provider's generation time well: tasks are created
first (one per model), the fuzzer runs while they generate, and they are
followed to their end last.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._config import DEFAULT_TIMEOUT
from ..catalog import models
from ..clock import Clock, SystemClock
from . import _openapi
from ._bounds import Unreachable
from ._findings import Group, Tally
from ._fuzz import Outcome, Settings
from ._probes import Created, Prober
from ._service import Service
from ._verdict import CheckStatus, exit_code, statuses


@dataclass
class Report:
    """What a run saw: the tally, the statuses of the checks, the findings as causes, and the exit code."""

    target: str
    settings: Settings
    tally: Tally
    outcome: Outcome | None
    created: list[Created]
    dropped: list[str]
    models: tuple[str, ...]
    seconds: float
    checks: list[CheckStatus] = field(default_factory=list)
    roots: list[Group] = field(default_factory=list)

    def __post_init__(self) -> None:
        run = dict(self.outcome.checks_run) if self.outcome else {}
        self.checks, self.roots = statuses(self.settings, self.tally, run)

    @property
    def exit_code(self) -> int:
        return exit_code(self.settings, self.tally, self.roots, self.checks)


def check_service(
    settings: Settings,
    *,
    clock: Clock | None = None,
    transport: Any = None,
    app: Any = None,
    target: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Run every enabled check against `settings.base_url` (or `transport`/`app`, in-process).

    A report comes back whatever the server did: a server that cannot be reached ends the run at once
    (one error naming the host and the cause), and anything an answer broke in the checker is an error
    of the run, not a crash. `progress` hears a line as each part of the run starts.
    """
    catalog = models()
    unknown = [m for m in settings.models if m not in catalog]
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)}; the spec has {', '.join(catalog)}")
    every = set(_openapi.operations())
    if set(settings.operations) - every:
        raise ValueError(f"unknown operationId(s): {sorted(set(settings.operations) - every)}; known: {sorted(every)}")
    say = progress or (lambda _: None)
    parts = _Parts(settings, settings.models or tuple(catalog), Tally(), say)
    started = time.monotonic()
    options = {
        "timeout": settings.request_timeout,
        "rate_limit": settings.rate_limit,
        "transport": transport,
        "max_bytes": settings.max_answer_bytes,
    }
    try:
        with Service(settings.base_url, settings.api_key, parts.tally, clock=clock or SystemClock(), **options) as s:
            parts.run(s, app)
    except Unreachable as exc:
        parts.tally.error(str(exc))
        say(str(exc))
    except Exception as exc:  # whatever an answer held, the run ends in a report (exit 2), not a traceback
        parts.tally.error(f"the run stopped: {type(exc).__name__}: {exc}")
        say(f"the run stopped: {type(exc).__name__}: {exc}")
    return Report(
        target=target or settings.base_url,
        settings=settings,
        tally=parts.tally,
        outcome=parts.outcome,
        created=parts.created,
        dropped=parts.dropped,
        models=parts.models,
        seconds=time.monotonic() - started,
    )


@dataclass
class _Parts:
    """The parts of one run, in order; what each gathered stays here when a later one stops the run."""

    settings: Settings
    models: tuple[str, ...]
    tally: Tally
    say: Callable[[str], None]
    outcome: Outcome | None = None
    created: list[Created] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def run(self, service: Service, app: Any) -> None:
        settings, say = self.settings, self.say
        prober = Prober(service, self.tally)
        say(f"contract check of {settings.base_url}: operations without parameters")
        prober.plain_reads(settings.included)
        if settings.included(_openapi.create_operation().id):
            if settings.create:
                say(f"creating one task per model ({len(self.models)})")
                self.created = prober.create_samples(self.models)
            say("limits of every model: at each limit and one step past it")
            self.dropped = prober.limits(self.models, inside=settings.create)
        if settings.phases:
            from ._fuzz import load_schema, run

            say(f"schemathesis: {', '.join(settings.phases)}")
            limits = (settings.request_timeout, settings.max_answer_bytes)
            self.outcome = run(load_schema(settings, app=app), self.tally, limits=limits, progress=say)
        if settings.included(_openapi.task_link().target.id):
            say("reading tasks: one never issued, and those given with --task-id")
            prober.read_unknown(settings.seed)
            prober.read_given(settings.task_ids)
            deadline = DEFAULT_TIMEOUT if settings.task_deadline is None else settings.task_deadline
            if self.created:
                say(f"following {len(self.created)} created task(s) to their end (at most {deadline:g} s)")
            prober.follow(self.created, deadline=deadline, seed=settings.seed)
