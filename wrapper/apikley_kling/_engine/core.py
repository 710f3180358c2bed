"""The engine as one object: the operations objects composed over one Engine, plus the ones that combine them."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..catalog import CreatePlan
from ..models import Task
from .effects import Call, Op
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

    def credits(self) -> Op[float]:
        engine = self.engine
        value: float = yield from engine.request(Call("get_remaining_credits", {}), engine.decoder.credits)
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
        done = yield from self.tasks.wait(
            task.id, timeout=timeout, on_update=on_progress, inbox=inbox, expect_callbacks=expect_callbacks
        )
        yield from self.files.download(done, output, on_progress=on_progress)
        return done
