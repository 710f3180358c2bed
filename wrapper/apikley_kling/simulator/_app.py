"""The Starlette app: routes exactly as the spec names them, plus /sim/files for stored files.

Every API answer is the envelope {code, msg, data}. By default errors travel
with HTTP 200 and the code in the body, as the real service mostly does;
`Simulator(mirror_http_status=True)` makes the HTTP status follow the code.
Injected faults (status_*, html_502, ...) always use the status they name.

Each route is an `_Endpoint`: it counts the request and applies the route's
planned fault (the one place faults are applied), then, for the API routes,
checks the key and the rate and envelopes what its handler answers. Handlers
parse and check the request and call the Simulator's public methods; an
operation the service refuses raises `Refused`, which becomes its envelope.
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

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from . import _validation
from ._faults import TASK_KINDS, Fault
from ._transports import DROP_HEADER
from ._validation import Refused

if TYPE_CHECKING:
    from ._service import Simulator

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
    """What a handler decided; its `_Endpoint` turns it into the envelope."""

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
        if self._sim.abort_connection(scope):
            # Let connection_lost run so the server sees a disconnect rather than a silent app.
            for _ in range(3):
                await asyncio.sleep(0)
            return
        await super().__call__(scope, receive, send)


Handler = Callable[[Request, str, Fault | None], Awaitable[Answer | Response]]


def _fault_answer(fault: Fault, envelope: Callable[..., Response]) -> Response:
    """The answer a fault of the HTTP kinds (status_*, http200_error, html_502, malformed_json) sends instead."""
    kind = fault.kind
    if kind == "html_502":
        return Response(_HTML_502, status_code=502, media_type="text/html")
    if kind == "malformed_json":
        return Response(b'{"code":200,"msg":"success","data":{"taskId":"task_kl', media_type=_JSON)
    if kind == "http200_error":
        return envelope(Answer(fault.code, fault.msg), status=200)
    code = int(kind.removeprefix("status_"))
    headers = {"Retry-After": str(math.ceil(fault.retry_after))} if code == 429 else None
    return envelope(Answer(code, fault.msg, headers=headers), status=code)


class _Endpoint:
    """One route: counted, its planned fault applied, then (API routes) key and rate checked, the answer enveloped.

    A fault acts before anything is processed (drop_before_read, slow, the HTTP kinds), is handed to the handler
    (stuck, fail: they shape the task) or acts after it succeeded (drop_after_record: recorded, paid, no answer).
    """

    def __init__(self, sim: Simulator, route: str, handler: Handler, *, upload: bool = False, api: bool = True):
        self.sim, self.route, self.handler, self.upload, self.api = sim, route, handler, upload, api

    async def respond(self, request: Request) -> Response:
        sim = self.sim
        sim.counters.requests[self.route] += 1
        fault = sim.faults.decide(self.route) if sim.faults else None
        if fault is not None:
            sim.counters.faults_injected[fault.kind] += 1
            if fault.kind == "drop_before_read":
                return DropResponse(sim)
            if fault.kind == "slow":
                await sim.clock.asleep(fault.delay)
                fault = None
            elif fault.kind not in TASK_KINDS:
                return _fault_answer(fault, self.envelope)
        result = await self.answer(request, fault)
        if isinstance(result, Response):
            return result
        if fault is not None and fault.kind == "drop_after_record" and result.code == 200:
            return DropResponse(sim)
        return self.envelope(result)

    async def answer(self, request: Request, fault: Fault | None) -> Answer | Response:
        key = ""
        if self.api:
            found = self.sim.authenticate(request.headers.get("authorization"))
            if found is None:
                return Answer(401)
            key = found
            wait = self.sim.rate_wait(key)
            if wait > 0:
                return Answer(429, headers={"Retry-After": str(max(1, math.ceil(wait)))})
        try:
            return await self.handler(request, key, fault)
        except Refused as refused:
            return Answer(refused.code, refused.msg, headers=refused.headers)

    def envelope(self, answer: Answer, *, status: int | None = None) -> Response:
        body: dict[str, Any] = {"code": answer.code, "msg": answer.msg, "data": answer.data}
        if self.upload:
            body = {"success": answer.code == 200, **body}
        if status is None:
            status = answer.code if (self.sim.mirror_http_status and answer.code != 200) else 200
        return Response(_dumps(body), status_code=status, headers=answer.headers, media_type=_JSON)


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


def _too_large(limit: int) -> Refused:
    # Connection: close, so that the server drops the rest of the body instead of reading it to keep the connection.
    return Refused(422, f"body: larger than {limit} bytes", headers={"Connection": "close"})


FORM_OVERHEAD = 64 * 1024
UPLOADED = "File uploaded successfully"


async def _json_body(request: Request, limit: int, schema: str | None = None) -> Any:
    """The request's JSON body, at most `limit` bytes and (when named) satisfying `schema`; else Refused."""
    try:
        raw = await _capped(request, limit).body()
    except _TooLarge:
        raise _too_large(limit) from None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refused(422, "body: must be a JSON object") from None
    if schema is not None:
        _validation.require(schema, body)
    return body


