"""The options of `kling generate` that are a model's fields, read from the catalog, and their values.

Typer builds options from a function's signature, and the fields depend on
`--model`, so the command is a TyperCommand that looks for `--model` in the
arguments first and then adds one option per field of that model (names,
types, limits and help all from `apikley_kling.catalog`). Values are parsed by
the field's type here; whether they are acceptable is the SDK's one
validator's call (`Model.check`), before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer._click.exceptions import NoSuchOption  # typer 0.27 carries its own click (pinned in pyproject)
from typer.core import TyperCommand, TyperOption

from apikley_kling import exit_codes, for_terminal

from ._common import CliError, fail_usage

if TYPE_CHECKING:
    from apikley_kling import Field, Model

FIELDS = "kling.fields"  # ctx.meta key: field name -> the raw value given on the command line
_PREFIX = "field_"  # click names of field options (field names need not be identifiers)


def catalog_model(model_id: str | None) -> Model:
    from apikley_kling import load_models as models

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
    _exits: str | None = None
    _fields: dict[str, Field]

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: typer's click Context
        if self._common is None:
            self._common, self._exits = list(self.params), self.epilog
        try:
            model = catalog_model(_model_in(args))
        except typer.BadParameter as exc:
            fail_usage(f"--model: {exc.message}", args)
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
        self.epilog = (f"{self._exits}\n\n" if self._exits else "") + _example(model)
        try:
            return super().parse_args(ctx, args)
        except NoSuchOption as exc:
            image_opts = {o for p in self._common if p.name == "image" for o in (*p.opts, *p.secondary_opts)}
            fail_usage(no_such_option(model, exc.option_name, image=exc.option_name in image_opts), args)

    def invoke(self, ctx: Any) -> Any:
        given: dict[str, Any] = {}
        for name, f in self._fields.items():
            value = ctx.params.pop(name, None)
            # Only what was typed is sent: the service applies its own defaults to the rest.
            if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE":
                given[f.name] = value
        ctx.meta[FIELDS] = given
        return super().invoke(ctx)


def no_such_option(model: Model, option: str, *, image: bool = False) -> str:
    """One line for an option this model does not have: what it has instead, and which models have it."""
    from apikley_kling import load_models as models

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
    from apikley_kling import load_models as models

    catalog = models()
    for p in params:
        if p.name == "model":
            p.help = f"A model id (`kling models` lists them; default {catalog.default})."
        elif p.name == "image" and model.image_field is not None:
            f = model.image_field
            p.help = f"Shortcut for {f.option} ({f.file.describe() if f.file else f.type_name}): a path or URL."


def _command_help(model: Model, without_option: list[Field]) -> str:
    from apikley_kling import load_models as models

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
    from ._examples import generate_example

    others = "kling generate --model MODEL --help   # the options of another model (`kling models` lists them)"
    return "\b\nExample:\n" + f"  {generate_example(model)}\n  {others}\n"


# -- values --------------------------------------------------------------------


def _bad(model: Model, f: Field, why: str) -> CliError:
    return CliError(f"{model.id}: {f.name} ({f.option}): {why}", exit_codes.USAGE)


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
            raise CliError(why, exit_codes.USAGE) from None
    try:
        found = json.loads(source)
    except ValueError as exc:
        raise CliError(f"--input: not valid JSON ({exc})", exit_codes.USAGE) from None
    if not isinstance(found, dict):
        raise CliError("--input: must be a JSON object of fields", exit_codes.USAGE)
    return found
