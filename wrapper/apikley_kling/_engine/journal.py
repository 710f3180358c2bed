"""Durable creates in the user's own code: `generate(..., key=)` and `tasks.create(..., key=)` over a journal.

The journal is a ledger (`apikley_kling.ledger`, SQLite) and its state machine is the ledger's own, used through
its public methods: a keyed create is claimed (written ``submitting``) right before it is sent and marked
``created`` with its task id when the answer comes; a later run with the same key finds the row and waits on
that task instead of paying for another. A row left ``submitting`` (the process died with the create in flight)
or ``ambiguous`` (its answer was lost) is AmbiguousSubmit, sent again only with `resubmit_ambiguous`.

Every journal call is a JournalStep effect: the shells perform it (AsyncKling in a worker thread), so the
engine stays IO-free. Each row keeps a digest of the request (model and input, local files by their content), so
that a key reused for another request is refused instead of answering with the wrong video.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from .._logging import logger
from ..catalog import CreatePlan
from ..errors import AmbiguousSubmit, ConfigurationError, GenerationFailed, KlingError, TaskTimeout, ValidationError
from ..models import Task
from .effects import JournalStep, Op

if TYPE_CHECKING:
    from ..ledger import BaseLedger, Row
    from ..pricing import CallLimit
    from .core import Core
    from .effects import RequestOptions
    from .inbox import CallbackInbox

__all__ = ["Journal", "request_digest"]

#: The longest key accepted: a label, not a document.
MAX_KEY: Final = 200


def request_digest(plan: CreatePlan, extra_body: Mapping[str, Any] | None = None) -> str:
    """A digest of what a create asks for: its model and input, each local file by its content's SHA-256 (an
    upload's URL differs on every run; its bytes do not), and the unchecked `extra_body` fields it sends too."""
    files = [f"sha256:{hashlib.sha256(up.file.content).hexdigest()}" for up in plan.uploads]
    doc: dict[str, Any] = {"model": plan.model.id, "input": plan.with_urls(files)}
    if extra_body:
        doc["extra_body"] = dict(extra_body)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Keyed:
    """One keyed call: the key, whether an ambiguous earlier create may be sent again, and the request's digest."""

    key: str
    resubmit: bool
    digest: str
    options: RequestOptions | None = None  # the create's own (timeout, extra_*)


