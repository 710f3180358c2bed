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


BaseUrlOpt = Annotated[
    str | None, typer.Option("--base-url", metavar="URL", help="The server to check, e.g. https://api.apikley.ru.")
]
SimulateOpt = Annotated[
    bool, typer.Option("--simulate", help="Check the built-in simulator, started on 127.0.0.1 (no key).")
]
KeyFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--key-file", metavar="PATH", help=f"Read the API key from this file ('-': stdin); default ${KEY_ENV}."
    ),
]
NoCreateOpt = Annotated[bool, typer.Option("--no-create", help="Send no create the spec says must succeed (paid).")]
TaskIdOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--task-id", metavar="ID", help=f"A task to read and check, free (repeatable; default ${TASK_IDS_ENV})."
    ),
]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Exit 9 when any check had nothing to judge.")]
JunitXmlOpt = Annotated[
    Path | None, typer.Option("--junit-xml", metavar="PATH", help="Also write the findings as JUnit XML.")
]
ModelsOpt = Annotated[
    str, typer.Option("--models", help="Comma-separated model ids the own cases cover (default: all).")
]
TaskDeadlineOpt = Annotated[
    float | None, typer.Option("--task-deadline", metavar="SECONDS", help="Follow created tasks this long.")
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="The seed of the generated cases.")]
MaxExamplesOpt = Annotated[int, typer.Option("--max-examples", help="Per operation and phase.")]
StatefulStepsOpt = Annotated[int, typer.Option("--stateful-steps", help="Steps of the stateful phase.")]
PhasesOpt = Annotated[str | None, typer.Option("--phases", help="Schemathesis phases, or 'none' (default: all).")]
OperationsOpt = Annotated[
    str, typer.Option("--operations", help="Comma-separated operationIds to include (default: all).")
]
RateLimitOpt = Annotated[
    str | None,
    typer.Option("--rate-limit", metavar="N", help="Requests per second (also paces the own cases)."),
]
RequestTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--request-timeout",
        metavar="SECONDS",
        help="The most one exchange (connect, headers, body) may take, in all.",
    ),
]
MaxAnswerBytesOpt = Annotated[
    int,
    typer.Option("--max-answer-bytes", metavar="N", help="Read at most this much of one answer; more is a finding."),
]
ApiKeyFileOpt = Annotated[Path | None, typer.Option("--api-key-file", hidden=True)]
SimulatorOpt = Annotated[bool, typer.Option("--simulator", hidden=True)]


@app.command("contract-check", epilog=EPILOG)
def check(
    ctx: typer.Context,
    base_url: BaseUrlOpt = None,
    simulate: SimulateOpt = False,
    key_file: KeyFileOpt = None,
    no_create: NoCreateOpt = False,
    task_id: TaskIdOpt = None,
    strict: StrictOpt = False,
    junit_xml: JunitXmlOpt = None,
    models: ModelsOpt = "",
    task_deadline: TaskDeadlineOpt = None,
    seed: SeedOpt = None,
    max_examples: MaxExamplesOpt = 8,
    stateful_steps: StatefulStepsOpt = 6,
    phases: PhasesOpt = None,
    operations: OperationsOpt = "",
    rate_limit: RateLimitOpt = None,
    request_timeout: RequestTimeoutOpt = 10.0,
    max_answer_bytes: MaxAnswerBytesOpt = DEFAULT_MAX_BYTES,
    api_key_file: ApiKeyFileOpt = None,
    simulator: SimulatorOpt = False,
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
