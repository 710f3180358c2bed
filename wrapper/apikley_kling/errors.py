"""One error hierarchy, rooted in KlingError.

Every error carries the task id and the HTTP status where they are known, and
a short excerpt of the answer where there is one. None carries the API key:
excerpts are redacted by the client before an error is built, and no error
keeps a reference to the request headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Task
    from .pricing import Estimate

__all__ = [
    "APIError",
    "AmbiguousSubmit",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "FeatureDisabled",
    "GenerationFailed",
    "InsufficientCreditsError",
    "InvalidCallback",
    "KlingError",
    "MaintenanceError",
    "NotFoundError",
    "ProtocolError",
    "RateLimitError",
    "ReplayedCallback",
    "ServerError",
    "SpendLimitExceeded",
    "TaskTimeout",
    "TransportError",
    "ValidationError",
    "error_for_code",
]


class KlingError(Exception):
    """The root of every error this SDK raises."""

    def __init__(self, message: str, *, task_id: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.task_id = task_id
        self.status = status

    def __str__(self) -> str:
        parts = [self.message]
        if self.task_id:
            parts.append(f"task_id={self.task_id}")
        if self.status is not None:
            parts.append(f"http_status={self.status}")
        return " | ".join(parts)


class ConfigurationError(KlingError, ValueError):
    """The client was set up wrongly (no key, an insecure base URL, ...)."""


class APIError(KlingError):
    """The service answered with an error code (the body's `code` is authoritative)."""

    default_code: int | None = None

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        task_id: str | None = None,
        excerpt: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, task_id=task_id, status=status)
        self.code = code if code is not None else self.default_code
        self.msg = message
        self.excerpt = excerpt
        self.retry_after = retry_after

    def __str__(self) -> str:
        base = f"[{self.code}] {super().__str__()}" if self.code is not None else super().__str__()
        if self.excerpt:
            base += f" | answer: {self.excerpt!r}"
        return base


class BadRequestError(APIError):
    """The service refused the request as malformed (400)."""

    default_code = 400


class AuthenticationError(APIError):
    """The API key is missing, wrong or revoked (401)."""

    default_code = 401


class InsufficientCreditsError(APIError):
    """The account has too few credits for this task (402)."""

    default_code = 402


class NotFoundError(APIError):
    """The service knows no such task or file (404)."""

    default_code = 404


class ValidationError(APIError):
    """422 from the service, or a request the client refused before sending.

    `field` names the input field (a path such as `multi_prompt.0.duration` inside nested values), `model`
    the model whose schema refused it. `fields` names every field at fault when one refusal covers several
    (all the required fields a create left out); otherwise it holds `field` alone.
    """

    default_code = 422

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        model: str | None = None,
        fields: tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.field = field if field is not None or not fields else fields[0]
        self.model = model
        self.fields: tuple[str, ...] = fields if fields else ((field,) if field is not None else ())


class RateLimitError(APIError):
    """Too many requests (429); retried after the service's advice."""

    default_code = 429


class MaintenanceError(APIError):
    """The service is under maintenance (455); retried."""

    default_code = 455


class ServerError(APIError):
    """500 or any 5xx (also a proxy's HTML 502 page)."""

    default_code = 500


