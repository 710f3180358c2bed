"""The contract check as a Typer command: `check` (`kling contract-check`), `app` (`python -m apikley_kling.contract`).

Its options have the names every `kling` command gives the same things: --base-url, --simulate,
--key-file, --rate-limit N (requests per second). The old spellings (--api-key-file, --simulator,
--rate-limit 1/s) still work for one minor version, hidden from --help, with a note on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import exit_codes
from ._bounds import DEFAULT_MAX_BYTES
from ._cli import KEY_ENV, TASK_IDS_ENV, Args, rate_limit_text, run

CODES = (exit_codes.OK, exit_codes.FAILED, exit_codes.USAGE, exit_codes.NOT_EXERCISED)
#: The "Exit codes:" block of the command's --help ("\b": click must not re-wrap it).
EPILOG = "\b\nExit codes:\n" + "".join(f"  {code:<4} {exit_codes.MEANINGS[code]}\n" for code in CODES)

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_Float = Annotated[float, typer.Option(metavar="SECONDS")]


def _deprecated(old: str, new: str) -> None:
    typer.echo(f"warning: {old} is deprecated and goes in the next minor version; use {new}", err=True)


def _where(base_url: str | None, simulate: bool, simulator: bool) -> bool:
    """--simulate (or the old --simulator), exclusive with --base-url; one of them is needed."""
    if simulator:
        _deprecated("--simulator", "--simulate")
    simulate = simulate or simulator
    if simulate == bool(base_url):
        raise typer.BadParameter("give exactly one of --base-url URL and --simulate", param_hint="--base-url")
    return simulate


def _key_file(key_file: Path | None, api_key_file: Path | None) -> Path | None:
    if api_key_file is not None:
        _deprecated("--api-key-file", "--key-file")
    return key_file or api_key_file


def _positive(value: float, what: str) -> float:
    if not (0 < value < float("inf")):  # a limit of 0, nan or inf would be no limit
        raise typer.BadParameter(f"expected a number above 0, got {value!r}", param_hint=what)
    return value


@app.command("contract-check", epilog=EPILOG)
def check(
    ctx: typer.Context,
    base_url: Annotated[
        str | None, typer.Option("--base-url", metavar="URL", help="The server to check, e.g. https://api.apikley.ru.")
    ] = None,
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Check the built-in simulator, started on 127.0.0.1 (no key).")
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file", metavar="PATH", help=f"Read the API key from this file ('-': stdin); default ${KEY_ENV}."
        ),
    ] = None,
    no_create: Annotated[
        bool, typer.Option("--no-create", help="Send no create the spec says must succeed (paid).")
    ] = False,
    task_id: Annotated[
        list[str] | None,
        typer.Option(
            "--task-id", metavar="ID", help=f"A task to read and check, free (repeatable; default ${TASK_IDS_ENV})."
        ),
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 9 when any check had nothing to judge.")] = False,
    junit_xml: Annotated[
        Path | None, typer.Option("--junit-xml", metavar="PATH", help="Also write the findings as JUnit XML.")
    ] = None,
    models: Annotated[
        str, typer.Option("--models", help="Comma-separated model ids the own cases cover (default: all).")
    ] = "",
    task_deadline: Annotated[
        float | None, typer.Option("--task-deadline", metavar="SECONDS", help="Follow created tasks this long.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="The seed of the generated cases.")] = None,
    max_examples: Annotated[int, typer.Option("--max-examples", help="Per operation and phase.")] = 8,
    stateful_steps: Annotated[int, typer.Option("--stateful-steps", help="Steps of the stateful phase.")] = 6,
    phases: Annotated[
        str | None, typer.Option("--phases", help="Schemathesis phases, or 'none' (default: all).")
    ] = None,
    operations: Annotated[
        str, typer.Option("--operations", help="Comma-separated operationIds to include (default: all).")
    ] = "",
    rate_limit: Annotated[
        str | None,
        typer.Option("--rate-limit", metavar="N", help="Requests per second (also paces the own cases)."),
    ] = None,
    request_timeout: Annotated[
        float,
        typer.Option(
            "--request-timeout",
            metavar="SECONDS",
            help="The most one exchange (connect, headers, body) may take, in all.",
        ),
    ] = 10.0,
    max_answer_bytes: Annotated[
        int,
        typer.Option(
            "--max-answer-bytes", metavar="N", help="Read at most this much of one answer; more is a finding."
        ),
    ] = DEFAULT_MAX_BYTES,
    api_key_file: Annotated[Path | None, typer.Option("--api-key-file", hidden=True)] = None,
    simulator: Annotated[bool, typer.Option("--simulator", hidden=True)] = False,
) -> None:
    """Check a server (the real service, or --simulate) against the bundled spec; needs the [contract] extra.

    Every answer is checked against the spec; each finding names the operation, the field, what was
    expected and what was seen. The key comes from $APIKLEY_API_KEY or --key-file, never the command line.
    """
    from ._fuzz import DEFAULT_SEED, PHASES

    name = ctx.command_path
    args = Args(
        base_url=base_url,
        simulate=_where(base_url, simulate, simulator),
        key_file=_key_file(key_file, api_key_file),
        no_create=no_create,
        task_id=tuple(task_id or ()),
        strict=strict,
        junit_xml=junit_xml,
        models=models,
        task_deadline=task_deadline,
        seed=DEFAULT_SEED if seed is None else seed,
        max_examples=max_examples,
        stateful_steps=stateful_steps,
        phases=",".join(PHASES) if phases is None else phases,
        operations=operations,
        rate_limit=rate_limit_text(rate_limit, name),
        request_timeout=_positive(request_timeout, "--request-timeout"),
        max_answer_bytes=int(_positive(max_answer_bytes, "--max-answer-bytes")),
    )
    raise typer.Exit(run(args, name))
