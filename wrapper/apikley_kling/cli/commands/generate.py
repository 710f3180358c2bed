"""`kling generate`: one video with any model; its options are the model's fields, read from the catalog.

Typer builds options from a function's signature, and the fields depend on
`--model`, so the command is a TyperCommand that looks for `--model` in the
arguments first and then adds one option per field of that model (names,
types, limits and help all from `apikley_kling.catalog`). Values are parsed by
the field's type here; whether they are acceptable is the SDK's one
validator's call (`Model.check`), before anything is sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click.exceptions import NoSuchOption  # typer 0.27 carries its own click (pinned in pyproject)
from typer.core import TyperCommand, TyperOption

from . import cli, exit_codes
from ._cli_paths import OverwriteOpt, check_output

if TYPE_CHECKING:
    from ._cli_view import GenerateView
    from .catalog import Field, Model
    from .client import Kling
    from .pricing import Estimate

_FIELDS = "kling.fields"  # ctx.meta key: field name -> the raw value given on the command line
_PREFIX = "field_"  # click names of field options (field names need not be identifiers)


def _catalog_model(model_id: str | None) -> Model:
    from .catalog import models

    catalog = models()
    chosen = model_id or catalog.default
    if chosen not in catalog:
        raise typer.BadParameter(f"{chosen!r} is not one of {', '.join(catalog)}", param_hint="--model")
    return catalog[chosen]


def _model_in(args: Sequence[str]) -> str | None:
    """The value of --model on the command line (the last one wins, as click would have it)."""
    found = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--model" and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith("--model="):
            found = arg.split("=", 1)[1]
    return found


def _metavar(f: Field) -> str:
    kind = f.item_type if f.type == "array" else f.type
    if f.choices is not None:
        return "[" + "|".join(str(c) for c in f.choices) + "]"
    if f.file is not None:
        return "URL|PATH"
    return {"number": "NUMBER", "integer": "INTEGER", "object": "JSON", "array": "JSON"}.get(str(kind), "TEXT")


def field_help(f: Field) -> str:
    """What --help says about a field: its type, whether it is required, its limits, its description."""
    kind = f.type_name + (", required" if f.required else "")
    if f.type == "array" and f.item_type not in ("object", "array"):
        kind += ", repeat the option for each item"
    elif f.type in ("object", "array"):
        kind += ", as JSON"
    limits = f.limits()
    text = kind + (f"; {limits}" if limits else "")
    return text + (f". {f.description}" if f.description else "")


def _field_option(index: int, f: Field, taken: set[str]) -> TyperOption | None:
    if f.option in taken:
        return None  # the CLI's own option has this name: the field is set through --input
    decls = [f.option]
    if f.type == "boolean":
        decls = [f"{f.option}/--no-{f.option[2:]}"]
    elif f.name == "prompt" and "-p" not in taken:
        decls.append("-p")
    flag = f.type == "boolean"
    return TyperOption(
        param_decls=[*decls, f"{_PREFIX}{index}"],
        is_flag=flag or None,
        default=None,
        multiple=f.type == "array" and not flag,
        metavar=None if flag else _metavar(f),
        help=field_help(f),
    )


class ModelCommand(TyperCommand):
    """A command whose options after the common ones are the fields of the model named by --model."""

    _common: list[Any] | None = None
    _fields: dict[str, Field]

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: typer's click Context
        if self._common is None:
            self._common = list(self.params)
        try:
            model = _catalog_model(_model_in(args))
        except typer.BadParameter as exc:
            cli.fail_usage(f"--model: {exc.message}", args)
        taken = {opt for p in self._common for opt in (*p.opts, *p.secondary_opts)}
        self._fields = {}
        options: list[Any] = []
        for i, f in enumerate(model.fields):
            option = _field_option(i, f, taken)
            if option is not None:
                self._fields[str(option.name)] = f
                options.append(option)
        common = [p for p in self._common if p.name != "image" or model.image_field is not None]
        _describe_common(common, model)
        names = [p.name for p in common]
        at = names.index("image") + 1 if "image" in names else names.index("input") + 1
        self.params = [*common[:at], *options, *common[at:]]
        self.help = _command_help(model, [f for f in model.fields if f not in self._fields.values()])
        self.epilog = _example(model)
        try:
            return super().parse_args(ctx, args)
        except NoSuchOption as exc:
            image_opts = {o for p in self._common if p.name == "image" for o in (*p.opts, *p.secondary_opts)}
            cli.fail_usage(no_such_option(model, exc.option_name, image=exc.option_name in image_opts), args)

    def invoke(self, ctx: Any) -> Any:
        given: dict[str, Any] = {}
        for name, f in self._fields.items():
            value = ctx.params.pop(name, None)
            # Only what was typed is sent: the service applies its own defaults to the rest.
            if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE":
                given[f.name] = value
        ctx.meta[_FIELDS] = given
        return super().invoke(ctx)


def no_such_option(model: Model, option: str, *, image: bool = False) -> str:
    """One line for an option this model does not have: what it has instead, and which models have it."""
    from ._text import for_terminal
    from .catalog import models

    fields = ", ".join(f.option for f in model.fields)
    if image:
        return f"model {model.id} takes no image, so no {option} (its fields: {fields})"
    having = [m.id for m in models().values() if any(option in (f.option, _negative(f)) for f in m.fields)]
    line = f"model {model.id} has no field {for_terminal(option, 80)} (its fields: {fields})"
    return line + (f"; {', '.join(having)} {'has' if len(having) == 1 else 'have'} it" if having else "")


def _negative(f: Field) -> str | None:
    return f"--no-{f.option[2:]}" if f.type == "boolean" else None


def _describe_common(params: list[Any], model: Model) -> None:
    """--model and --image say what they take for this model (the catalog's ids, its image field)."""
    from .catalog import models

    catalog = models()
    for p in params:
        if p.name == "model":
            p.help = f"A model id (`kling models` lists them; default {catalog.default})."
        elif p.name == "image" and model.image_field is not None:
            f = model.image_field
            p.help = f"Shortcut for {f.option} ({f.file.describe() if f.file else f.type_name}): a path or URL."


def _command_help(model: Model, without_option: list[Field]) -> str:
    from .catalog import models

    catalog = models()
    lines = [
        "Create a video: upload local files, create the task, wait for it, download the MP4.",
        # \b: click must not wrap a model id at one of its hyphens.
        f"\b\nModel: {model.id} ({model.title})" + (", the default" if model.id == catalog.default else ""),
        "The options named after fields are this model's, as its page states them; pass --model M for the"
        " fields of another model (`kling models` lists them).",
    ]
    if model.required_any_of:
        lines.append("It needs " + " or ".join(" + ".join(names) for names in model.required_any_of) + ".")
    if without_option:
        lines.append("Set through --input only: " + ", ".join(f.name for f in without_option) + ".")
    return "\n\n".join(lines)


def _example(model: Model) -> str:
    from ._cli_examples import generate_example

    others = "kling generate --model MODEL --help   # the options of another model (`kling models` lists them)"
    return "\b\nExample:\n" + f"  {generate_example(model)}\n  {others}\n"


# -- values --------------------------------------------------------------------


def _bad(model: Model, f: Field, why: str) -> cli.CliError:
    return cli.CliError(f"{model.id}: {f.name} ({f.option}): {why}", exit_codes.USAGE)


def _scalar(model: Model, f: Field, kind: str | None, text: str) -> Any:
    try:
        if kind == "number":
            return float(text)
        if kind == "integer":
            return int(text)
    except ValueError:
        raise _bad(model, f, f"expected {'a' if kind == 'number' else 'an'} {kind}, not {text!r}") from None
    if kind in ("object", "array"):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise _bad(model, f, f"not valid JSON ({exc})") from None
    return text


def parse_field(model: Model, f: Field, raw: Any) -> Any:
    """A command-line value as the field's type: numbers, integers, JSON; arrays from repeated options."""
    if f.type == "boolean":
        return bool(raw)
    if f.type != "array":
        return _scalar(model, f, f.type, str(raw))
    items = [_scalar(model, f, f.item_type, str(v)) for v in raw]
    if f.item_type == "object" and len(items) == 1 and isinstance(items[0], list):
        return items[0]  # the whole array as one JSON value
    return items


def read_input(text: str) -> dict[str, Any]:
    """--input: a JSON object, or the name of a file that holds one."""
    source = text
    if not text.lstrip().startswith("{"):
        try:
            source = Path(text).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = f"--input: not a JSON object, nor a file to read one from ({exc})"
            raise cli.CliError(why, exit_codes.USAGE) from None
    try:
        found = json.loads(source)
    except ValueError as exc:
        raise cli.CliError(f"--input: not valid JSON ({exc})", exit_codes.USAGE) from None
    if not isinstance(found, dict):
        raise cli.CliError("--input: must be a JSON object of fields", exit_codes.USAGE)
    return found


# -- the command -----------------------------------------------------------------


@cli.app.command(cls=ModelCommand)
@cli.guard
def generate(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option("--model", "-m", metavar="MODEL", help="The model.")] = None,
    input: Annotated[
        str | None, typer.Option("--input", metavar="JSON|FILE", help="The whole input as a JSON object (or a file).")
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", "-i", metavar="PATH|URL", help="Shortcut for the model's first image field."),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="Where to save the MP4: a file, or a folder for <task id>.mp4 (default: .).",
        ),
    ] = None,
    callback_url: Annotated[
        str | None, typer.Option("--callback-url", metavar="URL", help="URL the service POSTs to at the end.")
    ] = None,
    overwrite: OverwriteOpt = False,
    timeout: cli.TimeoutOpt = cli.DEFAULT_TIMEOUT,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print what the create would cost (the rate card's estimate); send nothing."),
    ] = False,
    max_credits: Annotated[
        float | None,
        typer.Option(
            "--max-credits",
            metavar="N",
            min=0,
            help="Refuse (exit 8, nothing sent) when the estimate is above N credits or the price is unknown.",
        ),
    ] = None,
    base_url: cli.BaseUrlOpt = None,
    simulate: cli.SimOpt = False,
    as_json: cli.JsonOpt = False,
) -> None:
    """Make one video with any model: upload local files, create the task, wait, download the MP4."""
    m = _catalog_model(model)
    fields = {name: parse_field(m, m.field(name), raw) for name, raw in ctx.meta.get(_FIELDS, {}).items()}
    whole = read_input(input) if input is not None else None
    # The SDK's own check, before a key is needed and before anything is sent; then where the video goes.
    m.check(whole, image=image, callback_url=callback_url, **fields)
    if dry_run:
        from .pricing import estimate

        _print_estimate(estimate(model=m.id, input=whole, image=image, callback_url=callback_url, **fields), as_json)
        return
    where = check_output(output, task_id=None, overwrite=overwrite)
    request = {"model": m.id, "input": whole, "image": image, "callback_url": callback_url, **fields}
    if max_credits is not None:
        request["max_credits"] = max_credits
    shown = str(output) if output else "<task id>.mp4"
    with cli.client(simulate=simulate, base_url=base_url) as kling:
        try:
            _run(kling, m, request, where, shown=shown, timeout=timeout, as_json=as_json, simulated=simulate)
        except _Interrupted as stop:
            raise _interrupted(stop.progress, where, base_url, simulated=simulate) from None