class GenerationFailed(APIError):
    """Code 501, or a task that ended in state `fail` (`task` holds it then)."""

    default_code = 501

    def __init__(
        self,
        message: str,
        *,
        task: Task | None = None,
        fail_code: str | None = None,
        fail_msg: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.task = task
        self.fail_code = fail_code
        self.fail_msg = fail_msg


class FeatureDisabled(APIError):
    """The feature is turned off for this account or model (505)."""

    default_code = 505


class TaskTimeout(KlingError):
    """The wait's deadline passed; the task keeps running server-side (query it later by id)."""

    def __init__(self, task_id: str, *, timeout: float | None = None, last: Task | None = None) -> None:
        state = f", last state {last.state.value}" if last is not None else ""
        super().__init__(f"task did not finish within {timeout}s{state}", task_id=task_id)
        self.timeout = timeout
        self.last = last


class AmbiguousSubmit(KlingError):
    """A create whose answer was lost after it was sent: a (paid) task may or may not exist.

    It is never resent silently. `request` is the JSON body that was sent (no
    headers), `sent_at` the wall-clock Unix time it was sent, `reason` why the
    outcome is unknown. Reconcile by looking for a task with this prompt and
    image created after `sent_at` (or with your callback), then decide.
    """

    def __init__(self, request: Mapping[str, Any], reason: str, *, sent_at: float, status: int | None = None) -> None:
        super().__init__(f"create may or may not have made a task: {reason}", status=status)
        self.request = dict(request)
        self.reason = reason
        self.sent_at = sent_at


class SpendLimitExceeded(KlingError):
    """A create refused before it was sent: its estimate would cross a cap (`Kling(max_spend=...)`, a call's
    `max_credits`), or its price is unknown under a cap and the caller did not allow that.

    `cap` names the cap ("max_spend" or "max_credits"), `limit` its credits, `spent` and `reserved` what
    the client had spent and had in flight at that moment, `estimate` the create's Estimate.
    """

    def __init__(self, cap: str, limit: float, spent: float, reserved: float, estimate: Estimate) -> None:
        if estimate.credits is None:
            why = f"its price is unknown ({estimate.reason}); allow_unknown_price=True sends it anyway"
        elif cap != "max_credits":  # a cap on many creates (a client's, a batch's): what is spent counts
            why = f"{spent:g} spent and {reserved:g} reserved, {estimate.credits:g} more would cross it"
        else:
            why = f"the estimate, {estimate.credits:g}, is above it"
        super().__init__(f"refused before sending: {cap}={limit:g} credits, {why} [{estimate}]")
        self.cap = cap
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.estimate = estimate


class TransportError(KlingError):
    """The connection failed (connect, timeout, dropped connection).

    `kind` is the failure's class name (httpx's `ConnectError`, `ReadTimeout`, ... or the download's
    `IncompleteRead`); `cause` says why in one word: "dns", "refused", "tls", "timeout", "proxy" or
    "connection" (anything else: reset, closed, cut short); `host` is the host[:port] that failed, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        cause: str = "connection",
        host: str | None = None,
        task_id: str | None = None,
    ) -> None:
        super().__init__(message, task_id=task_id)
        self.kind = kind
        self.cause = cause
        self.host = host


class ProtocolError(KlingError):
    """An answer that is not what the API promises: not JSON, wrong shape, unknown state."""

    def __init__(
        self, message: str, *, task_id: str | None = None, status: int | None = None, excerpt: str | None = None
    ) -> None:
        super().__init__(message, task_id=task_id, status=status)
        self.excerpt = excerpt

    def __str__(self) -> str:
        base = super().__str__()
        if self.excerpt:
            base += f" | answer: {self.excerpt!r}"
        return base


class UnsafeURL(ProtocolError):
    """A download (or a redirect of one) that points where the SDK does not go: not public http(s) (loopback,
    link-local such as cloud metadata, private, multicast, reserved), or from https down to http. Never retried."""

    def __init__(self, message: str, *, host: str, task_id: str | None = None) -> None:
        super().__init__(message, task_id=task_id)
        self.host = host


class InvalidCallback(KlingError):
    """A callback whose signature, timestamp or body does not check out."""


class ReplayedCallback(InvalidCallback):
    """A callback (taskId, timestamp, signature) seen before within the tolerance window."""


_BY_CODE: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    404: NotFoundError,
    422: ValidationError,
    429: RateLimitError,
    455: MaintenanceError,
    500: ServerError,
    501: GenerationFailed,
    505: FeatureDisabled,
}


def error_for_code(code: int) -> type[APIError]:
    """The class for a body code (or an HTTP status); unknown 5xx are ServerError, others APIError."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if 500 <= code <= 599:
        return ServerError
    return APIError
