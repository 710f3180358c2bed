"""The engine as one object: the operations objects composed over one Engine, plus the ones that combine them."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..catalog import CreatePlan
from ..events import TaskUpdate
from ..models import Task
from .effects import Call, Emit, Op, RequestOptions
from .files import FileOps
from .inbox import CallbackInbox
from .loop import Engine
from .retry import RetryPolicy
from .tasks import TaskOps

if TYPE_CHECKING:
    from ..pricing import CallLimit

__all__ = ["Core"]


class Core:
    """What Kling and AsyncKling drive: they perform its effects, it decides everything else.

    `engine` is what every operation shares (clock, retry policy, decoder, budget); `tasks` and `files`
    are the operations, each holding that engine.
    """

    __slots__ = ("engine", "files", "tasks")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.files = FileOps(engine)
        self.tasks = TaskOps(engine, self.files)

    @property
    def retry(self) -> RetryPolicy:
        return self.engine.retry

    @property
    def rng(self) -> random.Random:
        return self.engine.rng

    def with_retries(self, max_retries: int) -> Core:
        """A Core on the same clock, budget, decoder, inbox and money, with `max_retries` (with_options)."""
        from dataclasses import replace

        engine = replace(self.engine, retry=replace(self.engine.retry, max_retries=max_retries))
        other = Core.__new__(Core)
        other.engine = engine
        other.files = replace(self.files, engine=engine)
        other.tasks = replace(self.tasks, engine=engine, files=other.files)
        return other

    def credits(self, options: RequestOptions | None = None) -> Op[float]:
        engine = self.engine
        call = Call("get_remaining_credits", {}, options=options)
        value: float = yield from engine.request(call, engine.decoder.credits)
        return value

    def generate(
        self,
        plan: CreatePlan,
        output: str | os.PathLike[str],
        *,
        timeout: float,
        on_progress: Callable[[Any], object] | None,
        inbox: CallbackInbox | None,
        expect_callbacks: bool = False,
        limit: CallLimit | None = None,
    ) -> Op[Task]:
        task = yield from self.tasks.create(plan, on_progress=on_progress, limit=limit)
        if on_progress is not None:  # the id at once: a Ctrl-C before the first query still knows the paid task
            yield Emit(on_progress, TaskUpdate(task, 0.0, timeout))
        done = yield from self.tasks.wait(
            task.id, timeout=timeout, on_update=on_progress, inbox=inbox, expect_callbacks=expect_callbacks
        )
        yield from self.files.download(done, output, on_progress=on_progress)
        return done