def _print_estimate(found: Estimate, as_json: bool) -> None:
    """--dry-run: the estimate, and that nothing was sent."""
    from ._text import for_terminal

    if as_json:
        cli.print_json({"ok": True, "dry_run": True, "estimate": found.to_dict()})
    else:
        out = cli.stdout_console()
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

    from ._cli_view import GenerateView
    from .downloads import target_path

    what = f"{m.id}" + (f" {request['image']}" if request.get("image") else "")
    view = None if as_json else GenerateView(cli.stderr_console(), title=what, output=shown, deadline=timeout)
    progress = Progress(view)
    try:
        with view if view is not None else nullcontext():
            task = kling.generate(output=where, timeout=timeout, on_progress=progress, **request)
    except KeyboardInterrupt:
        raise _Interrupted(progress) from None
    timings = progress.timings(time.monotonic())
    file = target_path(where, task.id).resolve()
    if as_json:
        cli.print_json(
            {
                "ok": True,
                **cli.task_json(task),
                "input": dict(task.input) if task.input is not None else None,
                "file": str(file),
                "bytes": file.stat().st_size,
                "timings": timings,
                "simulated": simulated,
            }
        )
    else:
        from rich.markup import escape

        from ._text import for_terminal

        size = file.stat().st_size / 1e6
        cli.stdout_console().print(
            f"[green]✓[/] saved {escape(str(file))} ({size:.1f} MB, task {escape(for_terminal(task.id))}, "
            f"{timings['total_s']:.1f}s)"
        )


