"""Fixtures and options shared by the contract tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .spec_validation import DEFAULT_BASE, SpecRecordingRouter


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("apikley-kling live contract tests")
    group.addoption(
        "--live-budget",
        type=int,
        default=0,
        metavar="N",
        help="contract_tests/live: at most N paid createTask calls against the real service (default 0: none)",
    )


@pytest.fixture
def spec_respx() -> Iterator[SpecRecordingRouter]:
    """A respx router (base https://api.apikley.ru) that checks every request against the spec.

    Violations fail the test at teardown, so a request the SDK sent wrongly is
    caught even when the SDK turned the answer into a swallowed exception.
    """
    router = SpecRecordingRouter(DEFAULT_BASE)
    with router:
        yield router
    report = router.violation_report()
    if report:
        pytest.fail(report, pytrace=False)


@pytest.fixture(autouse=True)
def _fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test asks the system's resolver: the download address rule resolves every name to one public
    address, never reached (non-loopback URLs here are answered by respx or an in-process simulator)."""
    from apikley_kling import _net

    monkeypatch.setattr(_net, "resolve", lambda host, port: ["93.184.215.14"])
