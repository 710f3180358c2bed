"""Check a server against the bundled spec: the real service, a served simulator, or the built-in one.

    APIKLEY_API_KEY=... python -m apikley_kling.contract --base-url https://api.apikley.ru \\
        --no-create --task-id TASK_ID --strict --junit-xml contract.xml
    python -m apikley_kling.contract --simulate           # the built-in simulator, on 127.0.0.1

The key comes from $APIKLEY_API_KEY or --key-file (never the command line,
where other users of the machine can read it).

Each run sends every model's example input, the value at each limit and one
step past it (at the field's step), each required field left out; runs
schemathesis (examples, coverage, fuzzing, stateful); reads the tasks given
with --task-id; and follows one created task per model to its end. Every
answer is checked against the spec, each finding names the operation, the
field and what was expected and seen.

Every exchange is bounded: --request-timeout seconds in all (not only between
bytes) and --max-answer-bytes of body; an answer past either is a finding. A
429 is waited out at most 60 s at a time (whatever its Retry-After says) and
300 s in all. A server that cannot be reached (DNS, refused, TLS) ends the
run at once with exit 2, naming the host and the cause. Progress goes to
stderr, the report to stdout; everything the server sent is escaped.

--no-create sends no create that the spec says must succeed (those cost
credits): only bodies the spec refuses, which a service that keeps its
contract refuses for free (one that accepts them has broken it, and the
report names the task it created). Give it --task-id of a finished task so
that the answers of finished tasks are still checked.

Exit codes (`apikley_kling.exit_codes`): 0 kept; 1 a finding; 2 the run could not
happen (bad arguments, unreachable server, a missing extra); 9 nothing broke but
something had nothing to judge (every create failed, e.g. no credits; under
--strict, any check not exercised, e.g. --no-create without --task-id).

The command is Typer, like every `kling` command: `check` is `kling contract-check`,
`app` runs it as `python -m apikley_kling.contract`. Old spellings (--api-key-file,
--simulator, --rate-limit 1/s) still work for one minor version, with a note on stderr.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import typer

from .. import ENV_KEY, exit_codes, for_terminal

INSTALL_COMMAND = 'pip install "apikley-kling[contract]"'
KEY_ENV = ENV_KEY
TASK_IDS_ENV = "APIKLEY_CONTRACT_TASK_IDS"
PROG = "python -m apikley_kling.contract"


def _say(name: str, line: str) -> None:
    print(for_terminal(f"{name}: {line}"), file=sys.stderr, flush=True)


def _positive(value: float | None, what: str) -> None:
    # A limit of 0, nan or inf would be no limit.
    if value is not None and not (0 < value < float("inf")):
        raise typer.BadParameter(f"expected a number above 0, got {value!r}", param_hint=what)


def rate_limit_text(given: str | None, name: str) -> str | None:
    """--rate-limit N (requests per second, as every command takes it) as the checker's "N/s"; the old "N/s",
    "N/m", "N/h" spelling still works, with a deprecation note."""
    if given is None or not given.strip():
        return None
    try:
        rate = float(given)
    except ValueError:
        if re.fullmatch(r"\s*\d+(?:\.\d+)?\s*/\s*[smh]\s*", given) is None:
            why = f"expected requests per second, e.g. 5, not {given!r}"
            raise typer.BadParameter(why, param_hint="--rate-limit") from None
        _say(name, f"warning: --rate-limit {given} is deprecated; give requests per second, e.g. --rate-limit 1")
        return given.strip()
    _positive(rate, "--rate-limit")
    return f"{rate:g}/s"


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.replace(" ", ",").split(",") if p.strip())


def _api_key(key_file: Path | None) -> str | None:
    if key_file is not None:
        raw = sys.stdin.read() if str(key_file) == "-" else key_file.read_text(encoding="utf-8")
        return raw.strip() or None
    return os.environ.get(KEY_ENV) or None


def _missing(phases: tuple[str, ...]) -> list[str]:
    return [name for name in (["schemathesis"] if phases else []) if find_spec(name) is None]


@contextlib.contextmanager
def _simulator() -> Iterator[tuple[str, str]]:
    from ..clock import VirtualClock
    from ..simulator import DEFAULT_API_KEY, Money, Simulator, Timings

    # Tasks finish the moment they are created (a frozen clock, no phases), one in four as a failure,
    # so that both kinds of finished answer are checked within the run.
    sim = Simulator(
        clock=VirtualClock(),
        external_images="placeholder",
        seed=7,
        money=Money(credits=1e12),
        timings=Timings.instant(fail_probability=0.25),
    )
    with sim.serve(port=0) as url:
        yield url, DEFAULT_API_KEY


@dataclass(frozen=True)
class Args:
    """The options of one run, as the command line gave them (old spellings already folded in)."""

    base_url: str | None
    simulate: bool
    key_file: Path | None
    no_create: bool
    task_id: tuple[str, ...]
    strict: bool
    junit_xml: Path | None
    models: str
    task_deadline: float | None
    seed: int
    max_examples: int
    stateful_steps: int
    phases: str
    operations: str
    rate_limit: str | None
    request_timeout: float
    max_answer_bytes: int


def _settings(args: Args, base_url: str, key: str, phases: tuple[str, ...]) -> Any:
    from ._fuzz import Settings

    task_ids = args.task_id or _split(os.environ.get(TASK_IDS_ENV, ""))
    return Settings(
        base_url=base_url,
        api_key=key,
        seed=args.seed,
        max_examples=args.max_examples,
        stateful_steps=args.stateful_steps,
        phases=phases,
        operations=_split(args.operations),
        request_timeout=args.request_timeout,
        rate_limit=args.rate_limit,
        create=not args.no_create,
        task_ids=tuple(t for t in task_ids if t),
        models=_split(args.models),
        task_deadline=args.task_deadline,
        strict=args.strict,
        max_answer_bytes=args.max_answer_bytes,
    )


def run(args: Args, name: str) -> int:
    """Run the contract check with these options; the exit code CI gates on (see the module doc)."""
    phases = () if args.phases.strip() in ("", "none") else _split(args.phases)
    missing = _missing(phases)
    try:
        with contextlib.ExitStack() as stack:
            if missing:
                raise ModuleNotFoundError(", ".join(missing))
            if args.simulate:
                base_url, key = stack.enter_context(_simulator())
            else:
                given = _api_key(args.key_file)
                if not given or not args.base_url:
                    print(f"{name}: no API key: set ${KEY_ENV} or pass --key-file", file=sys.stderr)
                    return exit_codes.USAGE
                base_url, key = args.base_url, given
            return _run(args, _settings(args, base_url, key, phases), name)
    except ModuleNotFoundError as exc:  # the [contract] extra (which brings the simulator's) is missing
        print(
            f"{name}: needs packages that are not installed ({exc.name or exc}); install with: {INSTALL_COMMAND}",
            file=sys.stderr,
        )
        return exit_codes.USAGE
    except (OSError, ValueError) as exc:  # a run that could not start is not a contract verdict
        print(for_terminal(f"{name}: {type(exc).__name__}: {exc}"), file=sys.stderr)
        return exit_codes.USAGE


def _run(args: Args, settings: Any, name: str) -> int:
    from ._report import text, write_junit
    from ._run import check_service

    def progress(line: str) -> None:  # on stderr, so that a long run is seen moving and stdout stays the report
        print(for_terminal(f"{name}: {line}"), file=sys.stderr, flush=True)

    report = check_service(settings, progress=progress)
    print(text(report))
    if args.junit_xml is not None:
        write_junit(report, args.junit_xml)
    return int(report.exit_code)


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """Run the contract check as the command line asks (the Typer command `check`); its exit code."""
    from ._command import app

    try:
        app(args=list(sys.argv[1:] if argv is None else argv), prog_name=prog or PROG, standalone_mode=True)
    except SystemExit as exc:  # --help, usage errors and the verdict all end here
        return exc.code if isinstance(exc.code, int) else exit_codes.USAGE
    return exit_codes.OK
