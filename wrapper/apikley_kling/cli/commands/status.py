"""`kling status | wait | download | credits | upload`: one public SDK call each."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from . import cli, exit_codes
from ._cli_paths import OverwriteOpt, check_output

if TYPE_CHECKING:
    from .models import Task

TaskArg = Annotated[str, typer.Argument(help="The task id that create returned.")]
OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output", "-o", metavar="PATH", help="Where to save the MP4: a file, or a folder for <task id>.mp4."
    ),
]
# Each --simulate starts a fresh in-process simulator, which knows no task: a task id needs a served one.
NoSimOpt = Annotated[bool, typer.Option("--simulate", hidden=True)]


def _no_simulate(command: str, simulate: bool) -> None:
    if simulate:
        raise cli.CliError(
            f"`kling {command} --simulate` would ask a fresh simulator that knows no task; serve one that the "
            "commands share: `kling simulate --port 8765` in another terminal, then "
            f"`kling {command} TASK --base-url http://127.0.0.1:8765` with {cli.ENV_KEY} set to the key it prints",
            exit_codes.USAGE,
        )


@cli.app.command()
@cli.guard
def status(
    task_id: TaskArg, base_url: cli.BaseUrlOpt = None, simulate: NoSimOpt = False, as_json: cli.JsonOpt = False
) -> None:
    """Show a task's state (one query)."""
    _no_simulate("status", simulate)
    with cli.client(base_url=base_url) as kling:
        task = kling.tasks.get(task_id)
    _show(task, as_json)


def _show(task: Task, as_json: bool) -> None:
    if as_json:
        cli.print_json({"ok": True, **cli.task_json(task)})
    else:
        cli.print_task(task)


@cli.app.command()
@cli.guard
def wait(
    task_id: TaskArg,
    timeout: cli.TimeoutOpt = cli.DEFAULT_TIMEOUT,
    base_url: cli.BaseUrlOpt = None,
    simulate: NoSimOpt = False,
    as_json: cli.JsonOpt = False,
) -> None:
    """Wait until a task succeeds (exit 0), fails (exit 1) or the timeout passes (exit 5)."""
    from ._cli_view import GenerateView

    _no_simulate("wait", simulate)
    with cli.client(base_url=base_url) as kling:
        try:
            if as_json:
                task = kling.tasks.wait(task_id, timeout=timeout)
            else:
                view = GenerateView(cli.stderr_console(), title=task_id, output="", deadline=timeout)
                with view:
                    view.created(task_id, announce=False)
                    task = kling.tasks.wait(task_id, timeout=timeout, on_update=view.task)
        except KeyboardInterrupt:
            resume = cli.resume_command("wait", task_id, base_url=base_url)
            raise cli.interrupted(task_id, done=False, resume=resume) from None
    _show(task, as_json)


@cli.app.command()
@cli.guard
def download(
    task_id: Annotated[str, typer.Argument(help="A task that has succeeded.")],
    output: OutputOpt = None,
    overwrite: OverwriteOpt = False,
    base_url: cli.BaseUrlOpt = None,
    simulate: NoSimOpt = False,
    as_json: cli.JsonOpt = False,
) -> None:
    """Download a finished task's video (fresh URLs are asked for; nothing is paid)."""
    from .downloads import target_path
    from .models import TaskState

    _no_simulate("download", simulate)
    where = check_output(output, task_id=task_id, overwrite=overwrite)
    with cli.client(base_url=base_url) as kling:
        try:
            task = kling.tasks.get(task_id)
            if task.state is TaskState.FAIL:
                why = task.fail_msg or task.fail_code or "no reason given"
                raise cli.CliError(f"task {task_id} failed: {why}", exit_codes.FAILED)
            if task.state is not TaskState.SUCCESS:
                raise cli.CliError(
                    f"task {task_id} is still {task.state.value}; `kling wait {task_id}` first", exit_codes.TIMEOUT
                )
            path = kling.download(task, where).resolve()
        except KeyboardInterrupt:
            again = ["download", task_id, "-o", str(target_path(where, task_id)), *(["--overwrite"] * overwrite)]
            raise cli.interrupted(task_id, done=True, resume=cli.resume_command(*again, base_url=base_url)) from None
    if as_json:
        cli.print_json({"ok": True, **cli.task_json(task), "file": str(path), "bytes": path.stat().st_size})
    else:
        from rich.markup import escape

        from ._text import for_terminal

        cli.stdout_console().print(f"[green]✓[/] saved {escape(for_terminal(path, limit=10_000))}")


@cli.app.command()
@cli.guard
def credits(base_url: cli.BaseUrlOpt = None, simulate: cli.SimOpt = False, as_json: cli.JsonOpt = False) -> None:
    """Show the account's remaining credits."""
    with cli.client(simulate=simulate, base_url=base_url) as kling:
        left = kling.credits()
    if as_json:
        cli.print_json({"ok": True, "credits": left})
    else:
        cli.stdout_console().print(f"{left:g} credits")


@cli.app.command()
@cli.guard
def upload(
    path: Annotated[Path, typer.Argument(help="A local file that some model takes (`kling models M` says which).")],
    base_url: cli.BaseUrlOpt = None,
    simulate: cli.SimOpt = False,
    as_json: cli.JsonOpt = False,
) -> None:
    """Upload a file and print the URL to use in a file field (files expire after 3 days)."""
    with cli.client(simulate=simulate, base_url=base_url) as kling:
        # The SDK checks the file (type from its bytes, size) before anything is sent.
        url = kling.files.upload(path.expanduser())
    if as_json:
        cli.print_json({"ok": True, "url": url, "path": str(path)})
    else:
        sys.stdout.write(url + "\n")
