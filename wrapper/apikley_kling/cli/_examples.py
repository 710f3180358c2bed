"""The "Example:" epilogue of every subcommand's --help.

An example that names a model's fields is built from the catalog (its
options, a valid value of each, its choices), never written by hand, so that
it stays runnable when a page changes. The catalog is read only when a help
page is shown: `ExampleCommand` asks for its example at that moment.
"""

from __future__ import annotations

import json
import mimetypes
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from typer.core import TyperCommand

if TYPE_CHECKING:
    from apikley_kling import Field, Model

# Free text in an example: the pages' own examples run to paragraphs.
TEXT = "a slow camera push as waves roll in"
IMAGE_STEM = "cat"


def _file_name(f: Field, stem: str) -> str:
    assert f.file is not None
    accepted = f.file.accepted_types
    mime = (
        "image/png"
        if "image/png" in accepted
        else next((t for t in accepted if mimetypes.guess_extension(t)), accepted[0])
    )
    return f"{stem}{mimetypes.guess_extension(mime) or '.' + mime.split('/')[-1]}"


def _value(f: Field, choice: bool) -> Any:
    """A value of `f` for an example: a file name, the last choice, the page's sample, or a short text."""
    if f.choices is not None:
        return f.choices[-1] if choice else f.sample()
    sample = f.sample()
    if f.type == "string" and isinstance(sample, str) and len(sample) > len(TEXT):
        return TEXT[: f.max_length] if f.max_length else TEXT
    return sample


def example_fields(model: Model) -> list[tuple[Field, Any]]:
    """The fields an example sets: those the page needs, and one optional choice to show how choices read."""
    needed = model.sample_input()
    shown = [(f, _value(f, False)) for f in model.fields if f.name in needed]
    extra = next((f for f in model.fields if f.name not in needed and f.choices is not None), None)
    if extra is not None:
        shown.append((extra, _value(extra, True)))
    return shown


def _generate_words(model: Model, default: str) -> list[str]:
    words = ["kling", "generate", *([] if model.id == default else ["--model", model.id])]
    files = 0
    for f, value in example_fields(model):
        if f is model.image_field:
            words += ["--image", _file_name(f, IMAGE_STEM)]
        elif f.file is not None:
            files += 1
            words += [f.option, _file_name(f, f"{f.file.accepted_types[0].split('/')[0]}{files}")]
        elif f.type == "boolean":
            words.append(f.option if value else f"--no-{f.option[2:]}")
        elif f.type == "array" and f.item_type not in ("object", "array"):
            for item in value:
                words += [f.option, str(item)]
        elif f.type in ("object", "array"):
            words += [f.option, json.dumps(value)]
        else:
            words += [f.option, str(value)]
    return [*words, "-o", "clip.mp4"]


def generate_example(model: Model) -> str:
    """The `kling generate` line of `model`'s --help (runnable where its files exist)."""
    from apikley_kling import load_models as models

    return shlex.join(_generate_words(model, models().default))


def batch_line(model: Model) -> str:
    """One job line of `model` for `kling batch`: the model, its fields (the image by `image`), an output."""
    job: dict[str, Any] = {"model": model.id}
    for f, value in example_fields(model):
        if f is model.image_field:
            job["image"] = _file_name(f, IMAGE_STEM)
        elif f.file is not None:
            job[f.name] = _file_name(f, f.file.accepted_types[0].split("/")[0])
        else:
            job[f.name] = value
    job["output"] = model.id.replace("/", "-") + ".mp4"
    return json.dumps(job, ensure_ascii=False)


def block(lines: list[str]) -> str:
    # "\b": click must not re-wrap the lines of an example.
    return "\b\nExample:\n" + "".join(f"  {line}\n" for line in lines)


def _batch() -> list[str]:
    from apikley_kling import load_models as models

    catalog = models()
    text_model = next((m for m in catalog.values() if m.image_field is None), None)
    picks = [catalog[catalog.default], *([text_model] if text_model else [])]
    return [
        "kling batch jobs.jsonl --out out/ --dry-run      # check every line, send nothing",
        "kling batch jobs.jsonl --out out/ --concurrency 4",
        "where jobs.jsonl holds one job per line, each naming its model, e.g.:",
        *(f"  {batch_line(m)}" for m in picks),
    ]


def _models() -> list[str]:
    from apikley_kling import load_models as models

    return ["kling models", f"kling models {models().default}", "kling models --json"]


def _upload() -> list[str]:
    from apikley_kling import load_models as models

    catalog = models()
    image = catalog[catalog.default].image_field
    then = f"kling generate {image.option} URL ..." if image is not None else "kling generate --input ..."
    return ["kling upload cat.png            # prints a URL", f"{then}   # use it in a file field"]


def _simulate() -> list[str]:
    try:
        from apikley_kling.simulator import DEFAULT_API_KEY
    except ImportError:  # the help is still shown without the [simulator] extra
        DEFAULT_API_KEY = "<the key it prints>"
    return [
        "kling simulate --port 8765",
        f"APIKLEY_API_KEY={DEFAULT_API_KEY} kling credits --base-url http://127.0.0.1:8765   # in another terminal",
    ]


_STATIC: dict[str, list[str]] = {
    "status": ["kling status TASK_ID", "kling status TASK_ID --json   # result_urls, state, fail_msg ..."],
    "wait": ["kling wait TASK_ID --timeout 600 && kling download TASK_ID -o out/"],
    "download": [
        "kling download TASK_ID -o out/             # out/TASK_ID.mp4",
        "kling download TASK_ID -o clip.mp4 --overwrite",
    ],
    "credits": ["kling credits", "kling credits --json"],
    "contract-check": [
        "kling contract-check --simulate --strict",
        "APIKLEY_API_KEY=... kling contract-check --base-url https://api.apikley.ru --no-create --task-id TASK --strict",
    ],
    "listen": [
        "APIKLEY_WEBHOOK_KEY=... kling listen --port 8080 --out tasks.jsonl",
        "kling generate ... --callback-url https://your.host/   # a tunnel or proxy to port 8080",
    ],
}


def _ledger() -> list[str]:
    from apikley_kling.ledger import ENV_LEDGER_URL

    return [
        f"export {ENV_LEDGER_URL}=postgresql://kling:PASSWORD@db.internal/kling",
        "kling batch jobs.jsonl --out /data/videos --rate-limit 5   # on each machine",
        "kling ledger jobs.jsonl            # the fleet: done, in flight, ambiguous, failed; where each video is",
        "kling ledger --out /data/videos    # a SQLite ledger",
    ]


_BUILT: dict[str, Callable[[], list[str]]] = {
    "ledger": _ledger,
    "batch": _batch,
    "models": _models,
    "upload": _upload,
    "simulate": _simulate,
}


def example(command: str) -> str | None:
    """The "Example:" block of a subcommand, or None when it has none."""
    if command in _BUILT:
        return block(_BUILT[command]())
    return block(_STATIC[command]) if command in _STATIC else None


class ExampleCommand(TyperCommand):
    """A command whose --help ends with its exit codes, then its example (built when the help is shown)."""

    def format_epilog(self, ctx: Any, formatter: Any) -> None:  # click's Context, HelpFormatter
        found = example(self.name or "")
        if found and found not in (self.epilog or ""):
            self.epilog = f"{self.epilog}\n\n{found}" if self.epilog else found
        super().format_epilog(ctx, formatter)
