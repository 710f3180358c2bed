"""`kling download TASK`: a finished task's video, from fresh URLs (nothing is paid)."""

from __future__ import annotations

from typing import Annotated

import typer

from apikley_kling import TaskState, for_terminal
from apikley_kling import exit_codes as X

from .._client import client, interrupted, resume_command
from .._common import (
    BaseUrlOpt,
    CliError,
    JsonOpt,
    NoSimOpt,
    command_app,
    exits,
    guard,
    no_simulate,
    print_json,
    stdout_console,
    task_json,
)
from .._examples import ExampleCommand
from .._paths import OverwriteOpt, check_output

app = command_app()

OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output", "-o", metavar="PATH", help="Where to save the MP4: a file, or a folder for <task id>.mp4."
    ),
]
CODES = (X.OK, X.FAILED, X.USAGE, X.AUTH, X.TIMEOUT, X.API, X.INTERRUPTED)


@app.command("download", cls=ExampleCommand, epilog=exits(*CODES))
@guard
def download(
    task_id: Annotated[str, typer.Argument(help="A task that has succeeded.")],
    output: OutputOpt = None,
    overwrite: OverwriteOpt = False,
    base_url: BaseUrlOpt = None,
    simulate: NoSimOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Download a finished task's video (fresh URLs are asked for; nothing is paid)."""
    from apikley_kling.downloads import target_path

    no_simulate("download", simulate)
    where = check_output(output, task_id=task_id, overwrite=overwrite)
    with client(base_url=base_url) as kling:
        try:
            task = kling.tasks.get(task_id)
            if task.state is TaskState.FAIL:
                why = task.fail_msg or task.fail_code or "no reason given"
                raise CliError(f"task {task_id} failed: {why}", X.FAILED)
            if task.state is not TaskState.SUCCESS:
                raise CliError(f"task {task_id} is still {task.state.value}; `kling wait {task_id}` first", X.TIMEOUT)
            path = kling.download(task, where).resolve()
        except KeyboardInterrupt:
            again = ["download", task_id, "-o", str(target_path(where, task_id)), *(["--overwrite"] * overwrite)]
            raise interrupted(task_id, done=True, resume=resume_command(*again, base_url=base_url)) from None
    if as_json:
        print_json({"ok": True, **task_json(task), "file": str(path), "bytes": path.stat().st_size})
    else:
        from rich.markup import escape

        stdout_console().print(f"[green]✓[/] saved {escape(for_terminal(path, limit=10_000))}")
