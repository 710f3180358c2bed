"""The client every `kling` command builds, and the one rule for where it may send the key.

A base URL comes from --base-url, else APIKLEY_BASE_URL; plain http only to this machine. With
--simulate the client talks to a private in-process simulator instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from . import exit_codes

if TYPE_CHECKING:
    from . import RequestBudget
    from .cli import CliError
    from .client import Kling

#: Tests point the CLI at an in-process simulator here (transport=, clock=, base_url=).
#: Never read from the environment: a user cannot reach it by accident.
_overrides: dict[str, Any] = {}


def _api_key(simulate: bool) -> str:
    from . import cli

    if simulate:
        from .simulator import DEFAULT_API_KEY

        return DEFAULT_API_KEY
    key = os.environ.get(cli.ENV_KEY, "").strip()
    if not key:
        raise cli.CliError(
            f"no API key: set {cli.ENV_KEY} (export {cli.ENV_KEY}=sk-...), or add --simulate to try the built-in simulator",
            exit_codes.AUTH,
        )
    cli.add_secret(key)
    return key


def overridden(name: str) -> Any:
    """A test's override of a client setting (`clock`, `transport`, ...), else None."""
    return _overrides.get(name)


def _checked_base_url(base: str, flag: str) -> str:
    """A base URL the CLI will send a key to: http(s) with a host; plain http only to this machine."""
    from urllib.parse import urlsplit

    from . import cli
    from ._net import is_loopback_url

    try:
        url = urlsplit(base)
        host = url.hostname
    except ValueError:
        url, host = None, None
    if url is None or url.scheme not in ("http", "https") or not host:
        raise cli.CliError(f"{flag}: not an http(s) URL with a host: {base!r}", exit_codes.USAGE)
    if url.scheme == "http" and not is_loopback_url(base):
        raise cli.CliError(
            f"{flag}: plain http only to this machine (localhost or a loopback IP), else https: {base!r}",
            exit_codes.USAGE,
        )
    return base


def base_url_for(base_url: str | None) -> str | None:
    """The URL the commands send to: --base-url, else APIKLEY_BASE_URL, else None (the SDK's default)."""
    from . import cli

    flag = (base_url or cli.root_base_url() or "").strip()
    if flag:
        return _checked_base_url(flag, "--base-url")
    env = os.environ.get(cli.ENV_BASE_URL, "").strip()
    return _checked_base_url(env, cli.ENV_BASE_URL) if env else None


def resume_command(*words: str, base_url: str | None = None) -> str:
    """The `kling ...` line that picks up where this one stopped (with the --base-url given, if any)."""
    import shlex

    from . import cli

    flag = (base_url or cli.root_base_url() or "").strip()
    return shlex.join(["kling", *words, *(["--base-url", flag] if flag else [])])


def interrupted(task_id: str, *, done: bool, resume: str) -> CliError:
    """Ctrl-C once a task exists: say that it goes on (and is paid) and how to pick it up."""
    from . import cli

    state = "has finished on the service" if done else "keeps running on the service"
    return cli.CliError(
        f"interrupted; task {task_id} {state} (and is paid): `{resume}` picks it up",
        exit_codes.INTERRUPTED,
        task_id=task_id,
    )


@contextmanager
def client(
    *, simulate: bool = False, base_url: str | None = None, rate_limit: float | RequestBudget | None = None
) -> Iterator[Kling]:
    """A Kling client for the real service, `base_url` (--base-url, else APIKLEY_BASE_URL), or an in-process
    simulator, drawing every request from `rate_limit` (a rate, or a budget shared with other workers).
    Every command builds its client here, so a rule about base URLs is made once."""
    from . import cli
    from ._net import is_loopback_url
    from .client import Kling

    if simulate and (base_url or cli.root_base_url()):
        raise cli.CliError(
            "--simulate runs a private in-process simulator; with --base-url, drop --simulate", exit_codes.USAGE
        )
    base = None if simulate else base_url_for(base_url)
    key = _api_key(simulate)
    kwargs: dict[str, Any] = {} if rate_limit is None else {"rate_limit": rate_limit}
    sim = None
    if simulate and "transport" not in _overrides:
        from .clock import SystemClock
        from .simulator import Simulator, Timings

        # A demo of several seconds in which the SDK's real polling schedule (a query every 2.5-3 s at
        # first) sees each phase: waiting, queuing, generating.
        timings = Timings(waiting=1.0, queuing=2.5, generation=4.0)
        sim = Simulator(clock=SystemClock(), api_keys=(key,), timings=timings)
        kwargs.update(base_url=sim.base_url, transport=sim.sync_transport(), allow_insecure_http=True)
    elif base is not None:
        kwargs["base_url"] = base
        # Plain http only to this machine (a served simulator); a key never crosses a network in clear.
        kwargs["allow_insecure_http"] = is_loopback_url(base)
    kwargs.update(_overrides)
    kling = Kling(api_key=key, **kwargs)
    try:
        yield kling
    finally:
        kling.close()
        if sim is not None:
            sim.close()
