"""Callbacks: the final record, signed as documented, delivered in every manner the service may use."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

import httpx
import pytest
from apikley_kling.simulator import Delivery, Simulator
from conftest import AUTH, Captured, create, record, upload

HOOK = "http://127.0.0.1:8999/hooks/kling"
KEY = "whsec-test-key"


def reference_signature(key: str, task_id: str, timestamp: str) -> str:
    mac = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


@pytest.fixture
def signed(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(webhook_key=KEY)


def _client(sim: Simulator) -> httpx.Client:
    return httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH)


def test_signed_callback_carries_the_final_record(signed: Simulator, captured: Captured) -> None:
    with _client(signed) as c:
        task_id = create(c, upload(c), callback=HOOK)
        signed.advance(23.9)
        assert captured.deliveries == []
        signed.advance(0.1)
        assert len(captured.deliveries) == 1
        delivery = captured.deliveries[0]
        assert delivery.url == HOOK
        body = delivery.json()
        assert body == {"code": 200, "msg": "success", "data": record(c, task_id)}
    timestamp = delivery.headers["X-Webhook-Timestamp"]
    assert int(timestamp) == int(signed.clock.time())
    assert hmac.compare_digest(delivery.headers["X-Webhook-Signature"], reference_signature(KEY, task_id, timestamp))
    assert signed.counters.callbacks_sent[task_id] == 1


def test_unsigned_when_no_webhook_key(sim: Simulator, captured: Captured) -> None:
    with _client(sim) as c:
        create(c, upload(c), callback=HOOK)
    sim.advance(100)
    assert len(captured.deliveries) == 1
    assert "X-Webhook-Signature" not in captured.deliveries[0].headers


def test_failed_task_callback(signed: Simulator, captured: Captured) -> None:
    signed.faults.add("createTask", "fail", fail_code="501", fail_msg="generation failed: nsfw")
    with _client(signed) as c:
        create(c, upload(c), callback=HOOK)
    signed.advance(100)
    body = captured.deliveries[0].json()
    assert body["code"] == 501
    assert (body["data"]["state"], body["data"]["failMsg"]) == ("fail", "generation failed: nsfw")


def test_mode_twice(signed: Simulator, captured: Captured) -> None:
    signed.set_callback_mode("twice")
    with _client(signed) as c:
        task_id = create(c, upload(c), callback=HOOK)
    signed.advance(100)
    assert [d.task_id for d in captured.deliveries] == [task_id, task_id]
    assert captured.deliveries[0].body == captured.deliveries[1].body
    assert signed.counters.callbacks_sent[task_id] == 2


def test_mode_late(signed: Simulator, captured: Captured) -> None:
    signed.set_callback_mode("late", delay=600)
    with _client(signed) as c:
        task_id = create(c, upload(c), callback=HOOK)
        signed.advance(100)
        assert record(c, task_id)["state"] == "success"
        assert captured.deliveries == []
        signed.advance(600)
    assert len(captured.deliveries) == 1


def test_mode_never_and_stuck(signed: Simulator, captured: Captured) -> None:
    signed.set_callback_mode("never")
    with _client(signed) as c:
        create(c, upload(c), callback=HOOK)
        signed.set_callback_mode("normal")
        signed.faults.add("createTask", "stuck")
        create(c, upload(c), callback=HOOK)
    signed.advance(10_000)
    assert captured.deliveries == []


def test_mode_out_of_order(signed: Simulator, captured: Captured) -> None:
    signed.set_callback_mode("out_of_order")
    with _client(signed) as c:
        url = upload(c)
        ids = []
        for _ in range(3):
            ids.append(create(c, url, callback=HOOK))
            signed.clock.advance(1)  # type: ignore[attr-defined]
    signed.advance(100)
    assert [d.task_id for d in captured.deliveries] == list(reversed(ids))


def test_mode_out_of_order_with_random_hold(make_sim: Callable[..., Simulator], captured: Captured) -> None:
    sim = make_sim(seed=3)
    sim.set_callback_mode("out_of_order", delay=300)
    with _client(sim) as c:
        url = upload(c)
        ids = []
        for _ in range(8):
            ids.append(create(c, url, callback=HOOK))
            sim.advance(5)
    for _ in range(100):
        sim.advance(5)
    delivered = [d.task_id for d in captured.deliveries]
    assert sorted(delivered) == sorted(ids)
    assert delivered != ids


def test_mode_forged_signature_does_not_verify(signed: Simulator, captured: Captured) -> None:
    signed.set_callback_mode("forged")
    with _client(signed) as c:
        task_id = create(c, upload(c), callback=HOOK)
    signed.advance(100)
    headers = captured.deliveries[0].headers
    expected = reference_signature(KEY, task_id, headers["X-Webhook-Timestamp"])
    assert headers["X-Webhook-Signature"]
    assert not hmac.compare_digest(headers["X-Webhook-Signature"], expected)


def test_mode_task_id_snake_case(signed: Simulator, captured: Captured) -> None:
    signed.set_callback_mode("task_id")
    with _client(signed) as c:
        task_id = create(c, upload(c), callback=HOOK)
    signed.advance(100)
    data = captured.deliveries[0].json()["data"]
    assert "taskId" not in data
    assert data["task_id"] == task_id
    stamp = captured.deliveries[0].headers["X-Webhook-Timestamp"]
    assert captured.deliveries[0].headers["X-Webhook-Signature"] == reference_signature(KEY, task_id, stamp)


def test_default_sender_refuses_non_loopback(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(sender=None)
    with _client(sim) as c:
        task_id = create(c, upload(c), callback="https://example.com/hook")
    results = sim.advance(100)
    assert len(results) == 1
    assert results[0].status is None
    assert results[0].error is not None and "not a loopback" in results[0].error
    assert sim.counters.callbacks_refused[task_id] == 1
    assert sim.counters.callbacks_sent[task_id] == 0


def test_unknown_mode_is_rejected(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="unknown callback mode"):
        sim.set_callback_mode("sometimes")


def test_delivery_is_a_plain_value() -> None:
    d = Delivery("t", "http://127.0.0.1/x", {}, b'{"a":1}')
    assert d.json() == {"a": 1}
