"""Served over real HTTP on 127.0.0.1: sockets really close on drop faults; callbacks really arrive."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from apikley_kling.clock import VirtualClock
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator, serve_forever
from conftest import AUTH, CREATE, RECORD, create, create_body, record, upload


class Receiver:
    """A stdlib HTTP server on a free loopback port that keeps what is POSTed to it."""

    def __init__(self) -> None:
        received = self.received = []  # type: list[tuple[dict[str, str], bytes]]

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_served_mode_end_to_end_with_dropped_connections(
    make_sim: Callable[..., Simulator], receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    sim = make_sim(sender=None, webhook_key="k")  # the real httpx sender
    caplog.set_level(logging.WARNING)
    with sim.serve(port=0) as url:
        assert url.startswith("http://127.0.0.1:")
        assert sim.base_url == url
        with httpx.Client(base_url=url, headers=AUTH, trust_env=False) as c:
            image_url = upload(c)
            assert image_url.startswith(url)
            sim.faults.add("createTask", "drop_before_read")
            with pytest.raises(httpx.RemoteProtocolError):
                c.post(CREATE, json=create_body(image_url))
            assert sim.counters.tasks_created[DEFAULT_API_KEY] == 0
            sim.faults.add("createTask", "drop_after_record")
            with pytest.raises(httpx.RemoteProtocolError):
                c.post(CREATE, json={**create_body(image_url), "callBackUrl": receiver.url})
            assert sim.counters.tasks_created[DEFAULT_API_KEY] == 1
            (task,) = sim.tasks()
            sim.advance(3600)  # delivers the callback through real HTTP to the receiver
            assert len(receiver.received) == 1
            headers, body = receiver.received[0]
            assert json.loads(body)["data"]["taskId"] == task.task_id
            assert headers["X-Webhook-Signature"]
            done = record(c, task.task_id)
            video = c.get(json.loads(done["resultJson"])["resultUrls"][0], headers={"Range": "bytes=0-99"})
            assert video.status_code == 206 and len(video.content) == 100
    # The server stopped with the block; URLs made while serving stay valid in-process.
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as after:
        after.get(url + "/api/v1/chat/credit")
    assert sim.base_url == "http://localhost"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.records


async def test_async_client_against_served_simulator(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim()
    with sim.serve(port=0) as url:
        async with httpx.AsyncClient(base_url=url, headers=AUTH, trust_env=False) as c:
            sim.faults.add("recordInfo", "drop_before_read")
            with pytest.raises(httpx.RemoteProtocolError):
                await c.get(RECORD, params={"taskId": "x"})
            answer = await c.get(RECORD, params={"taskId": "x"})
            assert answer.json()["code"] == 404


def test_serve_refuses_non_loopback(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="loopback"), sim.serve(host="0.0.0.0"):
        pass


def test_serve_forever_prints_url_and_key(clock: VirtualClock) -> None:
    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=serve_forever,
        kwargs={"port": 0, "print_fn": lines.append, "stop_event": stop, "clock": clock},
        daemon=True,
    )
    thread.start()
    for _ in range(500):
        if len(lines) >= 2:
            break
        stop.wait(0.01)
    url = lines[0].rsplit(" ", 1)[1]
    assert url.startswith("http://127.0.0.1:")
    assert lines[1] == f"API key: {DEFAULT_API_KEY}"
    with httpx.Client(trust_env=False) as c:
        answer = c.get(url + "/api/v1/chat/credit", headers=AUTH).json()
    stop.set()
    thread.join(5)
    assert answer["code"] == 200
    assert not thread.is_alive()


def test_plugin_fixtures(kling_simulator: Simulator, kling_simulator_url: str, kling_api_key: str) -> None:
    assert isinstance(kling_simulator.clock, VirtualClock)
    headers = {"Authorization": f"Bearer {kling_api_key}"}
    with httpx.Client(
        transport=kling_simulator.sync_transport(), base_url=kling_simulator.base_url, headers=headers
    ) as c:
        task_id = create(c, upload(c))
        kling_simulator.advance(3600)
        assert record(c, task_id)["state"] == "success"
    assert kling_simulator_url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=kling_simulator_url, headers=headers, trust_env=False) as c:
        answer = c.post(CREATE, json=create_body("https://example.com/any.png")).json()
        assert answer["code"] == 200


def test_result_urls_follow_the_served_address(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim()
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        task_id = create(c, upload(c))
        sim.advance(3600)
        in_process = json.loads(record(c, task_id)["resultJson"])["resultUrls"][0]
        assert in_process.startswith("http://localhost/")
        with sim.serve(port=0) as url:
            served = json.loads(record(c, task_id)["resultJson"])["resultUrls"][0]
            assert served == url + in_process.removeprefix("http://localhost")
        assert json.loads(record(c, task_id)["resultJson"])["resultUrls"][0] == in_process


def test_plugin_default_key_matches_the_simulator() -> None:
    from apikley_kling import pytest_plugin

    assert pytest_plugin.DEFAULT_API_KEY == DEFAULT_API_KEY


def test_served_connections_do_not_wait_for_delayed_acks() -> None:
    """Accepted sockets have TCP_NODELAY: without it every answer waited ~40 ms for a delayed ACK."""
    import socket
    from urllib.parse import urlsplit

    sim = Simulator()
    with sim.serve(port=0) as url, httpx.Client(base_url=url, headers=AUTH) as client:
        assert client.get("/api/v1/chat/credit").json()["code"] == 200
        server = sim.servers[urlsplit(url).port]
        sockets = [p.transport.get_extra_info("socket") for p in server.server_state.connections]
        assert sockets
        for sock in sockets:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    sim.close()
