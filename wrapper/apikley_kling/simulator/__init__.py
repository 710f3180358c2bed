"""A stateful simulator of the Apikley Kling API (every model of the bundled spec), in-process or on 127.0.0.1.

    sim = Simulator(clock=VirtualClock())
    sim = Simulator(clock=clock, timings=Timings(generation=90), money=Money(credits=1e9))
    with httpx.Client(transport=sim.sync_transport(), base_url=sim.base_url) as http: ...
    with sim.serve(port=0) as url: ...

It needs the [simulator] extra; without it, importing this package raises
`SimulatorNotInstalled` (a ModuleNotFoundError) whose one-line message names
the command: pip install "apikley-kling[simulator]".

It validates requests against the bundled spec, ages tasks on an injectable
clock, encodes real MP4s, sends (optionally signed) callbacks, rate-limits and
injects faults on demand. It never imports the SDK client it is meant to test.

Choices where the provider's documents are silent:

- createTask is checked against the schema of the model its body names (the
  spec's discriminator); an unknown or missing model is 422 naming `model`.
- Every file URL in a model's input (its fields with accepted types) must name
  a file this simulator serves (an upload, or any /sim/files URL of its own)
  that has not expired, of a type and size that field accepts; anything else
  is 422 "input.<field>: cannot fetch ...". The simulator never fetches from
  the network. `external_images="placeholder"` accepts any URL instead and
  animates a neutral gradient.
- The video lasts the seconds the model's length field asks for (else 5 s),
  in the shape its W:H field asks for (else 16:9); a model without an image
  field gets a drawn first frame with the prompt's first words.
- file-url-upload copies only this simulator's own URLs (422 otherwise).
- download-url accepts any file this simulator serves (results and uploads)
  and answers a URL with a token valid `Limits.download_url_ttl` (20 min); an
  expired token or file is a 404 on download.
- Credits: the pages state no prices; a task costs what the rate card
  (`spec/prices.yaml`, the SDK's own) says for its model and input, and a
  model without a price there `Money.per_second` x its video seconds; taken
  at create time, not refunded when a task fails. Balances are per API key.
- Rate limiting (off by default) covers the API routes, not /sim/files; its
  429 follows `mirror_http_status` like every other error answer, while
  injected status_* faults always carry the HTTP status they name.
- Faults other than `slow`, `stuck`, `fail` and `drop_after_record` answer
  before anything is processed: nothing is recorded or paid.
- The default callback sender posts only to loopback URLs; others are
  recorded as refused (counters.callbacks_refused). A custom `sender` sees
  every callback whatever its URL.
"""

import warnings
from importlib.util import find_spec
from typing import Any

INSTALL_COMMAND = 'pip install "apikley-kling[simulator]"'

# The modules of the [simulator] extra (import name: distribution). Some are imported
# only when a server starts or a video is encoded, so all are looked for up front: a
# missing one fails here, with the command, instead of half way through a test.
_EXTRA_MODULES: dict[tuple[str, ...], str] = {
    ("starlette",): "starlette",
    ("anyio",): "anyio",
    ("uvicorn",): "uvicorn",
    ("av",): "av",
    ("numpy",): "numpy",
    ("PIL",): "pillow",
    ("python_multipart", "multipart"): "python-multipart",
}


class SimulatorNotInstalled(ModuleNotFoundError):
    """The packages of the [simulator] extra are missing; the message names the command that adds them."""

    install_command = INSTALL_COMMAND

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            f"the simulator needs packages that are not installed ({', '.join(missing)}); "
            f"install them with: {INSTALL_COMMAND}",
            name=missing[0] if missing else None,
        )
        self.missing = missing


def _missing_packages() -> list[str]:
    return [dist for names, dist in _EXTRA_MODULES.items() if not any(find_spec(n) is not None for n in names)]


def _extra_package_of(module: str | None) -> str | None:
    root = (module or "").partition(".")[0]
    return next((dist for names, dist in _EXTRA_MODULES.items() if root in names), None)


if _missing := _missing_packages():
    raise SimulatorNotInstalled(_missing)

try:
    from ._callbacks import CALLBACK_MODES, Delivery, DeliveryResult, sign
    from ._config import Limits, Money, Timings
    from ._faults import FAULT_KINDS, ROUTES, Fault, FaultPlan
    from ._serve import serve_forever, serve_in_thread
    from ._service import DEFAULT_API_KEY, IN_PROCESS_URL, Simulator
    from ._state import Counters, SimulatedTask
    from ._transports import SimAsyncTransport, SimSyncTransport
    from ._validation import Refused
    from ._video import VideoCache, letterbox
except ModuleNotFoundError as exc:  # a submodule of the extra, or one the finder could not see
    if (_package := _extra_package_of(exc.name)) is None:
        raise
    raise SimulatorNotInstalled([_package]) from exc

__all__ = [
    "CALLBACK_MODES",
    "DEFAULT_API_KEY",
    "FAULT_KINDS",
    "INSTALL_COMMAND",
    "IN_PROCESS_URL",
    "ROUTES",
    "Counters",
    "Delivery",
    "DeliveryResult",
    "Fault",
    "FaultPlan",
    "Limits",
    "Money",
    "Refused",
    "SimAsyncTransport",
    "SimSyncTransport",
    "SimulatedTask",
    "Simulator",
    "SimulatorNotInstalled",
    "Timings",
    "VideoCache",
    "letterbox",
    "serve_forever",
    "serve_in_thread",
    "sign",
]


def __getattr__(name: str) -> Any:
    # `Task` was this package's name for a simulated task, beside the SDK's own `apikley_kling.Task`.
    if name == "Task":
        warnings.warn(
            "apikley_kling.simulator.Task is deprecated; use apikley_kling.simulator.SimulatedTask",
            DeprecationWarning,
            stacklevel=2,
        )
        return SimulatedTask
    raise AttributeError(f"module 'apikley_kling.simulator' has no attribute {name!r}")
