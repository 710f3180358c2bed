"""An answer of the generated client -> a value, or a typed error (the key redacted from every excerpt)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._logging import redact
from ..errors import APIError, KlingError, ProtocolError, error_for_code
from ..models import Task
from .effects import Answer
from .retry import parse_retry_after

if TYPE_CHECKING:
    from apikley_kling_api.types import Response  # type: ignore[import-untyped, unused-ignore]

__all__ = ["Decoder"]

EXCERPT = 200


def _success_data(answer: Answer) -> dict[str, Any] | None:
    """The `data` object of an HTTP 200 answer {code: 200, data: {...}}: what the generated model of a success
    accepts; None for anything else (the generated parse then decides what it is)."""
    if answer.status_code != 200:
        return None
    try:
        doc = json.loads(answer.content)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    code, data = doc.get("code"), doc.get("data")
    if code != 200 or isinstance(code, bool) or not isinstance(data, dict):
        return None
    return data


def _same_task(task: Task, task_id: str) -> Task:
    if task.id != task_id:
        raise ProtocolError(f"asked for task {task_id} but the answer is about {task.id}", task_id=task_id)
    return task


def _is_code(value: object) -> bool:
    """An envelope code the SDK can act on: an int (ErrorCode is an IntEnum), never a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class Decoder:
    """Turns generated Responses into values or typed errors; redacts the key from every excerpt."""

    secrets: frozenset[str] = field(default_factory=frozenset, repr=False)
    now: Callable[[], float] = field(default=lambda: 0.0)

    def excerpt(self, content: bytes) -> str:
        text = content[:EXCERPT].decode("utf-8", errors="replace").strip()
        return redact(text, self.secrets)

    def api_error(
        self, code: int, status: int, msg: str | None, *, task_id: str | None, headers: Mapping[str, str] | None
    ) -> APIError:
        if code < 300:  # an error answer claiming success: trust the HTTP status instead
            code = status
        cls = error_for_code(code)
        retry_after = parse_retry_after((headers or {}).get("retry-after"), self.now())
        text = redact(msg[:500], self.secrets) if msg else f"error code {code}"
        return cls(text, code=code, status=status, task_id=task_id, retry_after=retry_after)

    def unexpected(
        self, status: int, content: bytes, headers: Mapping[str, str] | None, task_id: str | None
    ) -> KlingError:
        excerpt = self.excerpt(content)
        if status >= 400:
            cls = error_for_code(status)
            retry_after = parse_retry_after((headers or {}).get("retry-after"), self.now())
            what = "an empty answer" if not content.strip() else "a non-JSON answer"
            return cls(
                f"{what} with HTTP {status}",
                status=status,
                task_id=task_id,
                excerpt=excerpt or None,
                retry_after=retry_after,
            )
        what = "an empty body" if not content.strip() else "a body that is not the API's JSON"
        return ProtocolError(f"HTTP {status} with {what}", status=status, task_id=task_id, excerpt=excerpt or None)

    def malformed(self, message: str, resp: Response[Any], task_id: str | None = None) -> ProtocolError:
        return ProtocolError(message, status=resp.status_code, task_id=task_id, excerpt=self.excerpt(resp.content))

    def envelope(self, resp: Response[Any], *, task_id: str | None = None) -> dict[str, Any]:
        """The success document ({code: 200, msg, data}) or a raised typed error."""
        from apikley_kling_api.models import ErrorEnvelope  # type: ignore[import-untyped, unused-ignore]

        parsed = resp.parsed
        headers = resp.headers
        if isinstance(parsed, ErrorEnvelope) and not _is_code(parsed.code):
            # The generated model lets an anyOf through when nothing matched (null, text, 12.5).
            raise self.malformed("the answer's envelope has no usable code", resp, task_id)
        if isinstance(parsed, ErrorEnvelope) and int(parsed.code) < 300:
            # The spec's success schemas require data; only an envelope that
            # matched none of them ends up here with a success code.
            raise self.malformed("the answer says success but carries no usable data", resp, task_id)
        if isinstance(parsed, ErrorEnvelope):
            msg = parsed.msg if isinstance(parsed.msg, str) and parsed.msg else None
            if msg is None and isinstance(parsed.message, str) and parsed.message:
                msg = parsed.message
            raise self.api_error(int(parsed.code), resp.status_code, msg, task_id=task_id, headers=headers)
        if parsed is None or not hasattr(parsed, "to_dict"):
            raise self.unexpected(resp.status_code, resp.content, headers, task_id)
        doc: dict[str, Any] = parsed.to_dict()
        if resp.status_code >= 400:
            # HTTP says error although the body says 200: believe neither blindly; report it.
            raise self.api_error(resp.status_code, resp.status_code, doc.get("msg"), task_id=task_id, headers=headers)
        return doc

    def task_id(self, resp: Response[Any]) -> str:
        doc = self.envelope(resp)
        data = doc.get("data")
        tid = data.get("taskId") if isinstance(data, Mapping) else None
        if not isinstance(tid, str) or not tid:
            raise self.malformed("createTask answered success without data.taskId", resp)
        return tid

    def parsed(self, answer: Answer, task_id: str | None) -> Response[Any]:
        """A lazy answer's generated parse; a body it cannot read is the error the request loop makes of it."""
        from apikley_kling_api.errors import UnexpectedBody  # type: ignore[import-untyped, unused-ignore]

        try:
            resp: Response[Any] = answer.parse()
        except UnexpectedBody as exc:
            raise self.unexpected(exc.status_code, exc.content, exc.headers, task_id) from exc
        return resp

    def task(self, resp: Response[Any] | Answer, task_id: str) -> Task:
        """The task a query answer describes. A lazy answer that is a plain success is read from its JSON in one
        pass (Task.from_api checks every field it reads); anything else goes through the generated parse."""
        if isinstance(resp, Answer):
            data = _success_data(resp)
            if data is not None:
                return _same_task(Task.from_api(data, task_id=task_id), task_id)
            resp = self.parsed(resp, task_id)
        doc = self.envelope(resp, task_id=task_id)
        data = doc.get("data")
        if data is None:
            raise ProtocolError("task query answered success without data", task_id=task_id, status=resp.status_code)
        return _same_task(Task.from_api(data, task_id=task_id), task_id)

    def credits(self, resp: Response[Any]) -> float:
        data = self.envelope(resp).get("data")
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise ProtocolError("credits answer has no number in data", status=resp.status_code)
        return float(data)

    def download_url(self, resp: Response[Any]) -> str:
        data = self.envelope(resp).get("data")
        if not isinstance(data, str) or not data:
            raise ProtocolError("download-url answer has no URL in data", status=resp.status_code)
        return data

    def upload(self, resp: Response[Any]) -> str:
        from apikley_kling_api.models import ErrorEnvelope, FileUploadResult  # type: ignore[import-untyped, unused-ignore]
        from apikley_kling_api.types import Unset

        parsed = resp.parsed
        if isinstance(parsed, ErrorEnvelope):
            self.envelope(resp)  # raises
        if not isinstance(parsed, FileUploadResult):
            raise self.unexpected(resp.status_code, resp.content, resp.headers, None)
        code = parsed.code if isinstance(parsed.code, int) else resp.status_code
        msg = parsed.msg if isinstance(parsed.msg, str) else None
        if msg is None:
            extra = parsed.additional_properties.get("message")
            msg = extra if isinstance(extra, str) else None
        if code != 200 or parsed.success is False or resp.status_code >= 400:
            raise self.api_error(
                code if code != 200 else resp.status_code, resp.status_code, msg, task_id=None, headers=resp.headers
            )
        data = parsed.data
        url: object = None
        if data is not None and not isinstance(data, Unset):
            url = data.get("downloadUrl") if isinstance(data, Mapping) else getattr(data, "download_url", None)
        if not isinstance(url, str) or not url:
            raise self.malformed("upload answered success without data.downloadUrl", resp)
        return url
