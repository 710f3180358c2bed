"""The exit codes of `kling`, and the one map from an error to its code (the CLI and the batch both use it).

Stable; scripts may rely on them:

    ====  ==========================================================================
    code  meaning
    ====  ==========================================================================
    0     success
    1     failed: the task failed (generation failed, state "fail"); for
          contract-check, the server broke its contract (a finding)
    2     usage or bad input (bad option, a field the model refuses, a missing or
          oversized file, bad job file, unknown task id); nothing was sent for a
          local input error
    3     authentication or configuration (no API key, key refused: 401)
    4     insufficient credits (402; or `kling batch`'s balance check: the balance
          cannot pay for the jobs to send, nothing was sent)
    5     timeout: the task is still running server-side (`kling wait TASK` goes on)
    6     ambiguous submit: a create was sent and its answer lost; a paid task may
          exist. Never resent silently (see `kling batch --resubmit-ambiguous`)
    7     any other API or transport error (429/455/5xx after retries, network,
          malformed answers, feature disabled)
    8     spend limit: a create refused before it was sent, its estimate would cross
          a cap (`--max-credits`, `Kling(max_spend=...)`) or its price is unknown
          under a cap; for `kling batch`, jobs were left over its cap (still pending)
    9     nothing to judge (contract-check): nothing broke, but a check had
          nothing to judge (every create failed; under --strict, a check not
          exercised)
    130   interrupted (Ctrl-C)
    ====  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

__all__ = [
    "AMBIGUOUS",
    "API",
    "AUTH",
    "CREDITS",
    "FAILED",
    "INTERRUPTED",
    "MEANINGS",
    "NOT_EXERCISED",
    "OK",
    "SPEND",
    "TIMEOUT",
    "USAGE",
    "ErrorKind",
    "for_error",
    "kind_of",
    "most_actionable",
]

OK: Final = 0
FAILED: Final = 1
USAGE: Final = 2
AUTH: Final = 3
CREDITS: Final = 4
TIMEOUT: Final = 5
AMBIGUOUS: Final = 6
API: Final = 7
SPEND: Final = 8
NOT_EXERCISED: Final = 9
INTERRUPTED: Final = 130

#: One short line per code, for `kling --help`.
MEANINGS: Final[dict[int, str]] = {
    OK: "ok",
    FAILED: "task failed (generation failed); contract-check: the server broke its contract",
    USAGE: "usage or bad input (nothing sent for a local input error)",
    AUTH: "auth/config (no key, key refused: 401)",
    CREDITS: "insufficient credits (402, or a batch the balance cannot pay for: nothing sent)",
    TIMEOUT: "timeout (the task is still running; `kling wait TASK`)",
    AMBIGUOUS: "ambiguous submit (the create may have been paid; not resent)",
    API: "other API/transport error",
    SPEND: "spend limit (a cap would be crossed, or a price is unknown under a cap; nothing sent)",
    NOT_EXERCISED: "nothing to judge (contract-check: nothing broke, but a check was not exercised)",
    INTERRUPTED: "interrupted",
}

# When several jobs of a batch end differently, the most actionable problem wins: ambiguous
# (a human must reconcile, money may be at stake) > auth > credits > spend limit > timeout > failed > input > other.
_PRIORITY: Final = (AMBIGUOUS, AUTH, CREDITS, SPEND, TIMEOUT, FAILED, USAGE, API)

ErrorKind = Literal["auth", "credits", "input", "api", "transport"]


def for_error(exc: BaseException) -> int:
    """The documented exit code for an error: SDK errors by type; an error that carries its own
    `exit_code` (the CLI's) keeps it; a missing extra (an `install_command` to run) is a usage error."""
    from . import errors as E

    own = getattr(exc, "exit_code", None)
    if isinstance(own, int) and not isinstance(own, bool):
        return own
    if getattr(exc, "install_command", None):  # SimulatorNotInstalled: the fix is a pip install
        return USAGE
    if isinstance(exc, E.AmbiguousSubmit):
        return AMBIGUOUS
    if isinstance(exc, E.TaskTimeout):
        return TIMEOUT
    if isinstance(exc, E.AuthenticationError | E.ConfigurationError):
        return AUTH
    if isinstance(exc, E.InsufficientCreditsError):
        return CREDITS
    if isinstance(exc, E.SpendLimitExceeded):
        return SPEND
    if isinstance(exc, E.GenerationFailed):
        return FAILED
    if isinstance(exc, E.ValidationError | E.BadRequestError | E.NotFoundError):
        return USAGE
    return API


def kind_of(exc: BaseException) -> ErrorKind:
    """The batch's word for an error (its JSON `error_kind`), named after the error's exit code."""
    from .errors import TransportError

    code = for_error(exc)
    if code == AUTH:
        return "auth"
    if code in (CREDITS, SPEND):
        return "credits"
    if code == USAGE:
        return "input"
    return "transport" if isinstance(exc, TransportError) else "api"


def most_actionable(codes: Iterable[int]) -> int:
    """The code to exit with when several outcomes happened at once (0 when all went well)."""
    found = set(codes)
    return next((code for code in _PRIORITY if code in found), OK)
