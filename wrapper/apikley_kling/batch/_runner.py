"""Many jobs from a file: bounded concurrency, one shared poll budget, and a ledger.

The run is resumable and crash-safe because every create is written to the
ledger (``ledger/``) *before* it is sent, and its task id *right after* the
answer arrives. Re-running the same job file against the same folder:

- skips jobs that are ``done`` (or ``failed``: that task was paid for; look at it, then remove
  its row or change its line if you want another try),
- waits on ``created`` tasks instead of creating them again,
- reports ``ambiguous`` jobs (a create was sent, its answer never came) and sends
  them again only with ``resubmit_ambiguous=True``, since that may pay twice.

The ledger is SQLite in the output folder (one runner per folder), or PostgreSQL
(``ledger="postgresql://..."``), shared by any number of workers on any number of
machines: each job is claimed by one worker, a claim is a lease kept by a heartbeat,
and a silent worker's jobs are taken over (``_fleet.py``). Every worker runs
until every job of the file has ended, wherever it ran.

Threads, not asyncio: the SDK's sync client is the simplest to drive from a
CLI, SQLite prefers one connection per process, and the thread count is small
(the concurrency). One poller thread drives the SDK's watcher
(`client.tasks.watch`) over every task that is running, under a shared budget
of queries per second, so a thousand running tasks do not turn into a poll storm.

The runner is composed, not inherited: one `RunState` (`_state.py`) shared by its parts, `Sending`
(`_send.py`), `Watching` (`_wait.py`) and `Claims` (`_fleet.py`); the stop is `RunState.abort`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .._config import DEFAULT_TIMEOUT
from .._threads import in_thread, wait_event
from ..clock import Clock, SystemClock
from ..ledger import LEASE_SECONDS, BaseLedger, SqliteLedger, exclusive, open_ledger
from ._fleet import Claims, Heartbeat, close_quietly
from ._jobs import Job
from ._money import Budget
from ._results import BatchReport, foreign_outputs, plan
from ._send import Sending
from ._state import OnEvent, RunState
from ._stop import LEDGER_GRACE, STOP_BUDGET, interrupted
from ._wait import Watching
from ._workers import Workers, join_thread

if TYPE_CHECKING:
    from .. import Kling


class OutputExists(Exception):
    """A job's output is already in the folder and this batch did not write it: refused before sending."""


