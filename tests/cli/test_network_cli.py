"""A network failure reaches the terminal as one line naming the host and the cause.

Real, on this machine only: a closed port on 127.0.0.1 refuses. The client's clock is virtual, so its
retries do not sleep.
"""

from __future__ import annotations

import json
import socket

import pytest
from apikley_kling import exit_codes
from apikley_kling.cli import _client as cli_client
from apikley_kling.clock import VirtualClock
from typer.testing import CliRunner

from ..cli_env import invoke
from .test_commands import one_error_line


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _virtual_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_client, "_overrides", {"clock": VirtualClock()})


def test_a_refused_connection_is_one_line_with_host_and_cause() -> None:
    port = _closed_port()
    key = "sk-network-test-7c1d"
    r = invoke(CliRunner(), ("credits", "--base-url", f"http://127.0.0.1:{port}"), {"APIKLEY_API_KEY": key})
    assert r.exit_code == exit_codes.API
    line = one_error_line(r.stderr)
    assert line.startswith(f"kling: error: TransportError: cannot reach 127.0.0.1:{port}: connection refused")
    assert key not in r.stderr and key not in r.stdout


def test_json_output_names_the_cause_too() -> None:
    port = _closed_port()
    r = invoke(CliRunner(), ("credits", "--base-url", f"http://127.0.0.1:{port}", "--json"), None)
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["error"]["type"] == "TransportError"
    assert f"cannot reach 127.0.0.1:{port}: connection refused" in doc["error"]["message"]
