"""Requests are checked as the service checks them, with limits read from the bundled spec."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from apikley_kling.simulator import Simulator
from conftest import AUTH, CREATE, DEFAULT, MODELS, RECORD, create_body, image_field, picture, upload

# The default model's limits, as its page states them.
PROMPT = DEFAULT.field("prompt")
NEGATIVE = DEFAULT.field("negative_prompt")
CFG = DEFAULT.field("cfg_scale")
DURATION = DEFAULT.field("duration")
IMAGE = image_field()
assert PROMPT.max_length and NEGATIVE.max_length and CFG.maximum is not None and CFG.minimum is not None
assert DURATION.choices and IMAGE.file and IMAGE.file.max_bytes


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sk-wrong"}, {"Authorization": "Basic sk-sim-local"}])
def test_missing_or_wrong_key_is_401(sim: Simulator, headers: dict[str, str]) -> None:
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=headers) as c:
        for response in (c.get("/api/v1/chat/credit"), c.get(RECORD, params={"taskId": "x"})):
            assert response.status_code == 200  # the code travels in the body, as the service does
            assert response.json() == {"code": 401, "msg": "You do not have access permissions", "data": None}


def test_record_info_missing_task_id_is_400_and_unknown_is_404(client: httpx.Client) -> None:
    assert client.get(RECORD).json()["code"] == 400
    assert client.get(RECORD, params={"taskId": ""}).json()["code"] == 400
    assert client.get(RECORD, params={"taskId": "task_kling_nope"}).json() == {
        "code": 404,
        "msg": "Task not found",
        "data": None,
    }


def test_tasks_of_another_key_are_not_found(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(api_keys=("sk-a", "sk-b"))
    with (
        httpx.Client(
            transport=sim.sync_transport(), base_url=sim.base_url, headers={"Authorization": "Bearer sk-a"}
        ) as a,
        httpx.Client(
            transport=sim.sync_transport(), base_url=sim.base_url, headers={"Authorization": "Bearer sk-b"}
        ) as b,
    ):
        task_id = a.post(CREATE, json=create_body(upload(a))).json()["data"]["taskId"]
        assert a.get(RECORD, params={"taskId": task_id}).json()["code"] == 200
        assert b.get(RECORD, params={"taskId": task_id}).json()["code"] == 404


def test_prompt_limit_comes_from_the_spec(client: httpx.Client) -> None:
    url = upload(client)
    at_limit = client.post(CREATE, json=create_body(url, prompt="p" * PROMPT.max_length)).json()
    assert at_limit["code"] == 200
    over = client.post(CREATE, json=create_body(url, prompt="p" * (PROMPT.max_length + 1))).json()
    assert over["code"] == 422
    assert over["msg"] == f"input.prompt: must be at most {PROMPT.max_length} characters"


def test_negative_prompt_limit(client: httpx.Client) -> None:
    url = upload(client)
    ok = client.post(CREATE, json=create_body(url, negative_prompt="n" * NEGATIVE.max_length)).json()
    assert ok["code"] == 200
    over = client.post(CREATE, json=create_body(url, negative_prompt="n" * (NEGATIVE.max_length + 1))).json()
    assert over["code"] == 422
    assert over["msg"].startswith("input.negative_prompt: must be at most")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("duration", "7", "input.duration: must be one of"),
        ("duration", 5, "input.duration: must be of type string"),
        ("cfg_scale", CFG.maximum + 0.5, f"input.cfg_scale: must be at most {CFG.maximum:g}"),
        ("cfg_scale", CFG.minimum - 0.5, f"input.cfg_scale: must be at least {CFG.minimum:g}"),
        ("prompt", 12, "input.prompt: must be of type string"),
    ],
)
def test_input_fields_are_named_in_the_message(client: httpx.Client, field: str, value: object, expected: str) -> None:
    answer = client.post(CREATE, json=create_body(upload(client), **{field: value})).json()
    assert answer["code"] == 422
    assert answer["msg"].startswith(expected), answer["msg"]


def test_every_accepted_duration_and_cfg_bound_passes(client: httpx.Client) -> None:
    url = upload(client)
    for duration in DURATION.choices:
        for cfg in (CFG.minimum, CFG.maximum):
            answer = client.post(CREATE, json=create_body(url, duration=duration, cfg_scale=cfg)).json()
            assert answer["code"] == 200, answer


def test_required_fields_and_model(client: httpx.Client) -> None:
    url = upload(client)
    no_image = {"model": DEFAULT.id, "input": {"prompt": "x"}}
    assert client.post(CREATE, json=no_image).json()["msg"] == f"input.{IMAGE.name}: is required"
    no_prompt = {"model": DEFAULT.id, "input": {IMAGE.name: url}}
    assert client.post(CREATE, json=no_prompt).json()["msg"] == "input.prompt: is required"
    assert client.post(CREATE, json={"model": DEFAULT.id}).json()["msg"] == "input: is required"
    wrong_model = {**create_body(url), "model": "kling/v9"}
    answer = client.post(CREATE, json=wrong_model).json()
    assert answer["code"] == 422
    assert answer["msg"].startswith("model: must be one of")
    assert all(repr(m) in answer["msg"] for m in MODELS)  # the discriminator's mapping, every model
    missing_model = create_body(url)
    del missing_model["model"]
    assert client.post(CREATE, json=missing_model).json()["msg"] == "model: is required"


def test_not_json_and_bad_callback_url(client: httpx.Client) -> None:
    answer = client.post(CREATE, content=b"{nope", headers={"Content-Type": "application/json"}).json()
    assert answer == {"code": 422, "msg": "body: must be a JSON object", "data": None}
    bad = {**create_body(upload(client)), "callBackUrl": "not a url"}
    answer = client.post(CREATE, json=bad).json()
    assert answer["code"] == 422
    assert answer["msg"] == "callBackUrl: must be a valid uri"


def test_image_url_must_be_fetchable(client: httpx.Client) -> None:
    answer = client.post(CREATE, json=create_body("https://example.com/cat.png")).json()
    assert answer["code"] == 422
    assert answer["msg"].startswith(f"input.{IMAGE.name}: cannot fetch")


def test_image_url_placeholder_mode_accepts_foreign_urls(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(external_images="placeholder")
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        answer = c.post(CREATE, json=create_body("https://example.com/cat.png")).json()
    assert answer["code"] == 200


def test_image_type_and_size_limits_come_from_the_spec(client: httpx.Client) -> None:
    rule = IMAGE.file
    assert rule is not None and rule.max_bytes is not None
    gif = picture(32, 32, "GIF")
    assert "image/gif" not in rule.accepted_types
    answer = client.post(CREATE, json=create_body(upload(client, gif, name="a.gif"))).json()
    assert answer["code"] == 422
    assert answer["msg"].startswith(f"input.{IMAGE.name}: unsupported type image/gif")
    png = picture(16, 16)
    exactly = png + b"\0" * (rule.max_bytes - len(png))
    assert client.post(CREATE, json=create_body(upload(client, exactly, name="max.png"))).json()["code"] == 200
    answer = client.post(CREATE, json=create_body(upload(client, exactly + b"\0", name="big.png"))).json()
    assert answer["code"] == 422
    assert answer["msg"] == f"input.{IMAGE.name}: larger than {rule.max_bytes} bytes"


def test_mirror_http_status_option(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(mirror_http_status=True)
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url, headers=AUTH) as c:
        response = c.get(RECORD, params={"taskId": "missing"})
        assert (response.status_code, response.json()["code"]) == (404, 404)
        assert c.get("/api/v1/chat/credit").status_code == 200
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url) as anonymous:
        assert anonymous.get(RECORD, params={"taskId": "x"}).status_code == 401
