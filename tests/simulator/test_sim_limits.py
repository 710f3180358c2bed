"""The simulator's size limits (enforced before a body is read) and its retention policy (issue 11, row 11)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from apikley_kling.clock import VirtualClock
from apikley_kling.simulator import Limits, Simulator, Timings
from conftest import AUTH, BASE64, CREATE, RECORD, STREAM, create, upload

KEY_HEADER = f"Authorization: {AUTH['Authorization']}\r\n".encode()


def _answer_to_head(port: int, head: bytes, chunks: int = 0, chunk: bytes = b"", first: bytes = b"") -> bytes:
    """Send a request head (and maybe some chunks of a body that never ends); the answer, bounded in time."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(head)
            if first:
                s.sendall(b"%x\r\n%s\r\n" % (len(first), first))
            for _ in range(chunks):
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the rest was sent: what these tests want; read the answer
        got = b""
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in got or b'"code"' not in got:
            assert time.monotonic() < deadline, "no answer: the server is reading the body"
            try:
                part = s.recv(65536)
            except TimeoutError:
                raise AssertionError("no answer: the server is reading the body") from None
            if not part:
                break
            got += part
        return got


@pytest.fixture
def served() -> Iterator[tuple[int, Simulator]]:
    sim = Simulator(limits=Limits(upload_max_bytes=1024 * 1024))
    with sim.serve(port=0) as url:
        yield int(url.rsplit(":", 1)[1]), sim
    sim.close()


@pytest.mark.parametrize("path", [CREATE, BASE64, STREAM])
def test_a_body_announced_too_big_is_refused_unread(served: tuple[int, Simulator], path: str) -> None:
    port, _ = served
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n".encode() + KEY_HEADER + b"\r\n"
    answer = _answer_to_head(port, head)
    assert b"larger than" in answer and b'"code":422' in answer.replace(b" ", b"")


PART = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'


@pytest.mark.parametrize(
    ("path", "mime", "first"),
    [(CREATE, "application/json", b""), (STREAM, "multipart/form-data; boundary=b", PART)],
)
def test_a_streamed_body_is_cut_off_at_the_limit(
    served: tuple[int, Simulator], path: str, mime: str, first: bytes
) -> None:
    """Chunked, so no length to trust: refused once the running count passes the limit, the rest never read."""
    port, _ = served
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: {mime}\r\n".encode()
    head += KEY_HEADER + b"\r\n"
    answer = _answer_to_head(port, head, chunks=40, chunk=b" " * 65536, first=first)  # 2.5 MiB
    assert b"larger than" in answer


def test_deep_json_is_a_422_not_a_500(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim()
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        r = c.post(CREATE, content=b"[" * 200_000, headers={"Content-Type": "application/json"})
        assert r.status_code != 500 and r.json()["code"] == 422
        assert c.post(CREATE, content=b" " * (sim.limits.json_max_bytes + 1)).json()["msg"].endswith("bytes")


def test_expired_uploads_and_tasks_actually_go(make_sim: Callable[..., Simulator], clock: VirtualClock) -> None:
    sim = make_sim(limits=Limits(file_ttl=60.0, result_ttl=120.0), timings=Timings(generation=10.0))
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        url = upload(c, name="old.png")
        task_id = create(c, url)
        clock.advance(61)
        upload(c, name="new.png")  # each upload and create applies the policy
        assert sorted(f.name for f in sim.files() if f.task_id is None) == ["new.png"]
        clock.advance(200)  # the task ended about 15 s after its create: its result is past result_ttl
        create(c, upload(c))
        assert task_id not in {t.task_id for t in sim.tasks()}
        assert c.get(RECORD, params={"taskId": task_id}).json()["code"] != 200


def test_counts_are_capped_oldest_first(make_sim: Callable[..., Simulator], clock: VirtualClock) -> None:
    sim = make_sim(limits=Limits(max_tasks=3, max_files=2), timings=Timings(generation=1.0))
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        ids = []
        for i in range(6):
            ids.append(create(c, upload(c, name=f"p{i}.png")))
            clock.advance(10)  # each ends before the next create
        assert len(sim.tasks()) <= 4 and ids[-1] in {t.task_id for t in sim.tasks()}
        assert ids[0] not in {t.task_id for t in sim.tasks()}
        assert sum(1 for f in sim.files() if f.task_id is None) <= 3
