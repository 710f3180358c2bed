"""The `kling` command: turn a still image into a video with Kling v2.1 Standard on Apikley.

Exit codes (stable; scripts may rely on them):

    ====  ==========================================================================
    code  meaning
    ====  ==========================================================================
    0     success
    1     the task failed (generation failed, state "fail")
    2     usage or bad input (bad option, missing/oversized image, prompt too long,
          bad duration, bad job file, unknown task id); nothing was sent for a
          local input error
    3     authentication or configuration (no API key, key refused: 401)
    4     insufficient credits (402)
    5     timeout: the task is still running server-side (`kling wait TASK` goes on)
    6     ambiguous submit: a create was sent and its answer lost; a paid task may
          exist. Never resent silently (see `kling batch --resubmit-ambiguous`)
    7     any other API or transport error (429/455/5xx after retries, network,
          malformed answers, feature disabled)
    130   interrupted (Ctrl-C)
    ====  ==========================================================================

Errors are one line on stderr; `--debug` adds the traceback. The API key is
never printed, not even with `--debug`.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from .client import Kling
    from .models import Task

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_CREDITS = 4
EXIT_TIMEOUT = 5
EXIT_AMBIGUOUS = 6
EXIT_API = 7
EXIT_INTERRUPTED = 130

ENV_KEY = "APIKLEY_API_KEY"
ENV_BASE_URL = "APIKLEY_BASE_URL"

# "\b" keeps click from re-wrapping the table.
EPILOG = (
    "\b\nExit codes:\n"
    "  0    ok\n"
    "  1    task failed (generation failed)\n"
    "  2    usage or bad input (nothing sent for a local input error)\n"
    "  3    auth/config (no key, key refused: 401)\n"
    "  4    insufficient credits (402)\n"
    "  5    timeout (the task is still running; `kling wait TASK`)\n"
    "  6    ambiguous submit (the create may have been paid; not resent)\n"
    "  7    other API/transport error\n"
    "  130  interrupted\n\n"
    f"Set {ENV_KEY} to your key, or add --simulate to try the built-in simulator without one."
)

app = typer.Typer(
    name="kling",
    help="Turn still images into videos with Kling v2.1 Standard on Apikley.",
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_debug = False
_secrets: set[str] = set()

#: Tests point the CLI at an in-process simulator here (transport=, clock=, base_url=).
#: Never read from the environment: a user cannot reach it by accident.
_overrides: dict[str, Any] = {}

# The simulator for --simulate: a demo of several seconds in which the SDK's real polling
# schedule (a query every 2.5-3 s at first) sees each phase: waiting, queuing, generating.
SIM_TIMINGS: dict[str, float] = {"waiting_time": 1.0, "queuing_time": 2.5, "generation_time": 4.0}


class CliError(Exception):
    """An error the CLI explains itself: one line, one exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# -- output helpers ----------------------------------------------------------


