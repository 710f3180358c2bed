"""The Simulator's configuration, in three frozen parts with every default here.

    Simulator(clock=clock, timings=Timings(generation=90), money=Money(credits=1e9))

- `Timings`: how a task goes (seconds in each phase, how likely it fails) and how
  its callback is delivered.
- `Limits`: what the service refuses or forgets: body sizes, the per-key rate
  limit, retention of uploads, results and download tokens.
- `Money`: each key's starting balance and what a create costs (the rate card, else a price per second).

Change one field of a running simulator's part with `dataclasses.replace`, e.g.
`sim.limits = replace(sim.limits, rate=5.0)` (`set_callback_mode` does that for
`Timings`); a running per-key bucket keeps the rate it started with.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._callbacks import CALLBACK_MODES

if TYPE_CHECKING:
    from apikley_kling.catalog import Model
    from apikley_kling.pricing import PriceCard

__all__ = ["GenerationTime", "Limits", "Money", "Timings"]

_DAY = 86_400.0
_MIB = 1024 * 1024

# A generation time: seconds, or a function of (video seconds, seeded RNG) for a distribution.
GenerationTime = float | Callable[[int, random.Random], float]


@dataclass(frozen=True)
class Timings:
    """How a task goes, on the simulator's clock.

    A task waits `waiting` seconds, queues `queuing` seconds and generates for
    `generation` (seconds, or a function of the video's seconds and the seeded
    RNG); it then fails with `fail_probability`, else succeeds. Its callback is
    delivered as `callback_mode` says (see callbacks.CallbackMode), `late` and
    `out_of_order` holding it up to `callback_delay` seconds.
    """

    waiting: float = 1.0
    queuing: float = 3.0
    generation: GenerationTime = 20.0
    fail_probability: float = 0.0
    callback_mode: str = "normal"
    callback_delay: float = 0.0

    def __post_init__(self) -> None:
        if self.callback_mode not in CALLBACK_MODES:
            raise ValueError(f"unknown callback mode {self.callback_mode!r}; known: {', '.join(CALLBACK_MODES)}")

    @classmethod
    def instant(cls, fail_probability: float = 0.0) -> Timings:
        """Tasks end the moment they are created (no phases): a frozen clock reads only final answers."""
        return cls(waiting=0.0, queuing=0.0, generation=0.0, fail_probability=fail_probability)


@dataclass(frozen=True)
class Limits:
    """What the service refuses or forgets.

    Sizes are enforced before a body is read (on Content-Length, then on the
    running count as it streams): JSON requests `json_max_bytes` (the spec states
    no limit; 1 MiB is far above any model's fields), file uploads
    `upload_max_bytes` (the url-upload description's "about 100 MB"), a base64
    upload the base64 size of that (`base64_max_bytes`).

    Rate limiting (off while `rate` is None): `rate` API requests a second per
    key, in bursts of `burst` (default max(1, rate)); /sim/files is not limited.

    Retention, applied at each create and upload: an upload goes `file_ttl`
    after it arrived, a task and its video `result_ttl` after it ended
    (recordInfo then answers as for an unknown task; None: never), a download
    token after `download_url_ttl` (the spec's "valid for 20 minutes"); past
    `max_tasks` ended tasks or `max_files` uploads the oldest go first. Running
    tasks are never dropped.
    """

    json_max_bytes: int = _MIB
    upload_max_bytes: int = 100 * _MIB
    rate: float | None = None
    burst: float | None = None
    file_ttl: float | None = 3 * _DAY
    result_ttl: float | None = _DAY
    download_url_ttl: float = 20 * 60.0
    max_tasks: int = 10_000
    max_files: int = 10_000

    @property
    def base64_max_bytes(self) -> int:
        """A base64 upload's JSON may carry the base64 of upload_max_bytes (4 bytes per 3), plus its fields."""
        return 4 * -(-self.upload_max_bytes // 3) + 64 * 1024


@dataclass(frozen=True)
class Money:
    """Credits. A task costs what the rate card (`prices`, default: the bundled `spec/prices.yaml`, the SDK's
    own card) says for its model and input, so that an SDK estimate can be checked exactly against the
    balance; a model without a price on the card costs `per_second` times the seconds of video it asks for.
    Taken at create time, not refunded when the task fails. Every API key starts with `credits`."""

    credits: float = 1000.0
    per_second: float = 5.0
    prices: PriceCard | None = None

    def cost(self, model: Model, given: Mapping[str, Any], seconds: int) -> float:
        """The credits a create of `model` with input `given` (as sent) costs."""
        from apikley_kling.pricing import bundled_card, estimate_input

        card = self.prices if self.prices is not None else bundled_card()
        credits = estimate_input(card, model, given).credits
        return credits if credits is not None else self.per_second * seconds
