"""Task operations: get, create, wait (one task, on the provider's schedule)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._logging import logger
from ..catalog import CreatePlan, build_request
from ..errors import AmbiguousSubmit, KlingError, TaskTimeout, ValidationError
from ..events import TaskUpdate
from ..models import Task, TaskState
from .effects import Call, Emit, Op, OutOfTime, RequestOptions, SleepOrWake
from .files import FileOps
from .inbox import CallbackInbox
from .learn import Learner
from .loop import Engine
from .retry import Kind
from .schedule import fail_error, poll_interval

if TYPE_CHECKING:
    from ..pricing import CallLimit, Hold, PriceCard, SpendGuard

__all__ = ["TaskOps"]


@dataclass
class TaskOps:
    """Task operations on the engine's request loop; a create's files go through `files`."""

    engine: Engine
    files: FileOps
    # Set by the client: its caps, its rate card (None: the bundled one), its price book's learner (learn.py).
    spend: SpendGuard | None = None
    prices: PriceCard | None = None
    learner: Learner | None = None

    def get(
        self,
        task_id: str,
        *,
        retries: bool = True,
        deadline: float | None = None,
        options: RequestOptions | None = None,
    ) -> Op[Task]:
        if not isinstance(task_id, str) or not task_id.strip():
            raise ValidationError("task_id: required", field="task_id")
        call = Call("get_task_details", {"task_id": task_id}, options=options, lazy=True)
        engine = self.engine
        task: Task = yield from engine.request(
            call, lambda r: engine.decoder.task(r, task_id), task_id=task_id, retries=retries, deadline=deadline
        )
        logger.debug("task %s is %s", task.id, task.state.value)
        return task

    def _reserve(self, plan: CreatePlan, limit: CallLimit | None, unchecked: bool) -> Hold | None:
        """The one money check before a create: its estimate reserved under the caps, or SpendLimitExceeded.

        Caps reserve the higher of what this account was seen to pay and the card's price: one low observation
        (a refund landing while a create was measured) never lets a cap admit more than the card would. A create
        with `extra_body` fields (unchecked, possibly price-setting) has no estimate: unknown, as a cap treats it.
        """
        spend = self.spend
        if spend is None or not spend.capped(limit):
            return None
        from ..pricing import Estimate, bundled_card, cap_estimate

        if unchecked:
            found = Estimate(plan.model.id, None, reason="extra_body fields are sent unpriced")
        else:
            observed = self.learner.observed if self.learner is not None else None
            card = self.prices if self.prices is not None else bundled_card()  # (an empty card is falsy)
            found = cap_estimate(card, plan.model, plan.input, observed)
        return spend.reserve(found, limit)

    def create(
        self,
        plan: CreatePlan,
        *,
        on_progress: Callable[[Any], object] | None = None,
        limit: CallLimit | None = None,
        options: RequestOptions | None = None,
        before_send: Callable[[], Op[None]] | None = None,
    ) -> Op[Task]:
        """`plan` is checked already: its price reserved under the caps, its local files uploaded, the task created.

        The reservation is released when the create surely was not sent or was refused, kept otherwise.
        `options.extra_body` fields join the body's `input`, unvalidated (fields the bundled spec does not know).
        `before_send` runs after the uploads, right before the create is sent (a journal writes `submitting`).
        """
        unchecked = options is not None and bool(options.extra_body)
        hold = self._reserve(plan, limit, unchecked)
        sending = False
        answered: list[str] = []  # the task id, once the service answered: paid, whatever happens after
        try:
            urls: list[str] = []
            for up in plan.uploads:
                urls.append((yield from self.files.upload_file(up.file, on_progress)))
            body = build_request(plan, plan.with_urls(urls))
            body_dict: dict[str, Any] = body.to_dict()
            options = _with_extra_input(body_dict, options)
            call = Call("create_task", {"body": body}, options=options)
            if before_send is not None:
                yield from before_send()
            sending = True
            send = _noted(
                self.engine.request(call, self.engine.decoder.task_id, kind=Kind.CREATE, body=body_dict), answered
            )
            if self.learner is not None and not unchecked:  # between two balance reads: what it cost, if its own
                send = self.learner.create(self.engine, self.prices, plan, send, on_progress)
            task_id: str = yield from send
        except BaseException as exc:
            if hold is not None:  # a refusal or an error before sending is surely unpaid; anything else may be paid
                maybe_paid = isinstance(exc, AmbiguousSubmit) or not isinstance(exc, KlingError)
                hold.settle(kept=bool(answered) or (sending and maybe_paid))
            raise
        if hold is not None:
            hold.settle(kept=True)
        logger.info("created task %s (%s)", task_id, plan.model.id)
        created = {"taskId": task_id, "model": plan.model.id, "state": "waiting", "param": json.dumps(body_dict)}
        return Task.from_api(created)

    def wait(
        self,
        task_id: str,
        *,
        timeout: float,
        on_update: Callable[[TaskUpdate], object] | None,
        inbox: CallbackInbox | None,
        expect_callbacks: bool = False,
        options: RequestOptions | None = None,
    ) -> Op[Task]:
        """Poll on the provider's schedule until final; a callback in the inbox ends a sleep at once.

        With expect_callbacks (a receiver feeds the inbox), queries after the first are only a safety net.
        """
        clock = self.engine.clock
        box = inbox if inbox is not None else self.engine.inbox
        start = clock.monotonic()
        deadline = start + timeout
        last: Task | None = None
        while True:
            box.take(task_id)  # this query answers any callback received so far
            try:
                task = yield from self.get(task_id, deadline=deadline, options=options)
            except OutOfTime as exc:
                raise TaskTimeout(task_id, timeout=timeout, last=last) from exc.__cause__
            last = task
            now = clock.monotonic()
            if on_update is not None:
                yield Emit(on_update, TaskUpdate(task=task, elapsed=now - start, deadline=timeout))
            if task.state is TaskState.SUCCESS:
                return task
            if task.state is TaskState.FAIL:
                raise fail_error(task)
            if now >= deadline:
                raise TaskTimeout(task_id, timeout=timeout, last=task)
            delay = min(poll_interval(now - start, self.engine.rng, expect_callbacks=expect_callbacks), deadline - now)
            woke = yield SleepOrWake(delay, task_id, box)
            if woke:
                logger.debug("callback for task %s: confirming with one query", task_id)


def _with_extra_input(body: dict[str, Any], options: RequestOptions | None) -> RequestOptions | None:
    """A create's extra_body merged into `body`'s `input` (in place: the params the Task reports are those sent),
    and the options that send that body instead of the generated one."""
    if options is None or not options.extra_body:
        return options
    from dataclasses import replace

    body["input"] = {**body.get("input", {}), **options.extra_body}
    return replace(options, json=body)


def _noted(send: Op[str], answered: list[str]) -> Op[str]:
    """`send`, noting its task id the moment the service answers (what follows cannot make it unpaid)."""
    task_id = yield from send
    answered.append(task_id)
    return task_id
