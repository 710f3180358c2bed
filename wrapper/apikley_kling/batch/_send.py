"""The batch runner's sending part: a job's files uploaded, its claim written ahead, its create sent and recorded.

A part of `BatchRunner` (`_runner.py`); the state it works on is the run's `RunState` (`_state.py`), and
which jobs are this worker's to send is asked of the claims part (`_fleet.py`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._results import JobResult, classify, one_line

if TYPE_CHECKING:
    from ._fleet import Claims
    from ._jobs import Job
    from ._state import RunState


class Sending:
    """Sends this worker's creates, each holding one of the run's `concurrency` slots until its job ends."""

    def __init__(self, run: RunState, claims: Claims) -> None:
        self.run = run
        self._claims = claims

    def submit(self, job: Job) -> None:
        """Send one job (a creates worker's call): wait for a slot, upload, claim, create, record."""
        if self.run.budget.exceeded is not None:  # the cap is reached: no slot, no upload, no claim
            self.run.one_less_to_submit()
            self._over_cap(job)
            return
        # A slot is freed by a watched task ending; once the run stops nobody may free one: never wait unbounded.
        while not self.run.slots.acquire(timeout=0.05):
            if self.run.stop_reason:
                self.run.one_less_to_submit()
                self.run.finish(job, self.run.skipped(job, f"not sent: {self.run.stop_reason}"))
                return
        holds = True
        try:
            if self.run.stop_reason:
                self.run.finish(job, self.run.skipped(job, f"not sent: {self.run.stop_reason}"))
                return
            if not self._still_to_send(job):
                return
            uploaded = self._upload(job)
            if uploaded is not None:
                holds = not self._create(job, *uploaded)  # a created task holds its slot to the end
        finally:
            self.run.one_less_to_submit()
            if holds:
                self.run.slots.release()

    def _still_to_send(self, job: Job) -> bool:
        """Whether the job still needs this worker's create, asked again just before its upload: with a fleet,
        another worker may have claimed it since the run began (then it is waited on, deferred, or over)."""
        route, task_id = self._claims.route(job)
        if task_id is not None:
            self.run.add_watch(job, task_id, holds_slot=False)
        return route == "send"

    def _upload(self, job: Job) -> tuple[dict[str, Any], Any] | None:
        """The job's (input, image) with its local files uploaded; None (and the job finished) on failure.

        Before the ledger row, on purpose: an upload costs nothing, so a crash during one leaves
        nothing to reconcile, and a re-run simply uploads again.
        """
        from ..errors import KlingError

        if job.local_files():
            self.run.emit("uploading", job)
        try:
            return job.with_uploads(self.run.client.files.upload)
        except KlingError as e:
            self.fail_unsent(job, e)
            return None

    def _create(self, job: Job, values: dict[str, Any], image: Any) -> bool:
        """Claim (writing ahead), send the create, record its answer; True when a task now exists to watch."""
        from .. import errors as E

        attempt = self._claim(job)
        if attempt is None:
            return False
        if self.run.stop_reason:  # stopped during the upload (Ctrl-C, another thread's error): claimed, not sent
            self._note(self.run.led.mark_unsent, job.key, f"not sent: {self.run.stop_reason}", attempt)
            self.run.budget.unsent(job)
            self.run.finish(job, self.run.skipped(job, f"not sent: {self.run.stop_reason}"))
            return False
        if attempt > 1:
            with self.run.lock:
                self.run.resubmitted += 1
        self.run.emit("submitting", job, attempt=attempt)
        try:
            task = self.run.client.tasks.create(
                model=job.model, input=values, image=image, callback_url=job.callback_url
            )
        except E.AmbiguousSubmit as e:
            self._note(self.run.led.mark_ambiguous, job.key, e.reason, attempt)
            self.run.finish(job, JobResult(job, "ambiguous", error=e.reason, attempts=attempt))
            return False
        except E.KlingError as e:
            # The SDK raises AmbiguousSubmit whenever the request may have reached the service;
            # any other error means it surely did not make a task.
            self._note(self.run.led.mark_unsent, job.key, str(e), attempt)
            self.run.budget.unsent(job)
            self.fail_unsent(job, e, attempts=attempt)
            return False
        except BaseException as e:
            # A bug or Ctrl-C mid-create: we cannot know whether it was sent.
            self._note(self.run.led.mark_ambiguous, job.key, f"interrupted: {type(e).__name__}", attempt)
            raise
        return self._created(job, task.id, attempt)

    def _claim(self, job: Job) -> int | None:
        """Claim the job (its row written ahead) and admit its create under the cap: the attempt to send, or None
        (another worker's, over, or over the cap: its claim rolled back, the job still pending)."""
        budget = self.run.budget
        with budget.claiming():
            got = self.run.led.claim(job.key, job.line, job.raw, resubmit=self.run.resubmit_ambiguous)
            refused = budget.admit(job, got.row) if got.kind == "submit" and got.row is not None else None
            if refused is not None:
                assert got.row is not None
                self._note(self.run.led.mark_unsent, job.key, str(refused), got.row.attempts)
        if got.kind != "submit":
            # Another worker got there first (or the job ended meanwhile): whatever it is now, not ours to send.
            _, task_id = self._claims.take_claimed(job, got)
            if task_id is not None:
                self.run.add_watch(job, task_id, holds_slot=False)
            return None
        if refused is not None:
            self._over_cap(job)
            return None
        assert got.row is not None
        return got.row.attempts

    def _over_cap(self, job: Job) -> None:
        """A job not sent because its create would cross the cap: nothing lost, nothing failed; still pending."""
        budget = self.run.budget
        result = JobResult(job, "over_cap", error=budget.over_cap_message(), estimate=budget.estimate(job))
        self.run.finish(job, result)

    def _note(self, transition: Callable[..., None], key: str, why: str, attempt: int) -> None:
        """Record what this worker saw of its create. LedgerError: another worker resent the job since (this one
        was silent past its lease); that newer attempt is its own, and this one's outcome is reported, not kept."""
        from ..ledger import LedgerError

        with contextlib.suppress(LedgerError):
            transition(key, why, attempt=attempt)

    def _created(self, job: Job, task_id: str, attempt: int) -> bool:
        from ..ledger import LedgerError

        try:
            self.run.led.mark_created(job.key, task_id, attempt=attempt)
        except LedgerError as e:
            # This worker was silent past its lease and another took the job over and sent it again.
            msg = f"task {task_id} was created, but another worker had sent this job again meanwhile ({e})"
            self.run.finish(job, JobResult(job, "error", task_id=task_id, error=msg, attempts=attempt))
            return False
        self.run.emit("created", job, task_id=task_id)
        self.run.add_watch(job, task_id, holds_slot=True)
        return True

    def fail_unsent(self, job: Job, e: Exception, *, attempts: int = 0) -> None:
        """A job whose create surely made no task; an error every other job would meet too stops the sending."""
        if classify(e) in ("auth", "credits"):
            # Every other job would fail the same way (and with credits, a top-up
            # mid-run would make the outcome depend on timing): stop sending.
            with self.run.watch_cv:
                if self.run.stop_reason is None:
                    self.run.stop_reason = one_line(e)
                    self.run.stop_error = e
        self.run.finish(job, JobResult.from_error(job, "error", e, attempts=attempts))
