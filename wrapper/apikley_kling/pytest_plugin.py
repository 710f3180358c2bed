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
    return DEFAULT_API_KEY


@pytest.fixture
def kling_simulator(kling_api_key: str) -> Iterator[Simulator]:
    from apikley_kling.clock import VirtualClock
    from apikley_kling.simulator import Simulator

    sim = Simulator(clock=VirtualClock(), api_keys=(kling_api_key,))
    try:
        yield sim
    finally:
        sim.close()


@pytest.fixture
def kling_served_simulator(kling_api_key: str) -> Iterator[Simulator]:
    from apikley_kling.simulator import Simulator

    sim = Simulator(
        api_keys=(kling_api_key,),
        waiting_time=0.05,
        queuing_time=0.05,
        generation_time=0.3,
        external_images="placeholder",
    )
    with sim.serve(port=0):
        try:
            yield sim
        finally:
            sim.close()


@pytest.fixture
def kling_simulator_url(kling_served_simulator: Simulator) -> str:
    return kling_served_simulator.base_url
