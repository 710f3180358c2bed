"""`kling generate`: one video with any model; its options are the model's fields, read from the catalog.

Typer builds options from a function's signature, and the fields depend on
`--model`, so the command is a `ModelCommand` (`cli._fields`) that looks for
`--model` in the arguments first and then adds one option per field of that model.
Whether the values are acceptable is the SDK's one validator's call (`Model.check`),
before anything is sent.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from apikley_kling import DEFAULT_TIMEOUT, for_terminal
from apikley_kling import exit_codes as X

from .._client import client, interrupted, resume_command
from .._common import (
    BaseUrlOpt,
    CliError,
    JsonOpt,
    SimOpt,
    TimeoutOpt,
    command_app,
    exits,
    guard,
    print_json,
    stderr_console,
    stdout_console,
    task_json,
)
from .._fields import FIELDS, ModelCommand, catalog_model, parse_field, read_input
from .._paths import OverwriteOpt, check_output

if TYPE_CHECKING:
    from apikley_kling import Estimate, Kling, Model

    from .._view import GenerateView

app = command_app()
CODES = (X.OK, X.FAILED, X.USAGE, X.AUTH, X.CREDITS, X.TIMEOUT, X.AMBIGUOUS, X.API, X.SPEND, X.INTERRUPTED)


_ModelOpt = Annotated[str | None, typer.Option("--model", "-m", metavar="MODEL", help="The model.")]
_InputOpt = Annotated[
    str | None, typer.Option("--input", metavar="JSON|FILE", help="The whole input as a JSON object (or a file).")
]
_ImageOpt = Annotated[
    str | None, typer.Option("--image", "-i", metavar="PATH|URL", help="Shortcut for the model's first image field.")
]
_OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="PATH",
        help="Where to save the MP4: a file, or a folder for <task id>.mp4 (default: .).",
    ),
]
_CallbackOpt = Annotated[
    str | None, typer.Option("--callback-url", metavar="URL", help="URL the service POSTs to at the end.")
]
_DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Print what the create would cost (the rate card's estimate); send nothing.")
]
_MaxCreditsOpt = Annotated[
    float | None,
    typer.Option(
        "--max-credits",
        metavar="N",
        min=0,
        help="Refuse (exit 8, nothing sent) when the estimate is above N credits or the price is unknown "
        "(unless --allow-unknown-price).",
    ),
]
_AllowUnknownOpt = Annotated[
    bool, typer.Option("--allow-unknown-price", help="Under --max-credits, send a model whose price is unknown.")
]


@app.command("generate", cls=ModelCommand, epilog=exits(*CODES))
@guard
def generate(
    ctx: typer.Context,
    model: _ModelOpt = None,
    input: _InputOpt = None,
    image: _ImageOpt = None,
    output: _OutputOpt = None,
    callback_url: _CallbackOpt = None,
    overwrite: OverwriteOpt = False,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    dry_run: _DryRunOpt = False,
    max_credits: _MaxCreditsOpt = None,
    allow_unknown_price: _AllowUnknownOpt = False,
    base_url: BaseUrlOpt = None,
    simulate: SimOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Make one video with any model: upload local files, create the task, wait, download the MP4."""
    m = catalog_model(model)
    fields = {name: parse_field(m, m.field(name), raw) for name, raw in ctx.meta.get(FIELDS, {}).items()}
    whole = read_input(input) if input is not None else None
    # The SDK's own check, before a key is needed and before anything is sent; then where the video goes.
    m.check(whole, image=image, callback_url=callback_url, **fields)
    if dry_run:
        from apikley_kling import estimate

        _print_estimate(estimate(model=m.id, input=whole, image=image, callback_url=callback_url, **fields), as_json)
        return
    where = check_output(output, task_id=None, overwrite=overwrite)
    request = {"model": m.id, "input": whole, "image": image, "callback_url": callback_url, **fields}
    if max_credits is not None:
        request["max_credits"] = max_credits
    if allow_unknown_price:
        request["allow_unknown_price"] = True
    shown = str(output) if output else "<task id>.mp4"
    with client(simulate=simulate, base_url=base_url) as kling:
        try:
            _run(kling, m, request, where, shown=shown, timeout=timeout, as_json=as_json, simulated=simulate)
        except _Interrupted as stop:
            raise _interrupted(stop.progress, where, base_url, simulated=simulate) from None


