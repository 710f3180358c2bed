"""pytest fixtures that hand out a Kling simulator, so tests run without credits or network.

Registered as a pytest11 entry point: installing apikley-kling[simulator] makes
them available everywhere.

- `kling_simulator`: an in-process Simulator on a VirtualClock. Use
  `kling_simulator.sync_transport()` / `.async_transport()` with httpx (or the
  SDK's `transport=`), and `kling_simulator.advance(seconds)` to age tasks.
- `kling_simulator_url`: the URL of a Simulator served on 127.0.0.1 (free
  port) on the real clock, with sub-second generation so that code which
  only knows a URL finishes quickly; `kling_served_simulator` is that
  Simulator, for counters and faults.
- `kling_api_key`: the key both accept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from apikley_kling.simulator import Simulator

# Every pytest session of anyone who installed the package loads this module:
# the simulator (starlette, jsonschema, PyAV...) is imported only when a fixture is used.
DEFAULT_API_KEY = "sk-sim-local"


@pytest.fixture
def kling_api_key() -> str:
    """The API key the plugin's simulators accept, "sk-sim-local": a plain string, no clock, nothing to stop.

    Override this fixture in your conftest.py to make `kling_simulator` and
    `kling_served_simulator` accept another key (and only that one).
    """
    return DEFAULT_API_KEY


@pytest.fixture
def kling_simulator(kling_api_key: str) -> Iterator[Simulator]:
    """An in-process Simulator on its own VirtualClock (no socket, no real waiting), closed after the test.

    Time moves only when something advances the clock: `kling_simulator.advance(s)`,
    or a client that shares `kling_simulator.clock` and sleeps on it
    (`Kling(..., transport=kling_simulator.sync_transport(), clock=kling_simulator.clock)`
    waits out a task in microseconds). Reach it with `base_url=kling_simulator.base_url`
    and `.sync_transport()` / `.async_transport()`; `.counters` counts paid tasks and
    `.faults` injects failures. New for each test.
    """
    from apikley_kling.clock import VirtualClock
    from apikley_kling.simulator import Simulator

    sim = Simulator(clock=VirtualClock(), api_keys=(kling_api_key,))
    try:
        yield sim
    finally:
        sim.close()


@pytest.fixture
def kling_served_simulator(kling_api_key: str) -> Iterator[Simulator]:
    """A Simulator served on 127.0.0.1 (a free port) on the real clock, stopped after the test.

    The one behind `kling_simulator_url`, with sub-second tasks (0.05 s waiting,
    0.05 s queuing, 0.3 s generating) and any image URL accepted (a test card
    stands in). Use it for its `.counters`, `.faults`, `.set_callback_mode()` and
    `.base_url`. New for each test; at teardown the simulator closes and its
    server stops.
    """
    from apikley_kling.simulator import Simulator, Timings

    sim = Simulator(
        api_keys=(kling_api_key,),
        external_images="placeholder",
        timings=Timings(waiting=0.05, queuing=0.05, generation=0.3),
    )
    with sim.serve(port=0):
        try:
            yield sim
        finally:
            sim.close()


@pytest.fixture
def kling_simulator_url(kling_served_simulator: Simulator) -> str:
    """http://127.0.0.1:PORT of `kling_served_simulator` (real clock), for code that only takes a URL.

    Tasks take under a second. `Kling(api_key=kling_api_key, base_url=kling_simulator_url)`,
    or a `kling` subprocess with APIKLEY_BASE_URL and APIKLEY_API_KEY set to these two,
    talks to it as to the service. The server stops by itself at the end of the test.
    """
    return kling_served_simulator.base_url