class BatchRunner:
    """Runs every job of a jobs file to its end: sends them (at most `concurrency` at once), waits on their tasks
    under one poll budget, downloads their videos, and keeps a ledger so that a re-run resumes."""

    def __init__(
        self,
        client: Kling,
        jobs: Sequence[Job],
        out_dir: str | Path,
        *,
        concurrency: int = 4,
        timeout: float = DEFAULT_TIMEOUT,
        resubmit_ambiguous: bool = False,
        polls_per_second: float | None = None,
        clock: Clock | None = None,
        on_event: OnEvent | None = None,
        interval: float | None = None,
        ledger: str | BaseLedger | None = None,
        lease: float = LEASE_SECONDS,
        max_credits: float | None = None,
        allow_unknown_price: bool = False,
        check_balance: bool = False,
        run_what_it_can: bool = False,
    ) -> None:
        """`ledger`: a ``postgresql://`` URL (or an open ledger) shared by a fleet of workers; None: SQLite in
        `out_dir`. `lease`: seconds a silent worker keeps its claims before others take its jobs over.

        Money (`_money.py`): `max_credits` caps what the ledger shows this batch has spent (across re-runs and
        workers), by the client's card; a create that would cross it is not sent, the batch creates no more,
        and the jobs left are "over_cap" (still pending). A job of unknown price is refused under a cap unless
        `allow_unknown_price`. `check_balance`: before the first create, BatchMoneyRefused when `credits()`
        cannot pay for the jobs to send, unless `run_what_it_can` (then the balance is a cap too)."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.ledger = ledger
        self._state = RunState(
            client=client,
            jobs=list(jobs),
            out_dir=Path(out_dir),
            concurrency=concurrency,
            timeout=timeout,
            resubmit_ambiguous=resubmit_ambiguous,
            # Default budget: two queries a second per slot at most, and never fewer than one a second.
            polls_per_second=polls_per_second or max(1.0, 2.0 * concurrency),
            clock=clock or SystemClock(),
            on_event=on_event,
            # Seconds between queries of one task; None: the SDK's schedule (the provider's advice, jittered).
            interval=interval,
            lease=lease,
            # How often jobs held by other workers are looked at again: well inside a lease, at most a second.
            revisit=min(1.0, lease / 4),
            budget=Budget(
                client,
                max_credits,
                allow_unknown_price=allow_unknown_price,
                check_balance=check_balance,
                run_what_it_can=run_what_it_can,
            ),
        )
        self._claims = Claims(self._state, queue=self._queue_create)
        self._send = Sending(self._state, self._claims)
        self._watch = Watching(self._state)

    # The settings, as given (read from the run's state: one copy of each).

    @property
    def client(self) -> Kling:
        """The SDK client the jobs are sent with."""
        return self._state.client

    @property
    def jobs(self) -> list[Job]:
        """The jobs of this run, in the file's order."""
        return self._state.jobs

    @property
    def out_dir(self) -> Path:
        """The folder the videos (and a SQLite ledger) go to."""
        return self._state.out_dir

    @property
    def concurrency(self) -> int:
        """How many jobs are in flight at most."""
        return self._state.concurrency

    @property
    def timeout(self) -> float:
        """Seconds each task is waited on."""
        return self._state.timeout

    @property
    def resubmit_ambiguous(self) -> bool:
        """Whether ambiguous jobs are sent again."""
        return self._state.resubmit_ambiguous

    @property
    def polls_per_second(self) -> float:
        """The shared budget of status queries."""
        return self._state.polls_per_second

    @property
    def clock(self) -> Clock:
        """The clock the run waits on."""
        return self._state.clock

    @property
    def on_event(self) -> OnEvent | None:
        """Told of each job's progress."""
        return self._state.on_event

    @on_event.setter
    def on_event(self, on_event: OnEvent | None) -> None:
        self._state.on_event = on_event

    @property
    def interval(self) -> float | None:
        """Seconds between queries of one task (None: the SDK's schedule)."""
        return self._state.interval

    @property
    def lease(self) -> float:
        """Seconds a silent worker keeps its claims."""
        return self._state.lease

    @property
    def revisit(self) -> float:
        """Seconds between looks at jobs other workers hold."""
        return self._state.revisit

    # -- planning -------------------------------------------------------------

    def plan(self) -> BatchReport:
        """What a run would do, from the ledger, without sending anything (or creating any file)."""
        return plan(self._state.jobs, self._state.out_dir, self.ledger)

    # -- running --------------------------------------------------------------

    def run(self) -> BatchReport:
        """Run every job to its end (here or on another worker of the ledger); the report has one result each.

        The run happens in a daemon thread; this one only waits, so Ctrl-C is handled at once even while the
        ledger's database is paused (BatchInterrupted). LedgerLost when the database stays away too long.
        """
        try:
            return in_thread(self._run_all, name="kling-batch-run")
        except KeyboardInterrupt:
            raise interrupted(self._state) from None

    def _run_all(self) -> BatchReport:
        try:
            return self._open_and_run()
        finally:
            self._state.ended.set()

    def _open_and_run(self) -> BatchReport:
        run = self._state
        started = run.clock.monotonic()
        run.out_dir.mkdir(parents=True, exist_ok=True)
        if self.ledger is None:
            with exclusive(run.out_dir):  # the lock before the file: one runner per SQLite ledger
                return self._run_on(SqliteLedger.in_dir(run.out_dir), started, own=True)
        own = isinstance(self.ledger, str)
        ledger = open_ledger(self.ledger, run.out_dir) if isinstance(self.ledger, str) else self.ledger
        if not ledger.single_runner:
            return self._run_on(ledger, started, own=own)
        with exclusive(run.out_dir):
            return self._run_on(ledger, started, own=own)

    def _run_on(self, ledger: BaseLedger, started: float, *, own: bool) -> BatchReport:
        run = self._state
        run.ledger = ledger
        try:
            ledger.register(str(run.out_dir.absolute()), lease=run.lease)
            with Heartbeat(ledger, run.lease / 3, on_lost=run.failure.set):
                return self._run(started)
        finally:
            if run.stop_reason == "interrupted":  # Ctrl-C's summary reads this ledger: close it after that
                wait_event(run.reported, STOP_BUDGET + LEDGER_GRACE)
            if own:
                close_quietly(ledger)
            else:
                with contextlib.suppress(Exception):
                    ledger.retire()

    def _run(self, started: float) -> BatchReport:
        run = self._state
        run.led.settle_interrupted()
        to_submit, to_watch = self._claims.resume()
        self._refuse_foreign_files(to_submit + [job for job, _ in to_watch])
        run.budget.start(run.led, to_submit)  # the spend so far, unknown prices, the balance: before any create
        for job in to_submit:
            run.emit("queued", job)
        # Downloads get their own workers: queued behind blocked creates they would wait
        # for every create to be sent before the first finished video is saved.
        creates = run.creates = Workers(run.concurrency, "kling-create", run.failure)
        run.downloads = Workers(run.concurrency, "kling-download", run.failure)
        # An outage of the service's queries is ridden out until each task's deadline: waiting is free, and a
        # job given up early would only wait for a re-run.
        watch = run.client.tasks.watch(
            timeout=run.timeout,
            rate=run.polls_per_second,
            interval=run.interval,
            on_update=self._watch.on_update,
            retry_until_deadline=True,
        )
        poller = threading.Thread(target=self._watch.poll_loop, args=(watch,), name="kling-batch-poller", daemon=True)
        with run.watch_cv:
            run.watcher = watch
            run.submitting = len(to_submit)
        for job, task_id in to_watch:
            # Resumed tasks are already running server-side: waiting costs nothing,
            # so they do not take a slot from new creates.
            run.add_watch(job, task_id, holds_slot=False)
        for job in run.deferred.take():
            self._claims.defer(job)  # held by other workers: looked at again until they end or are taken over
        with run.watch_cv:
            if run.submitting == 0:
                watch.close()
        poller.start()
        for job in to_submit:
            creates.submit(self._send.submit, job)
        try:
            creates.join()
            join_thread(poller, run.failure)
            creates.join()  # creates queued by revisits after the first join
            run.downloads.join()
        except BaseException as exc:  # the ledger lost, or a bug of ours: stop everything, and let it be seen
            run.failure.set(exc)
            raise
        finally:
            watch.cancel()
            creates.stop(run.concurrency)
            run.downloads.stop(run.concurrency)
        results = [run.results.get(job.key) or run.skipped(job, run.stop_reason) for job in run.jobs]
        budget = run.budget
        return BatchReport(
            results,
            resubmitted=run.resubmitted,
            elapsed=run.clock.monotonic() - started,
            stopped=run.stop_reason,
            max_credits=budget.cap,
            spent=budget.ledger_spend(run.led)[0] if budget.active else None,
            notes=budget.notes,
        )

    def _queue_create(self, job: Job) -> None:
        """A deferred job that is this worker's to send after all: one more create."""
        run = self._state
        with run.watch_cv:
            run.submitting += 1
        run.emit("queued", job)
        assert run.creates is not None
        run.creates.submit(self._send.submit, job)

    def _refuse_foreign_files(self, jobs: list[Job]) -> None:
        """Before anything is sent: a job's output that exists and that this batch did not write for that job
        (per the ledger) would be overwritten by its video; refuse rather than lose someone's file."""
        out_dir = self._state.out_dir
        foreign = foreign_outputs(self._state.led, out_dir, jobs)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise OutputExists(
                f"{shown} already in {out_dir} and not written by this batch; move them away or "
                "change those jobs' output (nothing was sent)"
            )