def _print_estimate(found: Estimate, as_json: bool) -> None:
    """--dry-run: the estimate, and that nothing was sent."""
    if as_json:
        print_json({"ok": True, "dry_run": True, "estimate": found.to_dict()})
    else:
        out = stdout_console()
        out.print(for_terminal(found, limit=1000), markup=False)
        out.print("dry run: nothing sent", markup=False)


class _Interrupted(Exception):
    def __init__(self, progress: Progress) -> None:
        super().__init__("interrupted")
        self.progress = progress


def _run(
    kling: Kling,
    m: Model,
    request: dict[str, Any],
    where: Path,
    *,
    shown: str,
    timeout: float,
    as_json: bool,
    simulated: bool,
) -> None:
    from contextlib import nullcontext

    from apikley_kling.downloads import target_path

    from .._view import GenerateView

    what = f"{m.id}" + (f" {request['image']}" if request.get("image") else "")
    view = None if as_json else GenerateView(stderr_console(), title=what, output=shown, deadline=timeout)
    progress = Progress(view)
    try:
        with view if view is not None else nullcontext():
            task = kling.generate(output=where, timeout=timeout, on_progress=progress, **request)
    except KeyboardInterrupt:
        raise _Interrupted(progress) from None
    timings = progress.timings(time.monotonic())
    file = target_path(where, task.id).resolve()
    if as_json:
        print_json(
            {
                "ok": True,
                **task_json(task),
                "input": dict(task.input) if task.input is not None else None,
                "file": str(file),
                "bytes": file.stat().st_size,
                "timings": timings,
                "simulated": simulated,
            }
        )
    else:
        from rich.markup import escape

        size = file.stat().st_size / 1e6
        stdout_console().print(
            f"[green]✓[/] saved {escape(str(file))} ({size:.1f} MB, task {escape(for_terminal(task.id))}, "
            f"{timings['total_s']:.1f}s)"
        )


def _interrupted(progress: Progress, where: Path, base_url: str | None, *, simulated: bool) -> CliError:
    """Ctrl-C: once a task exists it goes on (and is paid); say how to pick it up. Under --simulate the
    simulator lived in this process: there is nothing to pick up (`kling wait` cannot reach it), nor to pay."""
    from apikley_kling.downloads import target_path

    task_id = progress.task_id
    if simulated:
        gone = f"task {task_id} is gone" if task_id is not None else "any task is gone"
        return CliError(
            f"interrupted; the --simulate simulator ran inside this command and ended with it: {gone} and"
            " nothing was paid; run the same command again",
            X.INTERRUPTED,
        )
    if task_id is None:
        return CliError(
            "interrupted before a task id arrived; if the create was already sent a paid task may exist"
            " (`kling credits` tells)",
            X.INTERRUPTED,
        )
    fetch = resume_command("download", task_id, "-o", str(target_path(where, task_id)), base_url=base_url)
    if progress.downloading is None:
        resume = f"{resume_command('wait', task_id, base_url=base_url)}` then `{fetch}"
        return interrupted(task_id, done=False, resume=resume)
    return interrupted(task_id, done=True, resume=fetch)


class Progress:
    """The on_progress callback of `kling.generate`: feeds the view and notes when each phase began."""

    def __init__(self, view: GenerateView | None) -> None:
        self.view = view
        self.started = time.monotonic()
        self.uploaded: float | None = None
        self.downloading: float | None = None
        self.task_id: str | None = None

    def __call__(self, event: Any) -> None:
        from apikley_kling import DownloadProgress, TaskUpdate, UploadProgress

        now = time.monotonic()
        view = self.view
        if isinstance(event, UploadProgress):
            self.uploaded = now
            if view is not None:
                view.upload(event)
        elif isinstance(event, TaskUpdate):
            if self.task_id is None:
                self.task_id = event.task.id  # the first answer after the create: the view names the task
                if view is not None:
                    view.created(event.task.id)
            if view is not None:
                view.task(event)
        elif isinstance(event, DownloadProgress):
            self.downloading = self.downloading or now
            if view is not None:
                view.download(event)

    def timings(self, end: float) -> dict[str, float]:
        """Seconds: until the last upload byte, then the create and the wait, then the download."""
        up = self.uploaded or self.started
        down = self.downloading or end
        return {
            "upload_s": round(up - self.started, 3),
            "wait_s": round(down - up, 3),
            "download_s": round(end - down, 3),
            "total_s": round(end - self.started, 3),
        }
