"""Check a server against the bundled spec: the real service, a served simulator, or the built-in one.

    APIKLEY_API_KEY=... python -m apikley_kling.contract --base-url https://api.apikley.ru \\
        --no-create --task-id TASK_ID --strict --junit-xml contract.xml
    python -m apikley_kling.contract --simulator          # the built-in simulator, on 127.0.0.1

The key comes from $APIKLEY_API_KEY or --api-key-file (never the command line,
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

Exit codes: 0 kept; 1 a finding; 2 the run could not happen (bad arguments,
unreachable server, a missing extra); 3 nothing broke but something had
nothing to judge (every create failed, e.g. no credits; under --strict, any
check not exercised, e.g. --no-create without --task-id).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from .._config import ENV_KEY
from .._text import for_terminal

INSTALL_COMMAND = 'pip install "apikley-kling[contract]"'
KEY_ENV = ENV_KEY
TASK_IDS_ENV = "APIKLEY_CONTRACT_TASK_IDS"
PROG = "python -m apikley_kling.contract"


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    from ._bounds import DEFAULT_MAX_BYTES
    from ._fuzz import DEFAULT_SEED, PHASES

    ap = argparse.ArgumentParser(
        prog=prog or PROG,
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # else --api-key would pass for --api-key-file (and put a key on argv)
    )
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--base-url", help="the server to check, e.g. https://api.apikley.ru")
    where.add_argument("--simulator", action="store_true", help="start the built-in simulator on 127.0.0.1")
    ap.add_argument("--api-key-file", type=Path, help=f"read the key from this file ('-': stdin); default ${KEY_ENV}")
    ap.add_argument("--no-create", action="store_true", help="send no create the spec says must succeed (paid)")
    ap.add_argument(
        "--task-id",
        action="append",
        default=[],
        metavar="ID",
        help=f"a task to read and check, free (repeatable; default ${TASK_IDS_ENV}, space-separated)",
    )
    ap.add_argument("--strict", action="store_true", help="exit 3 when any check had nothing to judge")
    ap.add_argument("--junit-xml", type=Path, metavar="PATH", help="also write the findings as JUnit XML")
    ap.add_argument("--models", default="", help="comma-separated model ids the own cases cover (default: all)")
    ap.add_argument("--task-deadline", type=float, default=None, metavar="SECONDS", help="follow tasks this long")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--max-examples", type=int, default=8, help="per operation and phase (default 8)")
    ap.add_argument("--stateful-steps", type=int, default=6)
    ap.add_argument("--phases", default=",".join(PHASES), help="schemathesis phases, or 'none'")
    ap.add_argument("--operations", default="", help="comma-separated operationIds to include (default: all)")
    ap.add_argument("--rate-limit", default=None, help='e.g. "1/s" against a real service (also paces own cases)')
    ap.add_argument(
        "--request-timeout",
        type=_positive(float),
        default=10.0,
        metavar="SECONDS",
        help="the most one exchange (connect, headers and body) may take, in all (default 10)",
    )
    ap.add_argument(
        "--max-answer-bytes",
        type=_positive(int),
        default=DEFAULT_MAX_BYTES,
        metavar="N",
        help=f"read at most this much of one answer; a longer one is a finding (default {DEFAULT_MAX_BYTES})",
    )
    return ap


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse type: a finite number above zero (a limit of 0, nan or inf would be no limit)."""

    def parse(text: str) -> float:
        value = kind(text)
        if not (0 < value < float("inf")):
            raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.replace(" ", ",").split(",") if p.strip())


def _api_key(args: argparse.Namespace) -> str | None:
    if args.api_key_file is not None:
        raw = sys.stdin.read() if str(args.api_key_file) == "-" else args.api_key_file.read_text(encoding="utf-8")
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


def _settings(args: argparse.Namespace, base_url: str, key: str, phases: tuple[str, ...]) -> Any:
    from ._fuzz import Settings

    task_ids = tuple(args.task_id) or _split(os.environ.get(TASK_IDS_ENV, ""))
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


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """Run the contract check as the command line asks; the exit code CI gates on (see the module doc)."""
    args = parser(prog).parse_args(argv)
    name = prog or PROG
    phases = () if args.phases.strip() in ("", "none") else _split(args.phases)
    missing = _missing(phases)
    try:
        with contextlib.ExitStack() as stack:
            if missing:
                raise ModuleNotFoundError(", ".join(missing))
            if args.simulator:
                base_url, key = stack.enter_context(_simulator())
            else:
                given = _api_key(args)
                if not given:
                    print(f"{name}: no API key: set ${KEY_ENV} or pass --api-key-file", file=sys.stderr)
                    return 2
                base_url, key = args.base_url, given
            return _run(args, _settings(args, base_url, key, phases), name)
    except ModuleNotFoundError as exc:  # the [contract] extra (which brings the simulator's) is missing
        print(
            f"{name}: needs packages that are not installed ({exc.name or exc}); install with: {INSTALL_COMMAND}",
            file=sys.stderr,
        )
        return 2
    except (OSError, ValueError) as exc:  # a run that could not start is not a contract verdict
        print(for_terminal(f"{name}: {type(exc).__name__}: {exc}"), file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Any, name: str) -> int:
    from .report import text, write_junit
    from .run import check_service

    def progress(line: str) -> None:  # on stderr, so that a long run is seen moving and stdout stays the report
        print(for_terminal(f"{name}: {line}"), file=sys.stderr, flush=True)

    report = check_service(settings, progress=progress)
    print(text(report))
    if args.junit_xml is not None:
        write_junit(report, args.junit_xml)
    return report.exit_code
