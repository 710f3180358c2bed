"""The Starlette app: routes exactly as the spec names them, plus /sim/files for stored files.

Every API answer is the envelope {code, msg, data}. By default errors travel
with HTTP 200 and the code in the body, as the real service mostly does;
`Simulator(mirror_http_status=True)` makes the HTTP status follow the code.
Injected faults (status_*, html_502, ...) always use the status they name.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from . import validation
from .faults import TASK_KINDS, Fault
from .transports import DROP_HEADER

if TYPE_CHECKING:
    from .service import Simulator

_JSON = "application/json"
_MSGS = {
    400: "taskId is required",
    401: "You do not have access permissions",
    402: "Insufficient credits",
    404: "Task not found",
    429: "Rate limited, please try again later",
    455: "System maintenance, please try again later",
    500: "Internal server error",
    501: "Generation failed",
    505: "Feature disabled",
}
_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


class Answer:
    """What a handler decided; the wrapper turns it into an HTTP response."""

    __slots__ = ("code", "data", "headers", "msg")

    def __init__(self, code: int, msg: str | None = None, data: Any = None, headers: dict[str, str] | None = None):
        self.code = code
        self.msg = msg if msg is not None else ("success" if code == 200 else _MSGS.get(code, "error"))
        self.data = data
        self.headers = headers


class DropResponse(Response):
    """Ends the exchange without an answer: a closed socket when served, a marked answer in-process."""

    def __init__(self, sim: Simulator) -> None:
        super().__init__(status_code=599, headers={DROP_HEADER: "1"})
        self._sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._sim._abort_connection(scope):
            # Let connection_lost run so the server sees a disconnect rather than a silent app.
            for _ in range(3):
                await asyncio.sleep(0)
            return
        await super().__call__(scope, receive, send)


Handler = Callable[[Request, str, Fault | None], Awaitable[Answer | Response]]


class _Answers:
    """Envelopes and fault answers, shaped as the service shapes them."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def envelope(self, answer: Answer, *, upload: bool = False, status: int | None = None) -> Response:
        body: dict[str, Any] = {"code": answer.code, "msg": answer.msg, "data": answer.data}
        if upload:
            body = {"success": answer.code == 200, **body}
        if status is None:
            status = answer.code if (self.sim.mirror_http_status and answer.code != 200) else 200
        return Response(_dumps(body), status_code=status, headers=answer.headers, media_type=_JSON)

    def fault(self, fault: Fault, upload: bool) -> Response:
        kind = fault.kind
        if kind == "html_502":
            return Response(_HTML_502, status_code=502, media_type="text/html")
        if kind == "malformed_json":
            return Response(b'{"code":200,"msg":"success","data":{"taskId":"task_kl', media_type=_JSON)
        if kind == "http200_error":
            return self.envelope(Answer(fault.code, fault.msg), upload=upload, status=200)
        code = int(kind.removeprefix("status_"))
        headers = {"Retry-After": str(math.ceil(fault.retry_after))} if code == 429 else None
        return self.envelope(Answer(code, fault.msg, headers=headers), upload=upload, status=code)

    def api(self, route: str, handler: Handler, *, upload: bool = False) -> Callable[[Request], Awaitable[Response]]:
        """An API endpoint: counted, faults decided, key and rate checked, the handler's answer enveloped."""
        sim = self.sim
        counters = sim.counters
        faults = sim.faults

        async def endpoint(request: Request) -> Response:
            counters.requests[route] += 1
            fault = faults.decide(route) if faults else None
            if fault is not None:
                counters.faults_injected[fault.kind] += 1
                if fault.kind == "drop_before_read":
                    return DropResponse(sim)
                if fault.kind == "slow":
                    await sim.clock.asleep(fault.delay)
                    fault = None
                elif fault.kind not in TASK_KINDS:
                    return self.fault(fault, upload)
            key = sim._authenticate(request.headers.get("authorization"))
            if key is None:
                return self.envelope(Answer(401), upload=upload)
            wait = sim._rate_wait(key)
            if wait > 0:
                headers = {"Retry-After": str(max(1, math.ceil(wait)))}
                return self.envelope(Answer(429, headers=headers), upload=upload)
            result = await handler(request, key, fault)
            if isinstance(result, Response):
                return result
            return self.envelope(result, upload=upload)

        return endpoint


