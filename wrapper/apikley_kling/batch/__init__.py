"""Many jobs from a file: bounded concurrency, one shared poll budget, and a ledger that makes a run resumable.

    from apikley_kling.batch import BatchRunner, read_jobs
    report = BatchRunner(kling, read_jobs("jobs.jsonl"), "out/", concurrency=4).run()

Modules: `_jobs` (the jobs file, read and checked line by line), `_runner` (BatchRunner: the
shared run state and its parts), `_send` (uploads, claims and creates), `_wait` (the watcher,
downloads and results), `_money` (estimates, the cap, the balance check), `_fleet` (jobs other
workers of a shared ledger hold), `_stop` (Ctrl-C and the first error), `_workers` (daemon
threads), `_results` (results and the report).
"""

from ..ledger import FolderBusy, exclusive
from ._jobs import Job, JobFileError, LineError, iter_jobs, read_jobs
from ._money import BatchMoneyRefused, estimate_job
from ._results import PRICE_UNKNOWN, BatchReport, ErrorKind, JobResult, Outcome, classify, planned_result
from ._runner import BatchRunner, OutputExists
from ._stop import INTERRUPT_GRACE, LEDGER_GRACE, BatchInterrupted
from ._wait import Event, OnEvent

__all__ = [
    "INTERRUPT_GRACE",
    "LEDGER_GRACE",
    "PRICE_UNKNOWN",
    "BatchInterrupted",
    "BatchMoneyRefused",
    "BatchReport",
    "BatchRunner",
    "ErrorKind",
    "Event",
    "FolderBusy",
    "Job",
    "JobFileError",
    "JobResult",
    "LineError",
    "OnEvent",
    "Outcome",
    "OutputExists",
    "classify",
    "estimate_job",
    "exclusive",
    "iter_jobs",
    "planned_result",
    "read_jobs",
]
