"""`kling wait TASK`: wait for a task's end, with a live view on a terminal."""

from __future__ import annotations

from apikley_kling import DEFAULT_TIMEOUT
from apikley_kling import exit_codes as X

from .._client import client, interrupted, resume_command
from .._common import (
    BaseUrlOpt,
    JsonOpt,
    NoSimOpt,
    TaskArg,
    TimeoutOpt,
    command_app,
    exits,
    guard,
    no_simulate,
    show_task,
    stderr_console,
)
from .._examples import ExampleCommand

app = command_app()


@app.command("wait", cls=ExampleCommand, epilog=exits(X.OK, X.FAILED, X.USAGE, X.AUTH, X.TIMEOUT, X.API, X.INTERRUPTED))
@guard
def wait(
    task_id: TaskArg,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    base_url: BaseUrlOpt = None,
    simulate: NoSimOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Wait until a task succeeds (exit 0), fails (exit 1) or the timeout passes (exit 5)."""
    from .._view import GenerateView

    no_simulate("wait", simulate)
    with client(base_url=base_url) as kling:
        try:
            if as_json:
                task = kling.tasks.wait(task_id, timeout=timeout)
            else:
                view = GenerateView(stderr_console(), title=task_id, output="", deadline=timeout)
                with view:
                    view.created(task_id, announce=False)
                    task = kling.tasks.wait(task_id, timeout=timeout, on_update=view.task)
        except KeyboardInterrupt:
            resume = resume_command("wait", task_id, base_url=base_url)
            raise interrupted(task_id, done=False, resume=resume) from None
    show_task(task, as_json)
