"""The client every `kling` command builds, and the one rule for where it may send the key.

A base URL comes from --base-url, else APIKLEY_BASE_URL; plain http only to this machine. With
--simulate the client talks to a private in-process simulator instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apikley_kling import ENV_BASE_URL, ENV_KEY, exit_codes

from ._common import CliError
from ._session import current

if TYPE_CHECKING:
    from apikley_kling import Kling, RequestBudget

#: Tests point the CLI at an in-process simulator here (transport=, clock=, base_url=).
#: Never read from the environment: a user cannot reach it by accident.
_overrides: dict[str, Any] = {}


def _api_key(simulate: bool) -> str:
    if simulate:
        from apikley_kling.simulator import DEFAULT_API_KEY

        return DEFAULT_API_KEY
    key = os.environ.get(ENV_KEY, "").strip()
    if not key:
        raise CliError(
            f"no API key: set {ENV_KEY} (export {ENV_KEY}=sk-...), or add --simulate to try the built-in simulator",
            exit_codes.AUTH,
        )
    current().add_secret(key)
    return key


def overridden(name: str) -> Any:
    """A test's override of a client setting (`clock`, `transport`, ...), else None."""
    return _overrides.get(name)


def base_url_for(base_url: str | None) -> tuple[str, str] | None:
    """The URL the commands send to and where it came from: --base-url, else APIKLEY_BASE_URL, else None (the
    SDK's default). Whether the key may go there is the SDK's rule (`Kling` refuses plain http off this machine)."""
    flag = (base_url or current().base_url or "").strip()
    if flag:
        return flag, "--base-url"
    env = os.environ.get(ENV_BASE_URL, "").strip()
    return (env, ENV_BASE_URL) if env else None


def resume_command(*words: str, base_url: str | None = None) -> str:
    """The `kling ...` line that picks up where this one stopped (with the --base-url given, if any)."""
    import shlex

    flag = (base_url or current().base_url or "").strip()
    return shlex.join(["kling", *words, *(["--base-url", flag] if flag else [])])


def interrupted(task_id: str, *, done: bool, resume: str) -> CliError:
    """Ctrl-C once a task exists: say that it goes on (and is paid) and how to pick it up."""
    state = "has finished on the service" if done else "keeps running on the service"
    return CliError(
        f"interrupted; task {task_id} {state} (and is paid): `{resume}` picks it up",
        exit_codes.INTERRUPTED,
        task_id=task_id,
    )


def _build(key: str, kwargs: dict[str, Any], base: tuple[str, str] | None) -> Kling:
    """The client; a base URL the SDK refuses (not http(s), plain http off this machine) is a usage error
    that names where the URL came from. The SDK's own rule decides: a key never crosses a network in clear."""
    from apikley_kling import ConfigurationError, Kling

    try:
        return Kling(api_key=key, **kwargs)
    except ConfigurationError as exc:
        if base is None:
            raise
        raise CliError(f"{base[1]}: {exc}", exit_codes.USAGE) from None


@contextmanager
def client(
    *,
    simulate: bool = False,
    base_url: str | None = None,
    rate_limit: float | RequestBudget | None = None,
    price_book: Path | None = None,
) -> Iterator[Kling]:
    """A Kling client for the real service, `base_url` (--base-url, else APIKLEY_BASE_URL), or an in-process
    simulator, drawing every request from `rate_limit` (a rate, or a budget shared with other workers),
    learning prices in `price_book` when given. Every command builds its client here, so a rule about base URLs
    is made once."""
    if simulate and (base_url or current().base_url):
        raise CliError(
            "--simulate runs a private in-process simulator; with --base-url, drop --simulate", exit_codes.USAGE
        )
    base = None if simulate else base_url_for(base_url)
    key = _api_key(simulate)
    kwargs: dict[str, Any] = {} if rate_limit is None else {"rate_limit": rate_limit}
    if price_book is not None:
        kwargs["price_book"] = price_book
    sim = None
    if simulate and "transport" not in _overrides:
        from apikley_kling import SystemClock
        from apikley_kling.simulator import Simulator, Timings

        # A demo of several seconds in which the SDK's real polling schedule (a query every 2.5-3 s at
        # first) sees each phase: waiting, queuing, generating.
        timings = Timings(waiting=1.0, queuing=2.5, generation=4.0)
        sim = Simulator(clock=SystemClock(), api_keys=(key,), timings=timings)
        kwargs.update(base_url=sim.base_url, transport=sim.sync_transport(), allow_insecure_http=True)
    elif base is not None:
        kwargs["base_url"] = base[0]
    kwargs.update(_overrides)
    kling = _build(key, kwargs, base)
    try:
        yield kling
    finally:
        kling.close()
        if sim is not None:
            sim.close()
