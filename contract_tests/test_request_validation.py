"""The request validator and the recording respx fixture: both must catch what the spec forbids."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from apikley_kling import load_models

from ._paths import ROOT
from .spec_validation import DEFAULT_BASE, SpecRecordingRouter, SpecValidator, is_uri

AUTH = {"Authorization": "Bearer sk-contract"}
CREATE = f"{DEFAULT_BASE}/api/v1/jobs/createTask"
UPLOAD = f"{DEFAULT_BASE}/file-upload/api"
MODELS = load_models()


def _sample_body(model_id: str, everything: bool = False) -> dict[str, Any]:
    model = MODELS[model_id]
    inp = model.sample_input(everything=everything)
    for f in model.file_fields:  # the examples on some pages are "" or not URLs
        if f.name in inp:
            inp[f.name] = ["https://example.com/a.png"] if f.type == "array" else "https://example.com/a.png"
    return {"model": model_id, "callBackUrl": "https://example.com/hook", "input": inp}


GOOD_CREATE: dict[str, Any] = _sample_body(MODELS.default, everything=True)


@pytest.fixture(scope="module")
def validator() -> SpecValidator:
    return SpecValidator()


def _create(body: Any, headers: dict[str, str] | None = None) -> httpx.Request:
    return httpx.Request("POST", CREATE, json=body, headers=AUTH if headers is None else headers)


def _with_input(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(GOOD_CREATE)
    body["input"].update(changes)
    return body


# ------------------------------------------------------------ valid requests pass


VALID = {
    **{f"create-{m}-full": _create(_sample_body(m, everything=True)) for m in MODELS},
    **{f"create-{m}-minimal": _create(_sample_body(m)) for m in MODELS},
    "query": httpx.Request("GET", f"{DEFAULT_BASE}/api/v1/jobs/recordInfo", params={"taskId": "t1"}, headers=AUTH),
    "credits": httpx.Request("GET", f"{DEFAULT_BASE}/api/v1/chat/credit", headers=AUTH),
    "download-url": httpx.Request(
        "POST", f"{DEFAULT_BASE}/api/v1/common/download-url", json={"url": "https://t.example/v.mp4"}, headers=AUTH
    ),
    "upload-stream": httpx.Request(
        "POST",
        f"{UPLOAD}/file-stream-upload",
        files={"file": ("a.png", b"\x89PNG\r\n\x1a\n\x00\xff", "image/png")},
        data={"uploadPath": "images", "fileName": "a.png"},
        headers=AUTH,
    ),
    "upload-base64": httpx.Request(
        "POST", f"{UPLOAD}/file-base64-upload", json={"base64Data": "iVBORw0KGgo=", "uploadPath": "i"}, headers=AUTH
    ),
    "upload-url": httpx.Request(
        "POST", f"{UPLOAD}/file-url-upload", json={"fileUrl": "https://x/y.png", "uploadPath": "i"}, headers=AUTH
    ),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_requests_pass(validator: SpecValidator, name: str) -> None:
    assert validator.errors(VALID[name]) == []


# ------------------------------------------------------------ invalid requests are caught


def _limit_violations() -> dict[str, tuple[httpx.Request, str]]:
    """For every model, each field just past each limit its page states (values from the spec)."""
    out: dict[str, tuple[httpx.Request, str]] = {}
    for model in MODELS.values():
        base = _sample_body(model.id)

        def bad(name: str, field: str, value: Any, expected: str, body: dict[str, Any] = base) -> None:
            key = f"{body['model']}-{field}-{name}"
            out[key] = (_create({**body, "input": {**body["input"], field: value}}), expected)

        for f in model.fields:
            if f.max_length is not None:
                bad("too-long", f.name, "x" * (f.max_length + 1), "is too long")
            if f.maximum is not None:
                bad("over-max", f.name, f.maximum + (f.step or 1), "greater than the maximum")
            if f.minimum is not None:
                bad("under-min", f.name, f.minimum - (f.step or 1), "less than the minimum")
            if f.choices is not None:
                bad("not-a-choice", f.name, "not-a-choice", "is not one of")
            if f.max_items is not None:
                bad("too-many", f.name, [f.sample()[0]] * (f.max_items + 1), "is too long")
            if f.type == "string":
                bad("wrong-type", f.name, 5, "is not of type 'string'")
        for field in model.required:
            inp = {k: v for k, v in base["input"].items() if k != field}
            out[f"{model.id}-{field}-missing"] = (_create({**base, "input": inp}), f"'{field}' is a required property")
        if model.required_any_of:
            inp = {k: v for k, v in base["input"].items() if not any(k in n for n in model.required_any_of)}
            out[f"{model.id}-alternatives-missing"] = (_create({**base, "input": inp}), "is not valid under any of")
    return out


INVALID: dict[str, tuple[httpx.Request, str]] = {
    **_limit_violations(),
    "model-wrong": (_create({**GOOD_CREATE, "model": "kling/v9"}), "could not be resolved"),
    "model-missing": (_create({"input": GOOD_CREATE["input"]}), "does not contain discriminating property 'model'"),
    "callback-not-uri": (_create({**GOOD_CREATE, "callBackUrl": "not a url"}), "is not a 'uri'"),
    "callback-no-scheme": (_create({**GOOD_CREATE, "callBackUrl": "example.com/hook"}), "is not a 'uri'"),
    "no-bearer": (_create(GOOD_CREATE, headers={}), "Security"),
    "basic-auth": (_create(GOOD_CREATE, headers={"Authorization": "Basic dTpw"}), "Security"),
    "empty-bearer": (_create(GOOD_CREATE, headers={"Authorization": "Bearer "}), "empty bearer token"),
    "text-plain": (
        httpx.Request("POST", CREATE, content=json.dumps(GOOD_CREATE), headers={**AUTH, "Content-Type": "text/plain"}),
        "MediaTypeNotFound",
    ),
    "form-encoded-create": (
        httpx.Request("POST", CREATE, data={"model": "kling/v2-1-standard"}, headers=AUTH),
        "MediaTypeNotFound",
    ),
    "query-without-task-id": (
        httpx.Request("GET", f"{DEFAULT_BASE}/api/v1/jobs/recordInfo", headers=AUTH),
        "MissingRequiredParameter",
    ),
    "upload-on-the-api-base": (
        httpx.Request("POST", f"{DEFAULT_BASE}/api/file-url-upload", json={"fileUrl": "https://x/y"}, headers=AUTH),
        "NotFound",
    ),
    "upload-url-not-uri": (
        httpx.Request("POST", f"{UPLOAD}/file-url-upload", json={"fileUrl": "x y", "uploadPath": "i"}, headers=AUTH),
        "is not a 'uri'",
    ),
    "upload-stream-as-json": (
        httpx.Request("POST", f"{UPLOAD}/file-stream-upload", json={"uploadPath": "i"}, headers=AUTH),
        "MediaTypeNotFound",
    ),
    "download-url-missing": (
        httpx.Request("POST", f"{DEFAULT_BASE}/api/v1/common/download-url", json={}, headers=AUTH),
        "'url' is a required property",
    ),
    "unknown-path": (httpx.Request("GET", f"{DEFAULT_BASE}/api/v1/jobs/list", headers=AUTH), "PathNotFound"),
    "wrong-method": (httpx.Request("GET", CREATE, headers=AUTH), "OperationNotFound"),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_requests_are_caught(validator: SpecValidator, name: str) -> None:
    request, expected = INVALID[name]
    errors = validator.errors(request)
    assert errors, f"{name} passed validation"
    assert any(expected in e for e in errors), errors


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://example.com/hook?x=1#f", True),
        ("http://127.0.0.1:8000/cb", True),
        ("urn:isbn:0451450523", True),
        ("not a url", False),
        ("example.com/hook", False),
        ("https://exa mple.com", False),
        ("https://example.com/%zz", False),
        ("", False),
    ],
)
def test_uri_format_checker(value: str, ok: bool) -> None:
    assert is_uri(value) is ok


def test_a_rebased_validator_checks_the_same_rules() -> None:
    # The recorder follows whatever base the SDK under test is given.
    local = SpecValidator("http://sim.localhost")
    good = httpx.Request("POST", "http://sim.localhost/api/v1/jobs/createTask", json=GOOD_CREATE, headers=AUTH)
    bad = httpx.Request("POST", "http://sim.localhost/api/v1/jobs/createTask", json=_with_input(duration="7"))
    assert local.errors(good) == []
    assert len(local.errors(bad)) == 2  # the body and the missing token
    upload = httpx.Request(
        "POST", "http://sim.localhost/file-upload/api/file-base64-upload", json={"base64Data": "AA=="}, headers=AUTH
    )
    assert any("uploadPath" in e for e in local.errors(upload))


# ------------------------------------------------------------ the recording router


def test_router_records_violations_even_when_the_answer_looks_fine() -> None:
    with SpecRecordingRouter() as router:
        router.post(router.api("/api/v1/jobs/createTask")).respond(200, json={"code": 200, "data": {"taskId": "t"}})
        httpx.post(CREATE, json=_with_input(duration="7"), headers=AUTH)
        httpx.post(CREATE, json=GOOD_CREATE, headers=AUTH)
    assert len(router.checked) == 2
    assert len(router.violations) == 1
    report = router.violation_report()
    assert report is not None and "duration" in report and "'7'" in report


async def test_router_validates_async_requests() -> None:
    with SpecRecordingRouter() as router:
        router.post(router.api("/api/v1/jobs/createTask")).respond(200, json={"code": 422, "msg": "bad"})
        async with httpx.AsyncClient() as client:
            await client.post(CREATE, json=_with_input(cfg_scale=1.5), headers=AUTH)
    assert len(router.violations) == 1
    assert "maximum" in router.violations[0]


def test_router_leaves_other_hosts_unvalidated_but_listed() -> None:
    with SpecRecordingRouter() as router:
        router.get("https://tempfile.example/v.mp4").respond(200, content=b"mp4")
        httpx.get("https://tempfile.example/v.mp4")
    assert router.violations == []
    assert [str(r.url) for r in router.unchecked] == ["https://tempfile.example/v.mp4"]


def test_spec_respx_fixture_fails_the_test_at_teardown(tmp_path: Path) -> None:
    # Run a tiny suite that uses the fixture: the test that sent a bad request
    # and swallowed the error must still be reported as failing.
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_swallow.py").write_text(
        textwrap.dedent(
            f"""
            import httpx
            from contract_tests.conftest import spec_respx  # noqa: F401

            BODY = {GOOD_CREATE!r}

            def test_swallowed(spec_respx):
                spec_respx.post(spec_respx.api("/api/v1/jobs/createTask")).respond(200, json={{"code": 422, "msg": "bad"}})
                body = {{**BODY, "input": {{**BODY["input"], "duration": "7"}}}}
                try:
                    httpx.post("{CREATE}", json=body, headers={AUTH!r}).raise_for_status()
                    raise RuntimeError("the SDK saw 422")
                except RuntimeError:
                    pass  # what a careless SDK would do

            def test_clean(spec_respx):
                spec_respx.post(spec_respx.api("/api/v1/jobs/createTask")).respond(200, json={{"code": 200, "data": {{"taskId": "t"}}}})
                httpx.post("{CREATE}", json=BODY, headers={AUTH!r})
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    # Both tests' bodies pass; the swallowed violation surfaces as the teardown error.
    assert "2 passed, 1 error" in run.stdout, run.stdout
    assert "ERROR at teardown of test_swallowed" in run.stdout, run.stdout
    assert "test_clean" not in run.stdout
    assert "'7' is not one of" in run.stdout
