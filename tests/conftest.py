"""Fixtures every suite may use: a real PostgreSQL server, started once per test process on first use.

No skip: when the server cannot start, the tests that need it fail with the reason
(`python3 scripts/dev.py test` installs the server binaries when they are missing).
The CLI fixtures (`kling_cli`, `offline_cli`, `subprocess_env`) live in cli_env.py: tests/cli, tests/batch and
tests/ledger use them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from .cli_env import kling_cli as kling_cli
from .cli_env import offline_cli as offline_cli
from .cli_env import subprocess_env as subprocess_env
from .pg_server import PgServer, PgUnavailable

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    try:
        server = PgServer.start()
        pg = server.__enter__()
    except PgUnavailable as exc:
        pytest.fail(f"PostgreSQL could not start: {exc}", pytrace=False)
    try:
        yield pg
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def pg_url(postgres: PgServer) -> str:
    """A fresh, empty database on the session's server, as a URL with a password (never put on argv)."""
    return postgres.create_database(f"t{os.getpid()}_{next(_databases)}")


#: The address every name resolves to in tests: public (downloads may go there), and never reached: a test's
#: non-loopback URLs are answered by a MockTransport or an in-process simulator.
PUBLIC_TEST_ADDRESS = "93.184.215.14"


@pytest.fixture(autouse=True)
def _fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test asks the system's resolver: the download address rule resolves through `_net.resolve`."""
    from apikley_kling import _net

    monkeypatch.setattr(_net, "resolve", lambda host, port: [PUBLIC_TEST_ADDRESS])
