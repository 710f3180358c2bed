"""`kling status TASK`: a task's state, one query."""

from __future__ import annotations

from apikley_kling import exit_codes as X

from .._client import client
from .._common import BaseUrlOpt, JsonOpt, NoSimOpt, TaskArg, command_app, exits, guard, no_simulate, show_task
from .._examples import ExampleCommand

app = command_app()


@app.command("status", cls=ExampleCommand, epilog=exits(X.OK, X.USAGE, X.AUTH, X.API, X.INTERRUPTED))
@guard
def status(task_id: TaskArg, base_url: BaseUrlOpt = None, simulate: NoSimOpt = False, as_json: JsonOpt = False) -> None:
    """Show a task's state (one query)."""
    no_simulate("status", simulate)
    with client(base_url=base_url) as kling:
        task = kling.tasks.get(task_id)
    show_task(task, as_json)
