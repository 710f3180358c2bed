"""Callbacks: a local receiver that checks signatures and ends the wait as soon as a task is done.

    python examples/callbacks.py

The simulator is served on 127.0.0.1 and signs its callbacks with a webhook
key; the receiver below verifies each one (HMAC, timestamp, replay) with
`verify_callback` and drops the task id into the client's inbox. The provider
signs only taskId + timestamp, not the body, so the wait confirms the result
with one query before anyone trusts the video URL. Polling stays the fallback:
callbacks can arrive late, twice, or never.

For a real account, expose a receiver like this one (or `kling listen`) on a
public https URL and pass it as callback_url.
"""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from apikley_kling import InvalidCallback, Kling, ReplayGuard, verify_callback
from apikley_kling.simulator import DEFAULT_API_KEY, Simulator, Timings

HERE = Path(__file__).resolve().parent
OUT = Path(os.environ.get("EXAMPLES_OUT", HERE.parent / "out"))
WEBHOOK_KEY = "whsec-example-only"


def start_receiver(kling: Kling) -> ThreadingHTTPServer:
    guard = ReplayGuard()

    class Receiver(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                task = verify_callback(dict(self.headers.items()), body, WEBHOOK_KEY, replay_guard=guard)
            except InvalidCallback as exc:
                print(f"receiver: rejected a callback: {exc}")
                self.send_response(401)
            else:
                print(f"receiver: verified callback, task {task.id} is {task.state.value}")
                kling.callbacks.notify(task.id)  # wakes the wait below at once
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return server


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    # A real clock here: the callback travels over real HTTP. Short timings keep it quick.
    sim = Simulator(webhook_key=WEBHOOK_KEY, timings=Timings(waiting=0.2, queuing=0.3, generation=1.0))
    with sim.serve(port=0) as url, Kling(DEFAULT_API_KEY, base_url=url, allow_insecure_http=True) as kling:
        receiver = start_receiver(kling)
        callback_url = f"http://127.0.0.1:{receiver.server_address[1]}/kling"
        try:
            task = kling.tasks.create(
                "Waves roll in as the light turns gold",
                image=HERE / "assets" / "lighthouse.png",
                callback_url=callback_url,
            )
            print(f"created {task.id}; callbacks go to {callback_url}")
            # The receiver is running, so polling is only a safety net: the callback ends the wait.
            done = kling.tasks.wait(task.id, timeout=120, expect_callbacks=True)
            path = kling.download(done, OUT / "callbacks.mp4")
            print(f"saved {path} after {sim.counters.requests['recordInfo']} status queries")
        finally:
            receiver.shutdown()
            receiver.server_close()


if __name__ == "__main__":
    main()
