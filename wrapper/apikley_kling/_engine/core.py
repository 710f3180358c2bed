"""The engine as one object: every operation, plus the ones that combine them."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..catalog import CreatePlan
from ..models import Task
from .effects import Call, Op
from .inbox import CallbackInbox
from .tasks import TaskOps

if TYPE_CHECKING:
    from ..pricing import CallLimit

__all__ = ["Core"]


class Core(TaskOps):
    """What Kling and AsyncKling drive: they perform its effects, it decides everything else."""

    def credits(self) -> Op[float]:
        value: float = yield from self.request(Call("get_remaining_credits", {}), self.decoder.credits)
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
        task = yield from self.create(plan, on_progress=on_progress, limit=limit)
        done = yield from self.wait(
            task.id, timeout=timeout, on_update=on_progress, inbox=inbox, expect_callbacks=expect_callbacks
        )
        yield from self.download(done, output, on_progress=on_progress)
        return done