def _interrupted(progress: Progress, where: Path, base_url: str | None, *, simulated: bool) -> cli.CliError:
    """Ctrl-C: once a task exists it goes on (and is paid); say how to pick it up. Under --simulate the
    simulator lived in this process: there is nothing to pick up (`kling wait` cannot reach it), nor to pay."""
    from .downloads import target_path

    task_id = progress.task_id
    if simulated:
        gone = f"task {task_id} is gone" if task_id is not None else "any task is gone"
        return cli.CliError(
            f"interrupted; the --simulate simulator ran inside this command and ended with it: {gone} and"
            " nothing was paid; run the same command again",
            exit_codes.INTERRUPTED,
        )
    if task_id is None:
        return cli.CliError(
            "interrupted before a task id arrived; if the create was already sent a paid task may exist"
            " (`kling credits` tells)",
            exit_codes.INTERRUPTED,
        )
    fetch = cli.resume_command("download", task_id, "-o", str(target_path(where, task_id)), base_url=base_url)
    if progress.downloading is None:
        resume = f"{cli.resume_command('wait', task_id, base_url=base_url)}` then `{fetch}"
        return cli.interrupted(task_id, done=False, resume=resume)
    return cli.interrupted(task_id, done=True, resume=fetch)


class Progress:
    """The on_progress callback of `kling.generate`: feeds the view and notes when each phase began."""

    def __init__(self, view: GenerateView | None) -> None:
        self.view = view
        self.started = time.monotonic()
        self.uploaded: float | None = None
        self.downloading: float | None = None
        self.task_id: str | None = None

    def __call__(self, event: Any) -> None:
        from .events import DownloadProgress, TaskUpdate, UploadProgress

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