def _redact(text: str) -> str:
    for s in _secrets:
        if s:
            text = text.replace(s, "***")
    return text


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _print_json(obj: Any) -> None:
    sys.stdout.write(_redact(json.dumps(obj, default=str, sort_keys=False)) + "\n")
    sys.stdout.flush()


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code for an SDK error."""
    from . import errors as E

    if isinstance(exc, CliError):
        return exc.code
    if isinstance(exc, E.AmbiguousSubmit):
        return EXIT_AMBIGUOUS
    if isinstance(exc, E.TaskTimeout):
        return EXIT_TIMEOUT
    if isinstance(exc, E.AuthenticationError | E.ConfigurationError):
        return EXIT_AUTH
    if isinstance(exc, E.InsufficientCreditsError):
        return EXIT_CREDITS
    if isinstance(exc, E.GenerationFailed):
        return EXIT_FAILED
    if isinstance(exc, E.ValidationError | E.BadRequestError | E.NotFoundError):
        return EXIT_USAGE
    return EXIT_API


def _hint(exc: BaseException) -> str:
    from . import errors as E

    if isinstance(exc, E.TaskTimeout) and exc.task_id:
        return f" (it keeps running: `kling wait {exc.task_id}` goes on waiting)"
    if isinstance(exc, E.AmbiguousSubmit):
        return " (do not simply retry: a paid task may exist; check your callbacks or credits first)"
    if isinstance(exc, E.AuthenticationError):
        return f" (check {ENV_KEY})"
    if isinstance(exc, E.NotFoundError):
        return " (unknown task id?)"
    return ""


def _fail(exc: BaseException, *, as_json: bool = False) -> NoReturn:
    code = exit_code_for(exc)
    line = str(exc) if isinstance(exc, CliError) else f"{type(exc).__name__}: {' '.join(str(exc).split())}{_hint(exc)}"
    if _debug:
        sys.stderr.write(_redact("".join(traceback.format_exception(exc))))
    sys.stderr.write(_redact(f"kling: error: {line}") + "\n")
    if as_json:
        task_id = getattr(exc, "task_id", None)
        _print_json(
            {"ok": False, "error": {"type": type(exc).__name__, "message": line, "task_id": task_id}, "exit_code": code}
        )
    raise typer.Exit(code)


F = TypeVar("F", bound=Callable[..., Any])


def _guard(fn: F) -> F:
    """Turn every error into one line and its exit code (tracebacks only with --debug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        from .errors import KlingError

        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            sys.stderr.write("kling: interrupted\n")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (CliError, KlingError) as exc:
            _fail(exc, as_json=as_json)
        except Exception as exc:
            if getattr(exc, "install_command", None):  # an extra is missing (SimulatorNotInstalled): usage
                _fail(CliError(str(exc), EXIT_USAGE), as_json=as_json)
            # A bug of ours: still one line (and the exit code of "other error"), with the
            # traceback behind --debug, because a stack dump is not a message.
            if _debug:
                sys.stderr.write(_redact("".join(traceback.format_exception(exc))))
            sys.stderr.write(
                _redact(f"kling: error: {type(exc).__name__}: {exc} (run with --debug for details)") + "\n"
            )
            raise typer.Exit(EXIT_API) from None

    return wrapper  # type: ignore[return-value]


# -- clients -----------------------------------------------------------------


def _is_loopback_url(url: str) -> bool:
    import ipaddress
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _api_key(simulate: bool) -> str:
    if simulate:
        from .simulator import DEFAULT_API_KEY

        return DEFAULT_API_KEY
    key = os.environ.get(ENV_KEY, "").strip()
    if not key:
        raise CliError(
            f"no API key: set {ENV_KEY} (export {ENV_KEY}=sk-...), or add --simulate to try the built-in simulator",
            EXIT_AUTH,
        )
    _secrets.add(key)
    return key


@contextmanager
def _client(*, simulate: bool = False, timeout: float | None = None) -> Iterator[Kling]:
    """A Kling client for the real service, a URL from APIKLEY_BASE_URL, or an in-process simulator."""
    from .client import Kling

    key = _api_key(simulate)
    kwargs: dict[str, Any] = {}
    sim = None
    if simulate and "transport" not in _overrides:
        from .clock import SystemClock
        from .simulator import Simulator

        sim = Simulator(
            clock=SystemClock(),
            api_keys=(key,),
            waiting_time=SIM_TIMINGS["waiting_time"],
            queuing_time=SIM_TIMINGS["queuing_time"],
            generation_time=SIM_TIMINGS["generation_time"],
        )
        kwargs.update(base_url=sim.base_url, transport=sim.sync_transport(), allow_insecure_http=True)
    else:
        base = os.environ.get(ENV_BASE_URL, "").strip()
        if base:
            kwargs["base_url"] = base
            # Plain http only to this machine (a served simulator); a key never crosses a network in clear.
            kwargs["allow_insecure_http"] = _is_loopback_url(base)
    kwargs.update(_overrides)
    client = Kling(api_key=key, **kwargs)
    try:
        yield client
    finally:
        client.close()
        if sim is not None:
            sim.close()


# -- input checks (before anything is sent) ---------------------------------


def _check_create_inputs(
    *, image: str, prompt: str, duration: str, negative_prompt: str | None, cfg_scale: float | None
) -> None:
    from ._jobs import check_create_fields, check_image_file, is_url

    problems = check_create_fields(
        prompt=prompt, duration=duration, negative_prompt=negative_prompt, cfg_scale=cfg_scale
    )
    if not is_url(image):
        why = check_image_file(Path(image).expanduser())
        if why:
            problems.insert(0, why)
    if problems:
        raise CliError("; ".join(problems), EXIT_USAGE)


def _task_json(task: Task) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "state": task.state.value,
        "result_urls": list(task.result_urls),
        "video_url": task.video_url,
        "fail_code": task.fail_code,
        "fail_msg": task.fail_msg,
        "created_at": task.created_at.isoformat() if task.created_at else None,
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
        "cost_time": task.cost_time,
    }


