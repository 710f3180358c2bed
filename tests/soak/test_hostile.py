"""Hostile input: forged callbacks, replays, and answers that break the schema.

- N mutated signatures/timestamps/ids (quick 2000, full 10,000): every one is
  rejected by verify_callback with InvalidCallback, nothing else.
- A callback delivered twice (and replayed by hand) ends a wait exactly once.
- Answers with schema violations (hypothesis, derandomized): the SDK raises
  nothing but a typed KlingError.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import apikley_kling as ak
import httpx
import pytest
from apikley_kling import Kling, ReplayGuard, VirtualClock, sign_callback, verify_callback
from apikley_kling.simulator import Delivery, Simulator, Timings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import FULL, size

KEY = "whsec-hostile"
API_KEY = "sk-hostile"
BASE = "https://api.hostile.example"


def _valid(clock: VirtualClock, task_id: str = "task_kling_1") -> tuple[dict[str, str], bytes]:
    ts = str(int(clock.time()))
    body = json.dumps({"code": 200, "msg": "success", "data": {"taskId": task_id, "state": "success"}}).encode()
    return {"X-Webhook-Timestamp": ts, "X-Webhook-Signature": sign_callback(task_id, ts, KEY)}, body


def _mutate(
    rng: random.Random, headers: dict[str, str], body: bytes, clock: VirtualClock
) -> tuple[dict[str, str], bytes]:
    """One hostile variant of a valid callback; never equal to a valid one."""
    h = dict(headers)
    sig, ts = h["X-Webhook-Signature"], h["X-Webhook-Timestamp"]
    kind = rng.randrange(10)
    if kind == 0:  # flip one character of the signature
        i = rng.randrange(len(sig))
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
        h["X-Webhook-Signature"] = sig[:i] + rng.choice(alphabet.replace(sig[i], "")) + sig[i + 1 :]
    elif kind == 1:  # flip one bit of the raw digest
        raw = bytearray(base64.b64decode(sig))
        raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        h["X-Webhook-Signature"] = base64.b64encode(bytes(raw)).decode()
    elif kind == 2:  # truncated or extended signature
        h["X-Webhook-Signature"] = sig[: rng.randrange(len(sig))] if rng.random() < 0.5 else sig + "A"
    elif kind == 3:  # another timestamp, old signature
        h["X-Webhook-Timestamp"] = str(int(ts) + rng.choice([-1, 1]) * rng.randrange(1, 10_000))
    elif kind == 4:  # correctly signed but stale or from the future
        off = rng.choice([-1, 1]) * rng.randrange(301, 10**7)
        new_ts = str(int(ts) + off)
        h["X-Webhook-Timestamp"] = new_ts
        h["X-Webhook-Signature"] = sign_callback("task_kling_1", new_ts, KEY)
    elif kind == 5:  # signed for another task
        h["X-Webhook-Signature"] = sign_callback(f"task_kling_{rng.randrange(2, 10**9)}", ts, KEY)
    elif kind == 6:  # signed with another key
        h["X-Webhook-Signature"] = sign_callback("task_kling_1", ts, KEY + rng.choice(["x", "-", "0"]))
    elif kind == 7:  # a header missing or empty
        name = rng.choice(["X-Webhook-Timestamp", "X-Webhook-Signature"])
        if rng.random() < 0.5:
            del h[name]
        else:
            h[name] = ""
    elif kind == 8:  # body names another task (same signature)
        doc = json.loads(body)
        doc["data"]["taskId"] = "task_kling_" + str(rng.randrange(2, 10**9))
        body = json.dumps(doc).encode()
    else:  # junk: random bytes as the signature or timestamp, non-ASCII included
        junk = "".join(chr(rng.randrange(1, 0x2FF)) for _ in range(rng.randrange(0, 60)))
        h[rng.choice(["X-Webhook-Timestamp", "X-Webhook-Signature"])] = junk
    return h, body


def test_mutated_callbacks_all_rejected() -> None:
    n = size(2000, 10_000)
    clock = VirtualClock(start=1_765_000_000)
    headers, body = _valid(clock)
    verify_callback(headers, body, KEY, clock=clock)  # the original is accepted: the mutations are what fail
    rng = random.Random(1234)
    rejected = 0
    for _ in range(n):
        h, b = _mutate(rng, headers, body, clock)
        if h == headers and b == body:
            continue
        with pytest.raises(ak.InvalidCallback):
            verify_callback(h, b, KEY, clock=clock)
        rejected += 1
    assert rejected >= n * 0.99


class _PumpClock(VirtualClock):
    """Each sleep also lets the simulator send the callbacks that fell due."""

    sim: Simulator | None = None

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.sim is not None:
            self.sim.run_due()


def test_replayed_callbacks_end_a_wait_once() -> None:
    clock = _PumpClock()
    guard = ReplayGuard()
    accepted: list[str] = []
    replays: list[str] = []
    inbox = ak.CallbackInbox()
    deliveries: list[Delivery] = []

    def receiver(delivery: Delivery) -> int:
        deliveries.append(delivery)
        try:
            task = verify_callback(delivery.headers, delivery.body, KEY, replay_guard=guard, clock=clock)
        except ak.ReplayedCallback:
            replays.append(delivery.task_id)
            return 409
        accepted.append(task.id)
        inbox.notify(task.id)
        return 200

    sim = Simulator(
        clock=clock,
        api_keys=(API_KEY,),
        webhook_key=KEY,
        sender=receiver,
        external_images="placeholder",
        timings=Timings(callback_mode="twice", generation=40.0),
    )
    clock.sim = sim
    n = 10
    with Kling(api_key=API_KEY, base_url=sim.base_url, transport=sim.sync_transport(), clock=clock, inbox=inbox) as k:
        ids = [
            k.tasks.create("replay", image_url="https://images.example/a.png", callback_url="http://127.0.0.1:9/cb").id
            for _ in range(n)
        ]
        for tid in ids:
            before = sim.counters.requests["recordInfo"]
            assert k.tasks.wait(tid).state is ak.TaskState.SUCCESS
            assert sim.counters.requests["recordInfo"] - before >= 1
        # Replaying every delivery by hand afterwards: all refused, no wait is woken again.
        for d in list(deliveries):
            receiver(d)
        for tid in ids:
            assert not inbox.pending(tid)
            before = sim.counters.requests["recordInfo"]
            assert k.tasks.wait(tid).state is ak.TaskState.SUCCESS
            assert sim.counters.requests["recordInfo"] - before == 1  # done: one query, no second wake-up
    assert sorted(accepted) == sorted(ids)  # each callback accepted exactly once
    assert len(replays) == n + 2 * n  # the "twice" duplicate, then the two replays by hand


# -- answers that break the schema --------------------------------------------

_RECORD: dict[str, Any] = {
    "taskId": "t1",
    "model": "kling/v2-1-standard",
    "state": "success",
    "param": json.dumps({"model": "kling/v2-1-standard", "input": {"prompt": "p", "image_url": "https://x/i.png"}}),
    "resultJson": json.dumps({"resultUrls": ["https://files.example/v.mp4"]}),
    "failCode": None,
    "failMsg": None,
    "costTime": 1000,
    "completeTime": 1765187850581,
    "createTime": 1765187766581,
    "updateTime": 1765187766581,
}

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def _broken_record(draw: st.DrawFn) -> Any:
    rec = dict(_RECORD)
    for name in draw(st.sets(st.sampled_from(sorted(rec)), max_size=4)):
        if draw(st.booleans()):
            del rec[name]
        else:
            rec[name] = draw(_json_values)
    return rec


@st.composite
def _answer(draw: st.DrawFn) -> tuple[int, bytes, dict[str, str]]:
    status = draw(st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 404, 429, 455, 500, 502, 503, 505, 599]))
    headers = {"content-type": draw(st.sampled_from(["application/json", "text/html", "text/plain", ""]))}
    if draw(st.booleans()):
        headers["retry-after"] = draw(st.sampled_from(["1", "-5", "abc", "1e308", "Wed, 21 Oct 2015 07:28:00 GMT", ""]))
    kind = draw(st.integers(0, 5))
    if kind == 0:  # an envelope with a broken record
        doc: Any = {"code": draw(st.sampled_from([200, 200, 400, 500, 501, 429, "200", None, 3.5])), "msg": "success"}
        doc["data"] = draw(_broken_record())
        body = json.dumps(doc).encode()
    elif kind == 1:  # HTTP 200 with an error code, or an envelope of wrong types
        doc = {
            "code": draw(_json_values | st.sampled_from([401, 402, 404, 422, 429, 455, 500, 501, 505])),
            "msg": draw(_json_values),
        }
        if draw(st.booleans()):
            doc["data"] = draw(_json_values)
        body = json.dumps(doc).encode()
    elif kind == 2:  # any JSON at all
        body = json.dumps(draw(_json_values)).encode()
    elif kind == 3:  # random bytes
        body = draw(st.binary(max_size=300))
    elif kind == 4:  # a giant body (a long msg or a huge record)
        big = "x" * draw(st.sampled_from([10_000, 1_000_000, 5_000_000]))
        body = json.dumps(
            {"code": draw(st.sampled_from([200, 500])), "msg": big, "data": {**_RECORD, "failMsg": big}}
        ).encode()
    else:  # truncated valid JSON
        full = json.dumps({"code": 200, "msg": "success", "data": _RECORD}).encode()
        body = full[: draw(st.integers(0, len(full) - 1))]
    return status, body, headers


@settings(
    max_examples=3000 if FULL else 300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(answer=_answer(), call=st.sampled_from(["get", "create", "credits", "download_url", "wait"]))
def test_schema_violations_raise_only_typed_errors(answer: tuple[int, bytes, dict[str, str]], call: str) -> None:
    status, body, headers = answer

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=headers)

    clock = VirtualClock()
    with Kling(api_key=API_KEY, base_url=BASE, transport=httpx.MockTransport(handler), clock=clock, max_retries=1) as k:
        try:
            if call == "get":
                result: Any = k.tasks.get("t1")
                assert isinstance(result, ak.Task) and result.id == "t1"
            elif call == "create":
                result = k.tasks.create("p", image_url="https://x/i.png")
                assert isinstance(result, ak.Task) and result.id
            elif call == "credits":
                result = k.credits()
                assert isinstance(result, float)
            elif call == "download_url":
                result = k.files.download_url("https://files.example/v.mp4")
                assert isinstance(result, str) and result
            else:
                result = k.tasks.wait("t1", timeout=60)
                assert isinstance(result, ak.Task) and result.state is ak.TaskState.SUCCESS
        except ak.KlingError as exc:
            assert API_KEY not in str(exc)
            str(exc), repr(exc)  # both render
