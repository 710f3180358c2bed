"""Compatibility paths (`client`, `polling`, `retry`) export public names only; old internal names warn."""

from __future__ import annotations

import subprocess
import sys

import apikley_kling
import apikley_kling.client
import apikley_kling.polling
import apikley_kling.retry
import pytest
from apikley_kling import _config
from apikley_kling._engine import retry as engine_retry
from apikley_kling._engine import schedule


def test_the_package_does_not_import_its_compatibility_path() -> None:
    code = "import sys, apikley_kling\nprint('apikley_kling.client' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_client_path_still_gives_the_clients() -> None:
    assert apikley_kling.client.Kling is apikley_kling.Kling
    assert apikley_kling.client.AsyncKling is apikley_kling.AsyncKling


def test_default_timeout_is_public_at_the_root() -> None:
    assert "DEFAULT_TIMEOUT" in apikley_kling.__all__
    assert apikley_kling.DEFAULT_TIMEOUT == _config.DEFAULT_TIMEOUT


@pytest.mark.parametrize("module", [apikley_kling.polling, apikley_kling.retry])
def test_shims_export_no_internal_name(module: object) -> None:
    names = set(module.__all__)  # type: ignore[attr-defined]
    internal = {"Waiter", "Done", "Idle", "Launch", "TokenBucket", "fail_error", "Decision", "Kind"}
    assert not names & internal
    for name in names:
        assert getattr(module, name) is not None


def test_polling_exports_what_users_need() -> None:
    assert set(apikley_kling.polling.__all__) == {
        "CALLBACK_SAFETY",
        "DEFAULT_TIMEOUT",
        "SCHEDULE",
        "CallbackInbox",
        "Pacer",
        "RequestBudget",
        "poll_interval",
    }
    assert apikley_kling.polling.poll_interval is schedule.poll_interval


@pytest.mark.parametrize("name", ["Waiter", "Done", "Idle", "Launch", "TokenBucket", "fail_error"])
def test_old_polling_names_warn(name: str) -> None:
    with pytest.warns(DeprecationWarning, match=name):
        value = getattr(apikley_kling.polling, name)
    assert value is getattr(schedule, name)


@pytest.mark.parametrize("name", ["Decision", "Kind"])
def test_old_retry_names_warn(name: str) -> None:
    with pytest.warns(DeprecationWarning, match=name):
        value = getattr(apikley_kling.retry, name)
    assert value is getattr(engine_retry, name)


def test_unknown_names_are_still_attribute_errors() -> None:
    with pytest.raises(AttributeError):
        _ = apikley_kling.polling.NoSuchName  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        _ = apikley_kling.retry.NoSuchName  # type: ignore[attr-defined]