class Journal:
    """Keyed creates over one ledger; shared by every call of one client (keys in flight are tracked)."""

    def __init__(self, core: Core, ledger: BaseLedger, *, owned: bool = False) -> None:
        self.core = core
        self.ledger = ledger
        self.owned = owned  # opened by the client from a path: closed with it
        self.lock: Any = None  # the shell's hold on the journal's file (one client per journal), released on close
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def _step(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Op[Any]:
        result = yield JournalStep(partial(call, *args, **kwargs))
        return result

    @contextmanager
    def _hold(self, key: str) -> Iterator[None]:
        """One call per key at a time in this client: a second one would judge the first one's create ambiguous."""
        with self._lock:
            if key in self._busy:
                raise ConfigurationError(f"key {key!r} is in use by another call of this client right now")
            self._busy.add(key)
        try:
            yield
        finally:
            with self._lock:
                self._busy.discard(key)

    def create(
        self,
        plan: CreatePlan,
        key: str,
        *,
        resubmit: bool = False,
        on_progress: Callable[[Any], object] | None = None,
        limit: CallLimit | None = None,
        options: RequestOptions | None = None,
    ) -> Op[Task]:
        """The key's task: the one the journal holds (as the service reports it now), else a new one created."""
        job = Keyed(key, resubmit, request_digest(plan, options.extra_body if options else None), options)
        with self._hold(_checked(key)):
            row, task = yield from self._create(plan, job, on_progress, limit)
            if task is None:
                assert row is not None and row.task_id is not None
                task = yield from self.core.tasks.get(row.task_id)
            return task

    def generate(
        self,
        plan: CreatePlan,
        key: str,
        output: str | os.PathLike[str],
        *,
        resubmit: bool,
        timeout: float,
        on_progress: Callable[[Any], object] | None,
        inbox: CallbackInbox | None,
        expect_callbacks: bool = False,
        limit: CallLimit | None = None,
    ) -> Op[Task]:
        """generate() with a key: the key's task (the journal's, else a new one) waited on and downloaded."""
        with self._hold(_checked(key)):
            row, task = yield from self._create(plan, Keyed(key, resubmit, request_digest(plan)), on_progress, limit)
            task_id = task.id if task is not None else row.task_id if row is not None else None
            assert task_id is not None
            pending = task is not None or (row is not None and row.state == "created")
            try:
                done = yield from self.core.tasks.wait(
                    task_id, timeout=timeout, on_update=on_progress, inbox=inbox, expect_callbacks=expect_callbacks
                )
            except GenerationFailed as exc:
                if pending and exc.task is not None:
                    yield from self._step(self.ledger.mark_failed, key, str(exc))
                raise
            except TaskTimeout as exc:
                yield from self._step(self.ledger.note_error, key, str(exc))
                raise
            path = yield from self.core.files.download(done, output, on_progress=on_progress)
            if pending:
                yield from self._step(self.ledger.mark_done, key, str(path))
            return done

    def _create(
        self, plan: CreatePlan, job: Keyed, on_progress: Callable[[Any], object] | None, limit: CallLimit | None
    ) -> Op[tuple[Row | None, Task | None]]:
        """(the journal's row, None) when it holds a task for the key; (None, the new task) after a create."""
        row: Row | None = yield from self._step(self.ledger.get, job.key)
        if row is not None:
            _same_request(row, job, self.ledger.where)
            if row.state in ("created", "done", "failed"):
                logger.info("key %s: task %s from the journal, not created again", job.key, row.task_id)
                return row, None
            if not job.resubmit:
                # claim() settles a row whose sender is gone as ambiguous, durably, and sends nothing.
                got = yield from self._step(self.ledger.claim, job.key, 0, row.job, resubmit=False)
                raise _ambiguous(job.key, got.row or row)
        attempt: list[int] = []
        try:
            task = yield from self.core.tasks.create(
                plan,
                on_progress=on_progress,
                limit=limit,
                options=job.options,
                before_send=lambda: self._claim(job, attempt),
            )
        except BaseException as exc:
            if attempt:
                yield from self._settle(job.key, attempt[0], exc)
            raise
        yield from self._step(self.ledger.mark_created, job.key, task.id, attempt=attempt[0])
        return None, task

    def _claim(self, job: Keyed, attempt: list[int]) -> Op[None]:
        """Write `submitting` (the intent to create, durably) right before the create is sent."""
        record = {"request": job.digest, "sent_at": self.core.engine.clock.time()}
        got = yield from self._step(self.ledger.claim, job.key, 0, record, resubmit=job.resubmit)
        if got.kind != "submit" or got.row is None:
            state = got.row.state if got.row is not None else "claimed"
            raise ConfigurationError(f"key {job.key!r} is {state} in {self.ledger.where} (taken meanwhile)")
        attempt.append(got.row.attempts)

    def _settle(self, key: str, attempt: int, exc: BaseException) -> Op[None]:
        """Record what became of a create that raised: ambiguous when it may have been paid, else forgotten."""
        if isinstance(exc, AmbiguousSubmit):
            yield from self._step(self.ledger.mark_ambiguous, key, exc.reason, attempt=attempt)
        elif isinstance(exc, KlingError):  # the SDK raises AmbiguousSubmit whenever the create may have arrived
            yield from self._step(self.ledger.mark_unsent, key, str(exc), attempt=attempt)
        else:  # Ctrl-C, a cancellation, a bug while it was in flight: nobody can know whether it arrived
            yield from self._step(
                self.ledger.mark_ambiguous, key, f"interrupted: {type(exc).__name__}", attempt=attempt
            )


def _checked(key: object) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY or not key.isprintable():
        raise ValidationError(f"key: a printable name of 1 to {MAX_KEY} characters, got {key!r:.60}", field="key")
    return key


def _same_request(row: Row, job: Keyed, where: str) -> None:
    if row.job.get("request") != job.digest:
        raise ConfigurationError(
            f"key {job.key!r} is already used in the journal {where} for another request (other model or fields);"
            " a key names one create: use a new key for a new request"
        )


def _ambiguous(key: str, row: Row) -> AmbiguousSubmit:
    sent_at = row.job.get("sent_at")
    reason = (
        f"key {key!r}: an earlier create of it was sent and its answer lost ({row.error or row.state}); it may have"
        " been paid. resubmit_ambiguous=True sends it again"
    )
    return AmbiguousSubmit(row.job, reason, sent_at=float(sent_at) if isinstance(sent_at, int | float) else 0.0)
