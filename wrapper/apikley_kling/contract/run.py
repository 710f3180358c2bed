"""One contract run: the checker's own cases, schemathesis, given tasks read, created tasks followed to their end.

The order spends the provider's generation time well: tasks are created
first (one per model), the fuzzer runs while they generate, and they are
followed to their end last.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .._engine.config import DEFAULT_TIMEOUT
from ..catalog import models
from ..clock import Clock, SystemClock
from . import _openapi
from ._fuzz import Outcome, Settings
from ._service import Service
from .findings import Group, Tally
from .probes import Created, Prober
from .verdict import CheckStatus, exit_code, statuses


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
) -> Report:
    """Run every enabled check against `settings.base_url` (or `transport`/`app`, in-process)."""
    catalog = models()
    unknown = [m for m in settings.models if m not in catalog]
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)}; the spec has {', '.join(catalog)}")
    model_ids = settings.models or tuple(catalog)
    tally = Tally()
    started = time.monotonic()
    created: list[Created] = []
    dropped: list[str] = []
    outcome = None
    clock = clock if clock is not None else SystemClock()
    options = {"timeout": settings.request_timeout, "rate_limit": settings.rate_limit, "transport": transport}
    with Service(settings.base_url, settings.api_key, tally, clock=clock, **options) as service:
        prober = Prober(service, tally)
        prober.plain_reads(settings.included)
        if settings.included(_openapi.create_operation().id):
            if settings.create:
                created = prober.create_samples(model_ids)
            dropped = prober.limits(model_ids, inside=settings.create)
        if settings.phases:
            from ._fuzz import load_schema, run

            outcome = run(load_schema(settings, app=app), tally)
        if settings.included(_openapi.task_link().target.id):
            prober.read_unknown(settings.seed)
            prober.read_given(settings.task_ids)
            deadline = DEFAULT_TIMEOUT if settings.task_deadline is None else settings.task_deadline
            prober.follow(created, deadline=deadline, seed=settings.seed)
    return Report(
        target=target or settings.base_url,
        settings=settings,
        tally=tally,
        outcome=outcome,
        created=created,
        dropped=dropped,
        models=model_ids,
        seconds=time.monotonic() - started,
    )