class _TooLarge(Exception):
    pass


def _capped(request: Request, limit: int) -> Request:
    """`request` whose body may not pass `limit` bytes: refused on its Content-Length before a byte is read,
    else on the running count as it streams in (a chunked or lying sender), never buffered whole first."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    receive = request.receive
    count = 0

    async def counted() -> Message:
        nonlocal count
        message = await receive()
        count += len(message.get("body", b""))
        if count > limit:
            raise _TooLarge
        return message

    return Request(request.scope, counted)


def _too_large(limit: int) -> Answer:
    # Connection: close, so that the server drops the rest of the body instead of reading it to keep the connection.
    return Answer(422, f"body: larger than {limit} bytes", headers={"Connection": "close"})


FORM_OVERHEAD = 64 * 1024


async def _json_body(request: Request, limit: int) -> tuple[Any, Answer | None]:
    try:
        raw = await _capped(request, limit).body()
    except _TooLarge:
        return None, _too_large(limit)
    try:
        return json.loads(raw), None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, Answer(422, "body: must be a JSON object")


class _Handlers:
    """One method per operation of the spec; each answers what the service answers."""

    def __init__(self, sim: Simulator, answers: _Answers) -> None:
        self.sim = sim
        self.answers = answers

    async def create_task(self, request: Request, key: str, fault: Fault | None) -> Answer | Response:
        body, problem = await _json_body(request, self.sim.json_max_bytes)
        if problem is not None:
            return problem
        # The body's model picks the schema (the spec's discriminator); unknown or missing is a 422 on `model`.
        model, msg = validation.check_create(body)
        if msg is not None or model is None:
            return Answer(422, msg)
        outcome = self.sim._create_task(key, model, body, fault)
        if isinstance(outcome, Answer):
            return outcome
        if fault is not None and fault.kind == "drop_after_record":
            return DropResponse(self.sim)
        return Answer(200, data={"taskId": outcome})

    async def record_info(self, request: Request, key: str, fault: Fault | None) -> Answer | Response:
        task_id = request.query_params.get("taskId")
        if not task_id:
            return Answer(400)
        answer = self.sim._record_answer(key, task_id)
        if answer is None:
            return Answer(404)
        return Response(answer, media_type=_JSON)

    async def credit(self, request: Request, key: str, fault: Fault | None) -> Answer:
        return Answer(200, data=self.sim.credits(key))

    async def download_url(self, request: Request, key: str, fault: Fault | None) -> Answer:
        body, problem = await _json_body(request, self.sim.json_max_bytes)
        if problem is not None:
            return problem
        msg = validation.check("DownloadUrlRequest", body)
        if msg is not None:
            return Answer(422, msg)
        url = self.sim._temporary_url(body["url"])
        if url is None:
            return Answer(422, "url: not a file generated by this service")
        return Answer(200, data=url)

    async def stream_upload(self, request: Request, key: str, fault: Fault | None) -> Answer:
        # The form's own fields are small; the file part may take upload_max_bytes, plus the form's framing.
        limit = self.sim.upload_max_bytes + FORM_OVERHEAD
        try:
            form = await _capped(request, limit).form(max_part_size=self.sim.upload_max_bytes)
        except _TooLarge:
            return _too_large(limit)
        except Exception as exc:
            return Answer(422, f"body: not a valid multipart form ({exc})")
        try:
            upload = form.get("file")
            fields: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
            if upload is not None and not isinstance(upload, str):
                fields["file"] = "<binary>"
            msg = validation.check("FileStreamUploadRequest", fields)
            if msg is not None:
                return Answer(422, msg)
            if upload is None or isinstance(upload, str):
                return Answer(422, "file: must be a file")
            data = await upload.read()
            name = fields.get("fileName") or upload.filename
            return self.sim._store_upload(key, data, fields["uploadPath"], name, upload.content_type)
        finally:
            await form.close()

    async def base64_upload(self, request: Request, key: str, fault: Fault | None) -> Answer:
        body, problem = await _json_body(request, self.sim.base64_max_bytes)
        if problem is not None:
            return problem
        msg = validation.check("FileBase64UploadRequest", body)
        if msg is not None:
            return Answer(422, msg)
        text: str = body["base64Data"]
        declared = None
        if text.startswith("data:"):
            header, _, text = text.partition(",")
            if not header.endswith(";base64"):
                return Answer(422, "base64Data: data URL must be base64-encoded")
            declared = header[5:].removesuffix(";base64") or None
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return Answer(422, "base64Data: not valid base64")
        return self.sim._store_upload(key, data, body["uploadPath"], body.get("fileName"), declared)

    async def url_upload(self, request: Request, key: str, fault: Fault | None) -> Answer:
        body, problem = await _json_body(request, self.sim.json_max_bytes)
        if problem is not None:
            return problem
        msg = validation.check("FileUrlUploadRequest", body)
        if msg is not None:
            return Answer(422, msg)
        found = self.sim._own_file(body["fileUrl"])
        if found is None:
            return Answer(422, "fileUrl: cannot fetch (the simulator fetches only its own, unexpired URLs)")
        data = await self.sim._file_bytes(found)
        name = body.get("fileName") or found.name
        return self.sim._store_upload(key, data, body["uploadPath"], name, found.mime)

    async def files(self, request: Request) -> Response:
        sim = self.sim
        sim.counters.requests["files"] += 1
        fault = sim.faults.decide("files") if sim.faults else None
        if fault is not None:
            sim.counters.faults_injected[fault.kind] += 1
            if fault.kind == "drop_before_read":
                return DropResponse(sim)
            if fault.kind == "slow":
                await sim.clock.asleep(fault.delay)
            else:
                return self.answers.fault(fault, False)
        stored = sim._served_file(
            request.path_params["file_id"], request.path_params["name"], request.query_params.get("token")
        )
        if stored is None:
            return Response(b"Not Found", status_code=404, media_type="text/plain")
        data = await sim._file_bytes(stored)
        return _ranged(request, data, stored.mime)


def build_app(sim: Simulator) -> Starlette:
    answers = _Answers(sim)
    h = _Handlers(sim, answers)
    api = answers.api
    upload = "/file-upload/api"
    routes = [
        Route("/api/v1/jobs/createTask", api("createTask", h.create_task), methods=["POST"]),
        Route("/api/v1/jobs/recordInfo", api("recordInfo", h.record_info), methods=["GET"]),
        Route("/api/v1/chat/credit", api("credit", h.credit), methods=["GET"]),
        Route("/api/v1/common/download-url", api("downloadUrl", h.download_url), methods=["POST"]),
        Route(f"{upload}/file-stream-upload", api("fileStreamUpload", h.stream_upload, upload=True), methods=["POST"]),
        Route(f"{upload}/file-base64-upload", api("fileBase64Upload", h.base64_upload, upload=True), methods=["POST"]),
        Route(f"{upload}/file-url-upload", api("fileUrlUpload", h.url_upload, upload=True), methods=["POST"]),
        Route("/sim/files/{file_id}/{name:path}", h.files, methods=["GET", "HEAD"]),
    ]
    return Starlette(routes=routes)


def _ranged(request: Request, data: bytes, mime: str) -> Response:
    """One byte range (RFC 9110 14.1.2) or the whole file; several ranges get the whole file."""
    size = len(data)
    headers = {"Accept-Ranges": "bytes"}
    spec = request.headers.get("range")
    if spec:
        match = _RANGE.match(spec.strip())
        if match and (match[1] or match[2]):
            if match[1]:
                start = int(match[1])
                end = min(int(match[2]), size - 1) if match[2] else size - 1
            else:
                start = max(0, size - int(match[2]))
                end = size - 1
            if start >= size or start > end:
                headers["Content-Range"] = f"bytes */{size}"
                return Response(b"", status_code=416, headers=headers)
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            return _body(request, data[start : end + 1], 206, headers, mime)
    return _body(request, data, 200, headers, mime)


def _body(request: Request, data: bytes, status: int, headers: dict[str, str], mime: str) -> Response:
    if request.method == "HEAD":
        headers = {**headers, "Content-Length": str(len(data))}
        return Response(None, status_code=status, headers=headers, media_type=mime)
    return Response(data, status_code=status, headers=headers, media_type=mime)


async def run_sync(fn: Callable[[], bytes]) -> bytes:
    return await anyio.to_thread.run_sync(fn)
