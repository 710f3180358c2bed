"""A server in its own process, so that the measured client never shares a GIL with it.

    python -m benchmarks._server sim [--rate-limit R] [--generation-time S] [--big-bytes N] [--task]
    python -m benchmarks._server plain

Prints one JSON line ({"url", "key", "task_id", "big_url"}) once it listens on
127.0.0.1 (port 0), then serves until its stdin closes, prints the
simulator's counters as a last JSON line and exits. Both kinds run uvicorn the
same way (h11, in a thread, no access log), so their figures compare.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import threading
from collections.abc import Iterator
from typing import Any

PLAIN_BODY = (
    b'{"code":200,"msg":"success","data":{"taskId":"task_kling_1","model":"kling/v2-1-standard",'
    b'"state":"generating","param":"{}","resultJson":"","failCode":null,"failMsg":null,'
    b'"costTime":null,"completeTime":null,"createTime":1765187766581,"updateTime":1765187766581}}'
)


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 40, 200)).save(out, "PNG")
    return out.getvalue()


@contextlib.contextmanager
def _serve_plain() -> Iterator[str]:
    """A Starlette app answering a constant body, served exactly as Simulator.serve serves."""
    import socket
    import time

    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def record(request: Request) -> Response:
        return Response(PLAIN_BODY, media_type="application/json")

    app = Starlette(routes=[Route("/api/v1/jobs/recordInfo", record, methods=["GET"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # as serve.py: TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, http="h11", ws="none", lifespan="off", log_config=None, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("plain server did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _big_mp4(size: int) -> bytes:
    """Incompressible-looking but cheap: a repeated 1 MiB block of pseudo-random bytes, in the boxes
    of an MP4 (ftyp, moov, one mdat), since the SDK keeps a download only as a whole MP4."""
    import random

    block = random.Random(size).randbytes(1024 * 1024)
    head = (24).to_bytes(4, "big") + b"ftypisom" + bytes(4) + b"isomiso2" + (8).to_bytes(4, "big") + b"moov"
    rest = size - len(head)
    return head + rest.to_bytes(4, "big") + b"mdat" + (block * (rest // len(block) + 1))[: rest - 8]


def _stock(url: str, key: str, args: argparse.Namespace) -> dict[str, Any]:
    """Upload the image (and the big files), create the task if asked: what the measuring side needs."""
    import httpx
    from apikley_kling.catalog import models

    info: dict[str, Any] = {"key": key, "url": url, "big_urls": {}}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=600) as http:

        def upload(data: bytes, name: str, mime: str) -> str:
            r = http.post(
                "/file-upload/api/file-stream-upload",
                files={"file": (name, data, mime)},
                data={"uploadPath": "bench", "fileName": name},
            )
            body = r.json()
            if body.get("code") != 200:
                raise RuntimeError(f"upload failed: {body}")
            return str(body["data"]["downloadUrl"])

        image_url = info["image_url"] = upload(_png(), "bench.png", "image/png")
        if args.task:
            catalog = models()
            model = catalog[catalog.default]
            image = model.image_field
            assert image is not None, f"{model.id} takes no image"
            given = {**model.sample_input(), "prompt": "bench"}
            given[image.name] = [image_url] if image.type == "array" else image_url
            r = http.post("/api/v1/jobs/createTask", json={"model": model.id, "input": given})
            info["task_id"] = r.json()["data"]["taskId"]
        for size in args.big_bytes:
            info["big_urls"][str(size)] = upload(_big_mp4(size), f"big-{size}.bin", "application/octet-stream")
    return info


def _runway_route(sim: Any) -> Any:
    """runwayml's task GET (/v1/tasks/{id}) on the simulator's own server, answering the simulated
    task in runwayml's shape, so that runwayml's client does what ours does: one GET, one JSON decode."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from ._peers import runway_task

    async def task(request: Request) -> JSONResponse:
        record = sim.record(request.path_params["task_id"])
        done = record["state"] in ("success", "fail")
        return JSONResponse(runway_task(record["taskId"], done, record["createTime"]))

    return Route("/v1/tasks/{task_id}", task, methods=["GET"])


def _serve_sim(args: argparse.Namespace) -> None:
    from apikley_kling.simulator import DEFAULT_API_KEY, Limits, Money, Simulator, Timings

    biggest = max(args.big_bytes, default=0)
    sim = Simulator(
        limits=Limits(rate=args.rate_limit, upload_max_bytes=max(Limits().upload_max_bytes, biggest + 1)),
        timings=Timings(generation=args.generation_time, waiting=args.waiting_time, queuing=args.queuing_time),
        money=Money(credits=1e12),
    )
    sim.app.router.routes.append(_runway_route(sim))
    with sim.serve(port=0) as url:
        print(json.dumps(_stock(url, DEFAULT_API_KEY, args)), flush=True)
        sys.stdin.read()
        c = sim.counters
        counters = {
            "requests": dict(c.requests),
            "rate_limited": sum(c.rate_limited.values()),
            "tasks_created": sum(c.tasks_created.values()),
        }
    print(json.dumps({"counters": counters}), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=("sim", "plain"))
    ap.add_argument("--rate-limit", type=float, default=None)
    ap.add_argument("--generation-time", type=float, default=20.0)
    ap.add_argument("--waiting-time", type=float, default=1.0)
    ap.add_argument("--queuing-time", type=float, default=3.0)
    ap.add_argument("--big-bytes", type=int, action="append", default=[])
    ap.add_argument("--task", action="store_true", help="create one task to query")
    args = ap.parse_args()
    if args.kind == "sim":
        _serve_sim(args)
        return 0
    with _serve_plain() as url:
        print(json.dumps({"url": url, "key": "sk-sim-local", "task_id": "task_kling_1"}), flush=True)
        sys.stdin.read()
    print(json.dumps({"counters": {}}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
