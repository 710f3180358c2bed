"""The key appears in no log line, repr, or error; plain http is refused off loopback."""

from __future__ import annotations

import contextlib
import logging
import traceback
from pathlib import Path

import apikley_kling as ak
import httpx
import pytest
import respx
from apikley_kling import AsyncKling, Kling

from .conftest import BASE, CANARY, CREATE, CREDITS, QUERY, RESULT, UPLOAD, RecordingClock, mp4, ok, record


def test_key_never_logged_at_debug(caplog: pytest.LogCaptureFixture, clock: RecordingClock, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("apikley_kling", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    with respx.mock(assert_all_called=False) as mock, Kling(api_key=CANARY, base_url=BASE, clock=clock) as kling:
        mock.post(UPLOAD).respond(500, text=f"<html>echo Bearer {CANARY}</html>")
        mock.post(CREATE).mock(side_effect=[httpx.ConnectError("refused"), ok({"taskId": "t1"})])
        mock.get(QUERY).mock(side_effect=[httpx.Response(429, json={"code": 429}), ok(record("t1", "success"))])
        mock.get(RESULT).respond(200, content=mp4())
        task = kling.tasks.create("a cat", image="https://x.example/c.png")
        kling.tasks.wait(task.id)
        kling.download(record_task(), tmp_path / "v.mp4")
        with pytest.raises(ak.ServerError) as info:
            kling.files.upload(b"\x89PNG\r\n\x1a\n" + b"0" * 10)
        logging.getLogger("apikley_kling").debug("user code logging the key by mistake: %s", CANARY)
    assert len(caplog.records) > 5  # logging really was on
    assert any(r.name.startswith("httpx") for r in caplog.records)
    assert CANARY not in caplog.text
    for record_ in caplog.records:
        assert CANARY not in record_.getMessage()
    err = info.value
    assert CANARY not in str(err) and CANARY not in repr(err) and CANARY not in (err.excerpt or "")
    assert "***" in (err.excerpt or "")


def record_task() -> ak.Task:
    return ak.Task.from_api(record("t1", "success"))


def test_key_not_in_reprs(kling: Kling) -> None:
    for obj in (
        kling,
        kling.tasks,
        kling.files,
        kling._core,
        kling._api,
        kling._upload_api,
        kling._http.headers,
        kling._key,
        vars(kling),
    ):
        assert CANARY not in repr(obj), obj
    assert CANARY not in str(kling._key)


def test_key_not_in_errors_or_tracebacks(kling: Kling, mock: respx.MockRouter) -> None:
    mock.post(CREATE).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(ak.AmbiguousSubmit) as info:
        kling.tasks.create("a cat", image="https://x.example/c.png")
    text = "".join(traceback.format_exception(info.value))
    assert CANARY not in text and CANARY not in repr(info.value.request)
    # locals of the SDK's own frames (what rich/sentry would print)
    tb = info.value.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if "apikley_kling" in frame.f_code.co_filename and "apikley_kling_api" not in frame.f_code.co_filename:
            for value in frame.f_locals.values():
                assert CANARY not in repr(value), frame.f_code.co_name
        tb = tb.tb_next


def test_constructor_error_does_not_show_key() -> None:
    with pytest.raises(ak.ConfigurationError) as info:
        Kling(api_key=CANARY, base_url="http://api.example.com")
    assert CANARY not in "".join(traceback.format_exception(info.value))
    tb = info.value.__traceback__
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            assert CANARY not in repr(value)
        tb = tb.tb_next


@pytest.mark.parametrize(
    "url",
    ["http://api.example.com", "http://10.0.0.1:8000", "http://localhost.evil.com", "http://evil.localhost"],
)
def test_plain_http_refused_off_loopback(url: str) -> None:
    with pytest.raises(ak.ConfigurationError, match="http"):
        Kling(api_key="k", base_url=url)
    with pytest.raises(ak.ConfigurationError):
        AsyncKling(api_key="k", base_url=url)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://127.9.9.9", "http://[::1]:9000", "http://localhost:1", "http://LOCALHOST."],
)
def test_plain_http_allowed_on_loopback(url: str) -> None:
    Kling(api_key="k", base_url=url).close()


def test_plain_http_opt_in() -> None:
    Kling(api_key="k", base_url="http://api.example.com", allow_insecure_http=True).close()


def test_key_and_base_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APIKLEY_API_KEY", "sk-env")
    monkeypatch.setenv("APIKLEY_BASE_URL", "https://env.example/")
    with respx.mock() as mock, Kling() as kling:
        route = mock.get("https://env.example/api/v1/chat/credit").respond(json={"code": 200, "msg": "ok", "data": 3})
        assert kling.credits() == 3.0
        assert route.calls[0].request.headers["authorization"] == "Bearer sk-env"
    assert Kling().base_url == "https://env.example"


def test_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APIKLEY_BASE_URL", raising=False)
    assert Kling(api_key="k").base_url == "https://api.apikley.ru"


def test_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APIKLEY_API_KEY", raising=False)
    with pytest.raises(ak.ConfigurationError, match="APIKLEY_API_KEY"):
        Kling()


def test_explicit_timeouts(kling: Kling) -> None:
    t = kling._http.timeout
    assert None not in (t.connect, t.read, t.write, t.pool)


@pytest.mark.parametrize("name", ["httpcore.http11", "httpcore.connection", "httpx", "apikley_kling"])
def test_redaction_filter_on_third_party_loggers(kling: Kling, caplog: pytest.LogCaptureFixture, name: str) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger(name).debug("send_request_headers.started headers=[(b'Authorization', b'Bearer %s')]", CANARY)
    assert caplog.records and CANARY not in caplog.text and "***" in caplog.text


def _holds(obj: object, secret: str, depth: int = 0, seen: set[int] | None = None) -> bool:
    """Whether `secret` is reachable from `obj` through causes, contexts, attributes, mappings and sequences
    (frames excluded: a traceback's frames hold the client itself)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 8:
        return False
    seen.add(id(obj))
    if isinstance(obj, (str, bytes)):
        return secret in (obj if isinstance(obj, str) else obj.decode("latin-1"))
    if isinstance(obj, httpx.Headers):
        return any(secret in v for v in obj.values())
    parts: list[object] = []
    if isinstance(obj, BaseException):
        parts += [obj.__cause__, obj.__context__, *obj.args]
    if isinstance(obj, dict):
        parts += [*obj.keys(), *obj.values()]
    elif isinstance(obj, (list, tuple, set, frozenset)):
        parts += list(obj)
    for name in ("request", "response", "headers", "_request"):
        # httpx raises RuntimeError for a request that was never set
        with contextlib.suppress(AttributeError, RuntimeError):
            parts.append(getattr(obj, name))
    parts += list(getattr(obj, "__dict__", {}).values())
    return any(_holds(p, secret, depth + 1, seen) for p in parts if p is not None)


def test_no_object_reachable_from_a_transport_error_holds_the_key(
    mock: respx.MockRouter, clock: RecordingClock
) -> None:
    """TransportError.__cause__ was httpx's exception, whose .request.headers carried `Bearer <key>`."""
    mock.get(QUERY).mock(side_effect=httpx.ConnectError("refused"))
    with (
        Kling(api_key=CANARY, base_url=BASE, clock=clock, max_retries=0) as kling,
        pytest.raises(ak.TransportError) as info,
    ):
        kling.tasks.get("t1")
    assert isinstance(info.value.__cause__, httpx.ConnectError)  # the kind of failure is kept
    assert "refused" in str(info.value.__cause__)
    assert not _holds(info.value, CANARY)
    probe = httpx.ConnectError("x", request=httpx.Request("GET", BASE, headers={"Authorization": f"Bearer {CANARY}"}))
    assert _holds(probe, CANARY)  # the walk does find a key where one is


def test_a_tls_verification_failure_says_so_and_how_to_fix_it(mock: respx.MockRouter, clock: RecordingClock) -> None:
    failure = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)"
    mock.get(CREDITS).mock(side_effect=httpx.ConnectError(failure))
    with (
        Kling(api_key=CANARY, base_url=BASE, clock=clock, max_retries=0) as kling,
        pytest.raises(ak.TransportError) as info,
    ):
        kling.credits()
    assert "certificate verification failed" in str(info.value) and "SSL_CERT_FILE" in str(info.value)