def _print_task(task: Task) -> None:
    from rich.table import Table

    from ._cli_view import styled

    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    t.add_row("task", task.id)
    t.add_row("state", styled(task.state.value))
    if task.created_at:
        t.add_row("created", task.created_at.isoformat(timespec="seconds"))
    if task.completed_at:
        t.add_row("completed", task.completed_at.isoformat(timespec="seconds"))
    if task.cost_time is not None:
        t.add_row("generation", f"{task.cost_time:.1f}s")
    for url in task.result_urls:
        t.add_row("video", url)
    if task.fail_code or task.fail_msg:
        t.add_row("failure", " ".join(x for x in (task.fail_code, task.fail_msg) if x))
    _stdout().print(t)


def _default_output(task_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in task_id)
    return Path(f"kling-{safe}.mp4")


# -- commands ----------------------------------------------------------------

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of a live view.")]
SimOpt = Annotated[bool, typer.Option("--simulate", help="Run against the built-in simulator (no key, no credits).")]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=1, help="Seconds to wait for the task before giving up (exit 5).")
]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (the API key stays hidden).")] = False,
) -> None:
    global _debug
    _debug = _debug or debug


@app.command()
@_guard
def generate(
    image: Annotated[str, typer.Option("--image", "-i", help="Local image (jpeg/png/webp) or an http(s) URL.")],
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="What should happen in the video.")],
    duration: Annotated[str, typer.Option("--duration", "-d", help="Video length in seconds: 5 or 10.")] = "",
    negative_prompt: Annotated[str | None, typer.Option("--negative-prompt", help="What to avoid.")] = None,
    cfg_scale: Annotated[float | None, typer.Option("--cfg-scale", help="Prompt adherence, 0..1.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to save the MP4.")] = None,
    simulate: SimOpt = False,
    as_json: JsonOpt = False,
    timeout: TimeoutOpt = 900.0,
    callback_url: Annotated[
        str | None, typer.Option("--callback-url", help="URL the service POSTs to at the end.")
    ] = None,
) -> None:
    """Upload an image, create the task, wait for it and download the video."""
    from ._cli_view import GenerateView
    from ._spec import create_limits
    from .events import DownloadProgress, TaskUpdate, UploadProgress

    duration = duration or create_limits().default_duration
    _check_create_inputs(
        image=image, prompt=prompt, duration=duration, negative_prompt=negative_prompt, cfg_scale=cfg_scale
    )
    if callback_url is not None and not callback_url.startswith(("http://", "https://")):
        raise CliError("--callback-url must be an http(s) URL", EXIT_USAGE)
    if output is not None and output.exists() and output.is_dir():
        raise CliError(f"--output {output} is a folder; give a file name", EXIT_USAGE)

    timings: dict[str, float] = {}
    t0 = time.monotonic()
    console = _stderr()
    with _client(simulate=simulate) as kling:
        shown_out = str(output) if output else "kling-<task>.mp4"
        view = GenerateView(console, image=image, output=shown_out, deadline=timeout)
        view.live = view.live and not as_json
        quiet = as_json

        def on_progress(ev: Any) -> None:
            if quiet:
                return
            if isinstance(ev, UploadProgress):
                view.upload(ev)
            elif isinstance(ev, TaskUpdate):
                view.task(ev)
            elif isinstance(ev, DownloadProgress):
                view.download(ev)

        with view if not quiet else _nullview():
            image_url = image
            if not image.startswith(("http://", "https://")):
                image_url = kling.files.upload(Path(image).expanduser(), on_progress=on_progress)
                if not quiet:
                    view.uploaded(image_url)
            timings["upload_s"] = round(time.monotonic() - t0, 3)
            options: dict[str, Any] = {"prompt": prompt, "duration": int(duration)}
            if negative_prompt is not None:
                options["negative_prompt"] = negative_prompt
            if cfg_scale is not None:
                options["cfg_scale"] = cfg_scale
            if callback_url is not None:
                options["callback_url"] = callback_url
            created = kling.tasks.create(image_url=image_url, **options)
            if not quiet:
                view.created(created.id)
            t1 = time.monotonic()
            task = kling.tasks.wait(created.id, timeout=timeout, on_update=on_progress)
            timings["wait_s"] = round(time.monotonic() - t1, 3)
            dest = output or _default_output(task.id)
            dest.parent.mkdir(parents=True, exist_ok=True)
            t2 = time.monotonic()
            path = kling.download(task, dest, on_progress=on_progress)
            timings["download_s"] = round(time.monotonic() - t2, 3)
    timings["total_s"] = round(time.monotonic() - t0, 3)
    path = Path(path).resolve()
    if as_json:
        _print_json(
            {
                "ok": True,
                **_task_json(task),
                "image_url": image_url,
                "file": str(path),
                "bytes": path.stat().st_size,
                "timings": timings,
                "simulated": simulate,
            }
        )
    else:
        size = path.stat().st_size
        _stdout().print(f"[green]✓[/] saved {path} ({size / 1e6:.1f} MB, task {task.id}, {timings['total_s']:.1f}s)")


