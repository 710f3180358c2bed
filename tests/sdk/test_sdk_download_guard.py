"""Downloads go only to public http(s) addresses, checked after DNS on every hop, never down to http.

DNS is faked (`_net.resolve`) and every answer comes from a MockTransport: nothing here leaves the process.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import apikley_kling as ak
import httpx
import pytest
from apikley_kling import AsyncKling, Kling, VirtualClock, _net

from .conftest import CANARY, mp4

VIDEO = mp4(512)
PUBLIC = "93.184.215.14"
METADATA = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
DNS = {"cdn.example.net": [PUBLIC], "inside.example.net": ["10.0.0.7"], "mixed.example.net": [PUBLIC, "fd00::1"]}


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve(host: str, port: int) -> list[str]:
        if host not in DNS:
            raise OSError(f"unknown host {host}")
        return DNS[host]

    monkeypatch.setattr(_net, "resolve", resolve)


class Answers:
    """A MockTransport: `routes` maps a URL to a response; every request is recorded."""

    def __init__(self, routes: dict[str, httpx.Response]) -> None:
        self.routes = routes
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(str(request.url))
        return self.routes.get(str(request.url), httpx.Response(200, content=VIDEO))


def redirect(to: str) -> httpx.Response:
    return httpx.Response(302, headers={"Location": to})


def client(answers: Answers, base_url: str = "https://api.example.net") -> Kling:
    return Kling(
        api_key=CANARY,
        base_url=base_url,
        transport=httpx.MockTransport(answers),
        clock=VirtualClock(),
        rng=random.Random(1),
        allow_insecure_http=True,
    )


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (METADATA, "link-local"),
        ("http://[::ffff:169.254.169.254]/latest/", "link-local"),
        ("http://10.0.0.1/", "private"),
        ("https://127.0.0.1/v.mp4", "loopback"),
        ("https://localhost/v.mp4", "loopback"),
        ("https://[::]/v.mp4", "unspecified"),
        ("https://224.0.0.1/v.mp4", "multicast"),
        ("https://inside.example.net/v.mp4", "10.0.0.7"),
        ("https://mixed.example.net/v.mp4", "fd00::1"),  # one bad address is enough
    ],
)
def test_a_result_url_to_a_non_public_address_is_refused_unsent(tmp_path: Path, url: str, why: str) -> None:
    answers = Answers({})
    with client(answers) as k, pytest.raises(ak.UnsafeURL, match=why) as info:
        k.download(url, tmp_path / "v.mp4")
    assert answers.seen == [] and info.value.host and info.value.host in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("target", "why"),
    [(METADATA, "down to http"), ("https://169.254.169.254/x", "link-local"), ("http://10.0.0.1/", "http")],
)
def test_a_redirect_is_checked_like_the_first_url(tmp_path: Path, target: str, why: str) -> None:
    first = "https://cdn.example.net/v.mp4"
    answers = Answers({first: redirect(target)})
    with client(answers) as k, pytest.raises(ak.UnsafeURL, match=why):
        k.download(first, tmp_path / "v.mp4")
    assert answers.seen == [first]  # refused before the redirect's target is asked, and never retried


def test_redirects_to_public_hosts_are_followed_up_to_the_bound(tmp_path: Path) -> None:
    hops = [f"https://cdn.example.net/{i}" for i in range(7)]
    answers = Answers({hops[i]: redirect(hops[i + 1]) for i in range(6)})
    with client(answers) as k:
        with pytest.raises(ak.UnsafeURL, match="redirects"):
            k.download(hops[0], tmp_path / "v.mp4")
        answers.seen.clear()
        assert k.download(hops[2], tmp_path / "v.mp4").read_bytes() == VIDEO  # four redirects: fine
    assert answers.seen == hops[2:]


def test_a_loopback_api_may_download_from_loopback_but_not_from_metadata(tmp_path: Path) -> None:
    answers = Answers({"http://127.0.0.1:8000/a": redirect(METADATA)})
    with client(answers, base_url="http://127.0.0.1:8000") as k:
        assert k.download("http://localhost:8000/v.mp4", tmp_path / "v.mp4").read_bytes() == VIDEO
        with pytest.raises(ak.UnsafeURL, match="link-local"):
            k.download("http://127.0.0.1:8000/a", tmp_path / "w.mp4")


def test_a_name_that_does_not_resolve_is_a_transport_error_not_a_refusal(tmp_path: Path) -> None:
    answers = Answers({})
    with client(answers) as k, pytest.raises(ak.TransportError):
        k.download("https://nowhere.example.net/v.mp4", tmp_path / "v.mp4")
    assert answers.seen == []


async def test_async_downloads_are_checked_too(tmp_path: Path) -> None:
    first = "https://cdn.example.net/v.mp4"
    answers = Answers({first: redirect(METADATA)})
    async with AsyncKling(
        api_key=CANARY, base_url="https://api.example.net", transport=httpx.MockTransport(answers), clock=VirtualClock()
    ) as k:
        with pytest.raises(ak.UnsafeURL, match="down to http"):
            await k.download(first, tmp_path / "v.mp4")
        with pytest.raises(ak.UnsafeURL, match="link-local"):
            await k.download(METADATA, tmp_path / "v.mp4")
        assert (await k.download("https://cdn.example.net/ok", tmp_path / "v.mp4")).read_bytes() == VIDEO
    assert answers.seen == [first, "https://cdn.example.net/ok"]


def test_an_internationalised_name_is_checked_as_the_name_httpx_connects_to(tmp_path: Path) -> None:
    """`faß` is `fass` by IDNA 2003 (the system resolver's) and `xn--fa-hia` by IDNA 2008 (httpx's)."""
    DNS["fass.evil.example"] = [PUBLIC]
    DNS["xn--fa-hia.evil.example"] = ["169.254.169.254"]
    DNS["faß.evil.example"] = [PUBLIC]  # what a check of the Unicode name would have been told
    answers = Answers({})
    with client(answers) as k, pytest.raises(ak.UnsafeURL, match="link-local"):
        k.download("https://faß.evil.example/v.mp4", tmp_path / "v.mp4")
    assert answers.seen == []


def test_a_refused_download_reads_only_the_start_of_its_body(tmp_path: Path) -> None:
    sent: list[int] = []

    def endless() -> Iterator[bytes]:
        for _ in range(256):  # a 16 MB 404 (an endless one, for a test that must end): only its start is read
            sent.append(1)
            yield b"x" * 65536

    with client(Answers({})) as k:
        k._dl_http._transport = httpx.MockTransport(lambda request: httpx.Response(404, content=endless()))
        with pytest.raises(ak.KlingError):
            k.download("https://cdn.example.net/v.mp4", tmp_path / "v.mp4")
    assert 0 < len(sent) < 16
