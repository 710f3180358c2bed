"""The Simulator's configuration, in three frozen parts with every default here.

    Simulator(clock=clock, timings=Timings(generation=90), money=Money(credits=1e9))

- `Timings`: how a task goes (seconds in each phase, how likely it fails) and how
  its callback is delivered.
- `Limits`: what the service refuses or forgets: body sizes, the per-key rate
  limit, retention of uploads, results and download tokens.
- `Money`: each key's starting balance and the price of a second of video.

Change one field of a running simulator's part with `dataclasses.replace`, e.g.
`sim.limits = replace(sim.limits, rate=5.0)` (`set_callback_mode` does that for
`Timings`); a running per-key bucket keeps the rate it started with.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from .callbacks import CALLBACK_MODES

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
    """Credits. The provider's pages state no prices, so a task costs `per_second` times the seconds of video
    it asks for, whatever the model (5 a second keeps 25 for the default model's 5 s clip), taken at create
    time and not refunded when the task fails. Every API key starts with `credits`."""

    credits: float = 1000.0
    per_second: float = 5.0