class _Handlers:
    """One method per operation of the spec; each answers what the service answers."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def create_task(self, request: Request, key: str, fault: Fault | None) -> Answer:
        body = await _json_body(request, self.sim.limits.json_max_bytes)
        # The body's model picks the schema (the spec's discriminator); unknown or missing is a 422 on `model`.
        model, msg = _validation.check_create(body)
        if msg is not None or model is None:
            raise Refused(422, msg)
        return Answer(200, data={"taskId": self.sim.create_task(key, model, body, fault)})

    async def record_info(self, request: Request, key: str, fault: Fault | None) -> Answer | Response:
        task_id = request.query_params.get("taskId")
        if not task_id:
            return Answer(400)
        answer = self.sim.record_answer(key, task_id)
        if answer is None:
            return Answer(404)
        return Response(answer, media_type=_JSON)

    async def credit(self, request: Request, key: str, fault: Fault | None) -> Answer:
        return Answer(200, data=self.sim.credits(key))

    async def download_url(self, request: Request, key: str, fault: Fault | None) -> Answer:
        body = await _json_body(request, self.sim.limits.json_max_bytes, "DownloadUrlRequest")
        url = self.sim.download_url(body["url"])
        if url is None:
            raise Refused(422, "url: not a file generated by this service")
        return Answer(200, data=url)

    async def stream_upload(self, request: Request, key: str, fault: Fault | None) -> Answer:
        # The form's own fields are small; the file part may take upload_max_bytes, plus the form's framing.
        most = self.sim.limits.upload_max_bytes
        try:
            form = await _capped(request, most + FORM_OVERHEAD).form(max_part_size=most)
        except _TooLarge:
            raise _too_large(most + FORM_OVERHEAD) from None
        except Exception as exc:
            raise Refused(422, f"body: not a valid multipart form ({exc})") from None
        try:
            upload = form.get("file")
            fields: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
            if upload is not None and not isinstance(upload, str):
                fields["file"] = "<binary>"
            _validation.require("FileStreamUploadRequest", fields)
            if upload is None or isinstance(upload, str):
                raise Refused(422, "file: must be a file")
            data = await upload.read()
            name = fields.get("fileName") or upload.filename
            return Answer(
                200, UPLOADED, self.sim.store_upload(key, data, fields["uploadPath"], name, upload.content_type)
            )
        finally:
            await form.close()

    async def base64_upload(self, request: Request, key: str, fault: Fault | None) -> Answer:
        body = await _json_body(request, self.sim.limits.base64_max_bytes, "FileBase64UploadRequest")
        text: str = body["base64Data"]
        declared = None
        if text.startswith("data:"):
            header, _, text = text.partition(",")
            if not header.endswith(";base64"):
                raise Refused(422, "base64Data: data URL must be base64-encoded")
            declared = header[5:].removesuffix(";base64") or None
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise Refused(422, "base64Data: not valid base64") from None
        stored = self.sim.store_upload(key, data, body["uploadPath"], body.get("fileName"), declared)
        return Answer(200, UPLOADED, stored)

    async def url_upload(self, request: Request, key: str, fault: Fault | None) -> Answer:
        body = await _json_body(request, self.sim.limits.json_max_bytes, "FileUrlUploadRequest")
        found = self.sim.own_file(body["fileUrl"])
        if found is None:
            raise Refused(422, "fileUrl: cannot fetch (the simulator fetches only its own, unexpired URLs)")
        data = await self.sim.file_bytes(found)
        name = body.get("fileName") or found.name
        return Answer(200, UPLOADED, self.sim.store_upload(key, data, body["uploadPath"], name, found.mime))

    async def files(self, request: Request, key: str, fault: Fault | None) -> Response:
        params = request.path_params
        stored = self.sim.served_file(params["file_id"], params["name"], request.query_params.get("token"))
        if stored is None:
            return Response(b"Not Found", status_code=404, media_type="text/plain")
        return _ranged(request, await self.sim.file_bytes(stored), stored.mime)


def build_app(sim: Simulator) -> Starlette:
    h = _Handlers(sim)
    upload = "/file-upload/api"

    def route(path: str, name: str, handler: Handler, *methods: str, **kind: bool) -> Route:
        return Route(path, _Endpoint(sim, name, handler, **kind).respond, methods=list(methods))

    return Starlette(
        routes=[
            route("/api/v1/jobs/createTask", "createTask", h.create_task, "POST"),
            route("/api/v1/jobs/recordInfo", "recordInfo", h.record_info, "GET"),
            route("/api/v1/chat/credit", "credit", h.credit, "GET"),
            route("/api/v1/common/download-url", "downloadUrl", h.download_url, "POST"),
            route(f"{upload}/file-stream-upload", "fileStreamUpload", h.stream_upload, "POST", upload=True),
            route(f"{upload}/file-base64-upload", "fileBase64Upload", h.base64_upload, "POST", upload=True),
            route(f"{upload}/file-url-upload", "fileUrlUpload", h.url_upload, "POST", upload=True),
            route("/sim/files/{file_id}/{name:path}", "files", h.files, "GET", "HEAD", api=False),
        ]
    )


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
