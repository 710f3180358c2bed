"""`kling models [MODEL]`: the models of the bundled spec, and each one's fields with their limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from apikley_kling import exit_codes as X

from .._common import CliError, JsonOpt, command_app, exits, guard, print_json, stdout_console
from .._examples import ExampleCommand

if TYPE_CHECKING:
    from apikley_kling import Model

app = command_app()


def _kind(model: Model) -> str:
    """What a model starts from: an image (it has an image field), or text alone."""
    return "image" if model.image_field is not None else "text"


def _summary(model: Model, default: str) -> dict[str, Any]:
    return {
        "model": model.id,
        "title": model.title,
        "kind": _kind(model),
        "image_field": model.image_field.name if model.image_field is not None else None,
        "default": model.id == default,
    }


def _detail(model: Model, default: str) -> dict[str, Any]:
    doc = {**_summary(model, default), **model.to_dict()}
    for entry, f in zip(doc["fields"], model.fields, strict=True):
        entry["option"] = f.option
    doc["price"] = _price(model)
    return doc


def _price(model: Model) -> dict[str, Any] | None:
    """The model's price rule on the bundled card, None when its price is unknown."""
    from apikley_kling.pricing import bundled_card

    entry = bundled_card().get(model.id)
    if entry is None:
        return None
    rows = [{"when": dict(zip(entry.by, key, strict=True)), "credits": credits} for key, credits in entry.rows]
    return {"by": list(entry.by), "prices": rows, "rule": entry.rule(), "source": entry.source, "read": entry.read}


def _price_line(model: Model) -> str:
    price = _price(model)
    if price is None:
        return "price: unknown (no public source found gives one: not on the bundled card)"
    return f"price: {price['rule']} (read {price['read']} from {price['source']})"


@app.command("models", cls=ExampleCommand, epilog=exits(X.OK, X.USAGE))
@guard
def models(
    model: Annotated[str | None, typer.Argument(help="A model id: show its fields, types and limits.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the models (or one model's input fields), as the provider's pages state them."""
    from apikley_kling import load_models as load

    catalog = load()
    if model is not None and model not in catalog:
        raise CliError(f"unknown model {model!r}; one of {', '.join(catalog)}", X.USAGE)
    if model is None:
        if as_json:
            print_json(
                {
                    "ok": True,
                    "default": catalog.default,
                    "models": [_summary(m, catalog.default) for m in catalog.values()],
                }
            )
        else:
            _print_list(list(catalog.values()), catalog.default)
    elif as_json:
        print_json({"ok": True, **_detail(catalog[model], catalog.default)})
    else:
        _print_model(catalog[model], catalog.default)


def _print_list(entries: list[Model], default: str) -> None:
    width = max(len(m.id) for m in entries)
    out = stdout_console()
    for m in entries:
        mark = "  (default)" if m.id == default else ""
        out.print(f"{m.id:<{width}}  {_kind(m):<5}  {m.title}{mark}", markup=False)
    out.print("\n`kling models MODEL` shows a model's fields; `kling generate --model MODEL --help` its options.")


def _print_model(model: Model, default: str) -> None:
    out = stdout_console()
    mark = ", the default model" if model.id == default else ""
    out.print(f"{model.id}: {model.title} ({_kind(model)} to video{mark})", markup=False)
    if model.required_any_of:
        out.print("needs " + " or ".join(" + ".join(names) for names in model.required_any_of), markup=False)
    width = max(len(f.name) for f in model.fields)
    kinds = max(len(f.type_name) for f in model.fields)
    for f in model.fields:
        need = "required" if f.required else "optional"
        out.print(f"  {f.name:<{width}}  {f.type_name:<{kinds}}  {need:<8}  {f.limits()}".rstrip(), markup=False)
        if f.description:
            out.print(f"  {'':<{width}}  {f.description}", markup=False, style="dim")
    out.print(_price_line(model), markup=False)
    sent = model.sent_defaults
    if sent:
        said = ", ".join(f"{name}={_shown(value)}" for name, value in sent.items())
        out.print(f"required fields left out are sent with their page's default: {said}", markup=False)
    if model.image_field is not None:
        out.print(f"--image fills {model.image_field.name}; each field is an option of `kling generate`.", markup=False)


def _shown(value: Any) -> str:
    """A default as the command line would write it (true/false, not Python's True/False)."""
    return str(value).lower() if isinstance(value, bool) else str(value)