@contextmanager
def _nullview() -> Iterator[None]:
    yield None


@app.command()
@_guard
def status(
    task_id: Annotated[str, typer.Argument(help="The task id that create returned.")],
    simulate: SimOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Show a task's state (one query)."""
    with _client(simulate=simulate) as kling:
        task = kling.tasks.get(task_id)
    if as_json:
        _print_json({"ok": True, **_task_json(task)})
    else:
        _print_task(task)


@app.command()
@_guard
def wait(
    task_id: Annotated[str, typer.Argument(help="The task id that create returned.")],
    timeout: TimeoutOpt = 900.0,
    simulate: SimOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Wait until a task succeeds (exit 0), fails (exit 1) or the timeout passes (exit 5)."""
    from ._cli_view import GenerateView

    with _client(simulate=simulate) as kling:
        if as_json:
            task = kling.tasks.wait(task_id, timeout=timeout)
        else:
            view = GenerateView(_stderr(), image=task_id, output="", deadline=timeout)
            with view:
                view.created(task_id, announce=False)
                task = kling.tasks.wait(task_id, timeout=timeout, on_update=view.task)
    if as_json:
        _print_json({"ok": True, **_task_json(task)})
    else:
        _print_task(task)


@app.command()
@_guard
def download(
    task_id: Annotated[str, typer.Argument(help="A task that has succeeded.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to save the MP4.")] = None,
    simulate: SimOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Download a finished task's video (fresh URLs are asked for; nothing is paid)."""
    from .models import TaskState

    if output is not None and output.is_dir():
        raise CliError(f"--output {output} is a folder; give a file name", EXIT_USAGE)
    with _client(simulate=simulate) as kling:
        task = kling.tasks.get(task_id)
        if task.state is TaskState.FAIL:
            raise CliError(
                f"task {task_id} failed: {task.fail_msg or task.fail_code or 'no reason given'}", EXIT_FAILED
            )
        if task.state is not TaskState.SUCCESS:
            raise CliError(f"task {task_id} is still {task.state.value}; `kling wait {task_id}` first", EXIT_TIMEOUT)
        dest = output or _default_output(task.id)
        dest.parent.mkdir(parents=True, exist_ok=True)
        path = Path(kling.download(task, dest)).resolve()
    if as_json:
        _print_json({"ok": True, **_task_json(task), "file": str(path), "bytes": path.stat().st_size})
    else:
        _stdout().print(f"[green]✓[/] saved {path}")


@app.command()
@_guard
def credits(simulate: SimOpt = False, as_json: JsonOpt = False) -> None:
    """Show the account's remaining credits."""
    with _client(simulate=simulate) as kling:
        left = kling.credits()
    if as_json:
        _print_json({"ok": True, "credits": left})
    else:
        _stdout().print(f"{left:g} credits")


@app.command()
@_guard
def upload(
    path: Annotated[Path, typer.Argument(help="A local jpeg/png/webp image.")],
    simulate: SimOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Upload an image and print the URL to use as image_url (files expire after 3 days)."""
    from ._jobs import check_image_file

    why = check_image_file(path.expanduser())
    if why:
        raise CliError(why, EXIT_USAGE)
    with _client(simulate=simulate) as kling:
        url = kling.files.upload(path.expanduser())
    if as_json:
        _print_json({"ok": True, "url": url, "path": str(path)})
    else:
        sys.stdout.write(url + "\n")


@app.command()
@_guard
def simulate(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 picks a free port.")] = 8000,
    host: Annotated[
        str, typer.Option("--host", help="Interface to bind; loopback unless you name another on purpose.")
    ] = "127.0.0.1",
    webhook_key: Annotated[str | None, typer.Option("--webhook-key", help="Sign callbacks with this HMAC key.")] = None,
    generation_time: Annotated[float, typer.Option("--generation-time", min=0, help="Seconds per generation.")] = 20.0,
    external_images: Annotated[
        str,
        typer.Option(
            "--external-images",
            help="image_url on another host: 'reject' (422, as an unreachable image) or 'placeholder' "
            "(accept; a test card stands in). Use placeholder for contract checks with arbitrary URLs.",
        ),
    ] = "reject",
) -> None:
    """Serve the simulator over HTTP and print its URL and key."""
    from .simulator import DEFAULT_API_KEY, Simulator, serve_forever

    if webhook_key:
        _secrets.add(webhook_key)
    try:
        sim = Simulator(
            api_keys=(DEFAULT_API_KEY,),
            webhook_key=webhook_key,
            generation_time=generation_time,
            external_images=external_images,
        )
    except ValueError as exc:  # the simulator knows its modes; the option name is ours to add
        raise CliError(f"--external-images: {exc}", EXIT_USAGE) from None
    # An explicit --host is consent to leave loopback; the default never does.
    # By name: typer may carry its own copy of click, whose enum is not click's.
    source = ctx.get_parameter_source("host")
    explicit_host = getattr(source, "name", None) == "COMMANDLINE"
    try:
        serve_forever(
            host=host, port=port, simulator=sim, allow_any_host=explicit_host, print_fn=lambda s: print(s, flush=True)
        )
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_USAGE) from None
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


@app.command()
@_guard
def listen(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0 picks a free port.")],
    key: Annotated[
        str, typer.Option("--key", envvar="APIKLEY_WEBHOOK_KEY", help="Webhook HMAC key (or APIKLEY_WEBHOOK_KEY).")
    ],
    out: Annotated[Path | None, typer.Option("--out", help="Append verified tasks here as JSON lines.")] = None,
    tolerance: Annotated[float, typer.Option("--tolerance", min=1, help="Accepted clock skew, seconds.")] = 300.0,
) -> None:
    """Receive callbacks on 127.0.0.1, verify their signatures, print each verified task as a JSON line."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Lock

    from .callbacks import ReplayGuard, verify_callback
    from .errors import InvalidCallback, KlingError

    _secrets.add(key)
    guard = ReplayGuard()
    write_lock = Lock()
    err = sys.stderr

    def emit(task: Task) -> None:
        line = json.dumps({**_task_json(task), "received_at": time.time()})
        with write_lock:
            if out is not None:
                with out.open("a", encoding="utf-8") as f:
                    f.write(line + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                print(f"verified callback for task {task.id} ({task.state.value})", file=err, flush=True)
            else:
                print(line, flush=True)

    class Handler(BaseHTTPRequestHandler):
        server_version = "kling-listen"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per callback is written below; the default access log is noise

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > 1_000_000:
                self._answer(413, {"ok": False, "error": "body too large"})
                return
            body = self.rfile.read(length)
            try:
                task = verify_callback(dict(self.headers.items()), body, key, tolerance=tolerance, replay_guard=guard)
            except (InvalidCallback, KlingError) as exc:
                print(_redact(f"rejected callback from {self.client_address[0]}: {exc}"), file=err, flush=True)
                self._answer(401, {"ok": False, "error": type(exc).__name__})
                return
            emit(task)
            self._answer(200, {"ok": True})

        def do_GET(self) -> None:
            self._answer(405, {"ok": False, "error": "POST callbacks here"})

    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", EXIT_USAGE) from None
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"listening for callbacks on {url}" + (f", appending to {out}" if out else ""), file=err, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@app.command()
@_guard
def batch(
    jobs_file: Annotated[
        Path, typer.Argument(help="JSON lines: prompt, image, duration, negative_prompt, cfg_scale, output.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for videos and the ledger (ledger.sqlite3).")],
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=64, help="Tasks in flight at once.")
    ] = 4,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and show what would happen.")] = False,
    resubmit_ambiguous: Annotated[
        bool, typer.Option("--resubmit-ambiguous", help="Send again jobs whose create answer was lost (may pay twice).")
    ] = False,
    timeout: TimeoutOpt = 900.0,
    poll_interval: Annotated[
        float | None,
        typer.Option(
            "--poll-interval",
            min=0.05,
            help="Seconds between queries of one task (default: the provider's advice, 2-30 s).",
        ),
    ] = None,
    simulate: SimOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Run many jobs with bounded concurrency; re-running the same command resumes (see the ledger)."""
    from ._cli_view import BatchView, batch_summary
    from ._jobs import JobFileError, read_jobs
    from .batch import BatchRunner, FolderBusy

    try:
        jobs = read_jobs(jobs_file)
    except JobFileError as exc:
        for e in exc.errors:
            where = f"{jobs_file}:{e.line}: " if e.line else f"{jobs_file}: "
            sys.stderr.write(where + e.message + "\n")
        n = len(exc.errors)
        raise CliError(f"{n} bad line{'s' if n != 1 else ''} in {jobs_file}; nothing was sent", EXIT_USAGE) from None
    if out.exists() and not out.is_dir():
        raise CliError(f"--out {out} is a file; give a folder", EXIT_USAGE)

    if dry_run:
        report = BatchRunner(_NoClient(), jobs, out, concurrency=concurrency).plan()  # type: ignore[arg-type]
        _batch_output(report, as_json)
        return
    if poll_interval is None and simulate:
        # The --simulate tasks take about two seconds; the provider's 2-30 s schedule would idle.
        poll_interval = 0.5
    with _client(simulate=simulate) as kling:
        runner = BatchRunner(
            kling,
            jobs,
            out,
            concurrency=concurrency,
            timeout=timeout,
            resubmit_ambiguous=resubmit_ambiguous,
            clock=_overrides.get("clock"),
            schedule=_fixed_interval(poll_interval) if poll_interval else None,
        )
        try:
            if as_json:
                report = runner.run()
            else:
                view = BatchView(_stderr(), jobs)
                runner.on_event = view.event
                with view:
                    report = runner.run()
        except FolderBusy as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    _batch_output(report, as_json)
    _ = batch_summary
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _fixed_interval(seconds: float) -> Callable[[float], float]:
    return lambda _age: seconds


class _NoClient:
    """A dry run sends nothing: any attempt to is a bug, and fails loudly."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"dry run tried to use the client ({name})")


def _batch_output(report: Any, as_json: bool) -> None:
    from ._cli_view import batch_summary

    counts: dict[str, int] = {}
    for r in report.results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    would_create = sum(1 for r in report.results if r.outcome == "pending" and not r.task_id)
    if as_json:
        _print_json(
            {
                "ok": report.exit_code == 0,
                "exit_code": report.exit_code,
                "dry_run": report.dry_run,
                "counts": counts,
                "resubmitted": report.resubmitted,
                "stopped": report.stopped,
                "price_per_task": "unknown" if report.price_per_task is None else report.price_per_task,
                "would_create": would_create if report.dry_run else None,
                "jobs": [
                    {
                        "line": r.job.line,
                        "key": r.job.key,
                        "outcome": r.outcome,
                        "task_id": r.task_id,
                        "file": r.path,
                        "error": r.error,
                        "error_kind": r.error_kind,
                        "attempts": r.attempts,
                        "resumed": r.resumed,
                    }
                    for r in report.results
                ],
            }
        )
        return
    con = _stdout()
    con.print(batch_summary(report))
    parts = [f"{v} {k}" for k, v in sorted(counts.items())]
    con.print(", ".join(parts) + (f"; {report.resubmitted} resubmitted" if report.resubmitted else ""))
    if report.dry_run:
        price = "unknown" if report.price_per_task is None else f"{report.price_per_task:g} credits"
        con.print(
            f"would create {would_create} task(s); price per task: {price} "
            "(the API publishes no price; `kling credits` before and after tells the real cost)"
        )
    ambiguous = counts.get("ambiguous", 0)
    if ambiguous:
        con.print(
            f"[magenta]{ambiguous} ambiguous job(s)[/]: their create was sent but the answer was lost, so a "
            "paid task may exist. Check, then re-run with --resubmit-ambiguous to send them again."
        )
    if report.stopped and not report.dry_run:
        con.print(f"[red]stopped sending:[/] {report.stopped}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `kling` script."""
    global _debug
    args = list(sys.argv[1:] if argv is None else argv)
    # --debug is accepted anywhere on the line, not only before the subcommand.
    if "--debug" in args:
        _debug = True
        args = [a for a in args if a != "--debug"]
    try:
        app(args=args, prog_name="kling", standalone_mode=True)
    except SystemExit as exc:
        raise SystemExit(exc.code) from None


if __name__ == "__main__":
    main()
