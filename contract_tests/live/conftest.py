"""The live suite runs only with APIKLEY_API_KEY; paid creates only within --live-budget."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from ._live import SKIP_REASON, Budget, Pacer, base_url, min_interval


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.live)
            if not os.environ.get("APIKLEY_API_KEY"):
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


@pytest.fixture(scope="session")
def api_key() -> str:
    return os.environ["APIKLEY_API_KEY"]


@pytest.fixture(scope="session")
def pacer() -> Pacer:
    return Pacer(interval=min_interval())


@pytest.fixture(scope="session")
def budget(request: pytest.FixtureRequest) -> Budget:
    return Budget(limit=int(request.config.getoption("--live-budget")))


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url(), timeout=30.0) as client:
        yield client
