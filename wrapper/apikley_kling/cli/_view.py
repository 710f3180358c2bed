"""What `kling` shows a person: live progress on a terminal, plain lines elsewhere.

Kept apart from the commands so that the commands read as a sequence of SDK calls and
the rendering can change without touching them. Everything here writes to
stderr except final results, so `kling generate ... > out.txt` still captures
only the answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich import filesize
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TaskID, TextColumn
from rich.progress import Task as ProgressTask
from rich.table import Table
from rich.text import Text

from apikley_kling import for_terminal

if TYPE_CHECKING:
    from collections.abc import Callable

    from apikley_kling import DownloadProgress, Task, TaskUpdate, UploadProgress
    from apikley_kling.batch import BatchReport, Job, JobResult

_STATE_STYLE = {
    "waiting": "yellow",
    "queuing": "yellow",
    "generating": "cyan",
    "success": "green",
    "fail": "red",
    "done": "green",
    "failed": "red",
    "ambiguous": "magenta",
    "timeout": "yellow",
    "error": "red",
    "skipped": "dim",
    "over_cap": "yellow",
    "pending": "blue",
    "created": "cyan",
    "submitting": "yellow",
    "uploading": "yellow",
    "queued": "dim",
    "downloading": "cyan",
}


def styled(state: str) -> Text:
    return Text(for_terminal(state), style=_STATE_STYLE.get(state, ""))


def _safe(text: object) -> str:
    """Text from the service or a ledger, fit for a terminal; long enough that a URL is never cut."""
    return for_terminal(text, limit=10_000)


def _mmss(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class _StatusColumn(ProgressColumn):
    """A spinner while a phase runs, then ✓ or ✗: a stopped spinner would claim it still runs."""

    def __init__(self) -> None:
        super().__init__()
        self._spinner = SpinnerColumn()

    def render(self, task: ProgressTask) -> RenderableType:
        status = task.fields.get("status")
        if status == "ok":
            return Text("✓", style="green")
        if status == "failed":
            return Text("✗", style="red")
        if status == "stopped":
            return Text("·", style="dim")
        return self._spinner.render(task)


class _DetailColumn(ProgressColumn):
    """Bytes and speed for transfers; "elapsed / deadline" for the generation."""

    def render(self, task: ProgressTask) -> RenderableType:
        if task.fields.get("kind") == "wait":
            return Text(f"{_mmss(task.completed)} / {_mmss(task.total or 0)}", style="dim")
        done = filesize.decimal(int(task.completed))
        total = filesize.decimal(int(task.total)) if task.total is not None else "?"
        text = f"{done} / {total}"
        speed = task.finished_speed or task.speed
        if speed and task.fields.get("status") is None:
            text += f"  {filesize.decimal(int(speed))}/s"
        return Text(text, style="dim")


class GenerateView:
    """The three phases of `kling generate`: upload, generation, download.

    On a terminal: a live block of progress lines. Elsewhere (a pipe, CI): one
    plain line per phase change, so logs stay readable and small.
    """

    def __init__(self, console: Console, *, title: str, output: str, deadline: float) -> None:
        self.console = console
        self.live = console.is_terminal and not console.is_dumb_terminal
        self.deadline = deadline
        self._last_line: str | None = None
        self._state: str | None = None
        self._wait_started: float | None = None
        self._header = Text.assemble(("kling generate ", "bold"), (_safe(title), "cyan"), " → ", (output, "cyan"))
        self.progress = Progress(
            _StatusColumn(),
            TextColumn("{task.description}", markup=True),
            BarColumn(bar_width=30),
            _DetailColumn(),
            console=console,
            transient=False,
        )
        self._ids: dict[str, TaskID] = {}
        self._uploads = 0  # files uploaded so far (a model may take several: an image and an audio track)
        self._task_line = Text("")
        self._live: Live | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> GenerateView:
        if self.live:
            self._live = Live(
                Group(self._header, self.progress, self._task_line),
                console=self.console,
                refresh_per_second=8,
                transient=False,
            )
            self._live.__enter__()
            # Queries come seconds apart; the deadline bar should move in between.
            self._ticker = threading.Thread(target=self._tick_loop, name="kling-view", daemon=True)
            self._ticker.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=1)
        if self._live is not None:
            for tid in self._ids.values():
                if self.progress.tasks[tid].fields.get("status") is None:
                    self.progress.update(tid, status="failed" if exc_type is not None else "stopped")
            self._live.__exit__(exc_type, exc, tb)

    def _tick_loop(self) -> None:
        while not self._stop.wait(0.25):
            self.tick()

    def _plain(self, line: str) -> None:
        if not self.live and line != self._last_line:
            self._last_line = line
            self.console.print(line, highlight=False, markup=False)

    def _phase(self, name: str, description: str, total: float | None, **fields: Any) -> TaskID:
        if name not in self._ids:
            self._ids[name] = self.progress.add_task(description, total=total, status=None, **fields)
        return self._ids[name]

    def note(self, text: str) -> None:
        if self.live:
            self._task_line.plain = text
        else:
            self._plain(text)

    # -- phases -------------------------------------------------------------------

    def upload(self, ev: UploadProgress) -> None:
        name = f"upload {self._uploads}"
        if name in self._ids and self.progress.tasks[self._ids[name]].fields.get("status") == "ok":
            self._uploads += 1  # the previous file is done: this event starts the next one
            name = f"upload {self._uploads}"
        tid = self._phase(name, "upload    ", ev.total, kind="bytes")
        self.progress.update(tid, completed=ev.sent, total=ev.total)
        if ev.total is not None and ev.sent >= ev.total:
            self.progress.update(tid, description="uploaded  ", status="ok")
            self._plain(f"uploaded {ev.sent} bytes")
        elif ev.sent == 0:
            self._plain(f"uploading {ev.total or '?'} bytes")

    def created(self, task_id: str, *, announce: bool = True) -> None:
        self._wait_started = time.monotonic()
        self._phase("wait", "[yellow]submitted[/] ", self.deadline, kind="wait")
        if self.live:
            self._task_line.plain = f"task {_safe(task_id)}"
        elif announce:
            self._plain(f"created task {_safe(task_id)}")

    def task(self, ev: TaskUpdate) -> None:
        state = _safe(ev.task.state.value)
        tid = self._phase("wait", escape(f"{state:<10}"), ev.deadline, kind="wait")
        colour = _STATE_STYLE.get(state, "")
        status = None
        if ev.task.is_final:
            status = "ok" if state == "success" else "failed"
        self.progress.update(
            tid,
            description=f"[{colour}]{escape(f'{state:<10}')}[/]" if colour else escape(f"{state:<10}"),
            completed=min(ev.elapsed, ev.deadline),
            total=ev.deadline,
            status=status,
        )
        if state != self._state:
            self._state = state
            self._plain(f"{state} after {ev.elapsed:.0f}s (deadline {ev.deadline:.0f}s)")

    def tick(self) -> None:
        tid = self._ids.get("wait")
        if tid is None or self._wait_started is None:
            return
        t = self.progress.tasks[tid]
        if t.fields.get("status") is None:
            self.progress.update(tid, completed=min(time.monotonic() - self._wait_started, t.total or 0))

    def download(self, ev: DownloadProgress) -> None:
        tid = self._phase("download", "download  ", ev.total, kind="bytes")
        done = ev.total is not None and ev.received >= ev.total
        self.progress.update(
            tid,
            completed=ev.received,
            total=ev.total,
            description="saved     " if done else "download  ",
            status="ok" if done else None,
        )
        if done:
            self._plain(f"downloaded {ev.received} bytes")


class BatchView:
    """A live table of the jobs of `kling batch` (the last rows when there are many)."""

    MAX_ROWS = 20

    def __init__(self, console: Console, jobs: Sequence[Job]) -> None:
        self.console = console
        self.live_enabled = console.is_terminal and not console.is_dumb_terminal
        self.jobs = list(jobs)
        self.state: dict[str, str] = {j.key: "queued" for j in jobs}
        self.task_ids: dict[str, str] = {}
        self.started = time.monotonic()
        self._live: Live | None = None

    def __enter__(self) -> BatchView:
        if self.live_enabled:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)

    def event(self, event: str, job: Job, info: dict[str, Any]) -> None:
        new: str = event
        if event == "finished":
            result: JobResult = info["result"]
            new = result.outcome
            if not self.live_enabled:
                extra = f" {result.path}" if result.path else f" ({result.error})" if result.error else ""
                extra = _safe(extra)
                self.console.print(f"line {job.line}: {new}{extra}", highlight=False, markup=False)
        elif event == "state":
            new = _safe(info.get("state"))
        if "task_id" in info:
            self.task_ids[job.key] = _safe(info["task_id"])
        self.state[job.key] = new
        if self._live is not None:
            self._live.update(self._render())

    def _render(self) -> Table:
        counts: dict[str, int] = {}
        for s in self.state.values():
            counts[s] = counts.get(s, 0) + 1
        summary = "  ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        table = Table(
            title=f"kling batch · {len(self.jobs)} jobs · {_mmss(time.monotonic() - self.started)}",
            caption=summary,
            expand=False,
        )
        table.add_column("line", justify="right")
        table.add_column("state", min_width=11)
        table.add_column("task")
        table.add_column("model")
        table.add_column("what", overflow="ellipsis", max_width=40, no_wrap=True)
        active = [j for j in self.jobs if self.state[j.key] not in ("queued",)] or self.jobs
        for job in active[-self.MAX_ROWS :]:
            table.add_row(
                str(job.line),
                styled(self.state[job.key]),
                Text(self.task_ids.get(job.key, "")),
                job.model,
                Text(_safe(job.summary)),
            )
        return table


def batch_summary(report: BatchReport) -> Table:
    table = Table(title="kling batch: summary" + (" (dry run)" if report.dry_run else ""))
    table.add_column("line", justify="right")
    table.add_column("outcome")
    table.add_column("task")
    table.add_column("tries", justify="right")
    table.add_column("file / reason", overflow="fold")
    if report.dry_run:
        table.add_column("credits", justify="right")
    for r in report.results:
        what = r.path or r.error or ""
        if report.dry_run:
            what = {
                "pending": "would create" if not r.task_id else "would wait on the created task",
                "done": f"done: {r.path}",
                "failed": f"failed: {r.error}",
                "ambiguous": f"ambiguous: {r.error}",
            }.get(r.outcome, what)
        outcome = r.outcome + (" (resumed)" if r.resumed and r.outcome == "done" else "")
        cells: list[str | Text] = [
            str(r.job.line),
            styled(r.outcome) if not r.resumed else Text(outcome, style=_STATE_STYLE.get(r.outcome, "")),
            Text(_safe(r.task_id or "")),
            str(r.attempts or ""),
            Text(_safe(what)),
        ]
        if report.dry_run:  # the job's estimate by the rate card
            credits = r.estimate.credits if r.estimate is not None else None
            cells.append("unknown" if credits is None else f"{credits:g}")
        table.add_row(*cells)
    return table


def _task_rows(task: Task) -> list[tuple[str, str]]:
    rows = [("task", _safe(task.id))]
    if task.model:
        rows.append(("model", _safe(task.model)))
    rows.append(("state", _safe(task.state.value)))
    if task.created_at:
        rows.append(("created", task.created_at.isoformat(timespec="seconds")))
    if task.completed_at:
        rows.append(("completed", task.completed_at.isoformat(timespec="seconds")))
    if task.cost_time is not None:
        rows.append(("generation", f"{task.cost_time:.1f}s"))
    rows += [("video", _safe(url)) for url in task.result_urls]
    if task.fail_code or task.fail_msg:
        rows.append(("failure", _safe(" ".join(str(x) for x in (task.fail_code, task.fail_msg) if x))))
    return rows


def print_task(task: Task, out: Console, redact: Callable[[str], str]) -> None:
    """A task as a small table on a terminal; elsewhere (a pipe, a file) plain lines that are never cut,
    so that a script reading the result URL gets all of it."""
    import sys

    rows = _task_rows(task)
    if not out.is_terminal:
        width = max(len(label) for label, _ in rows)
        sys.stdout.write("".join(redact(f"{label:<{width}}  {value}") + "\n" for label, value in rows))
        sys.stdout.flush()
        return
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    for label, value in rows:
        t.add_row(label, styled(value) if label == "state" else Text(value))  # Text: no markup in service text
    out.print(t)
