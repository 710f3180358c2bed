"""apikley-kling: turn images (and text) into videos with every Kling model on Apikley.

    from apikley_kling import Kling
    with Kling() as kling:                       # APIKLEY_API_KEY, APIKLEY_BASE_URL
        task = kling.generate("A cat walks", image="cat.png", output="cat.mp4")

`import apikley_kling` costs about `import httpx`: the generated client and the
bundled spec are loaded on first use.
"""

from typing import TYPE_CHECKING, Any

from ._client import AsyncKling, Kling
from ._config import DEFAULT_TIMEOUT, ENV_BASE_URL, ENV_KEY
from ._engine.inbox import CallbackInbox
from ._engine.retry import RetryPolicy
from ._net import SIMULATOR_PORT
from ._text import for_terminal
from ._version import __version__
from .callbacks import ReplayGuard, SqliteReplayGuard, callback_app, sign_callback, verify_callback
from .clock import Clock, SystemClock, VirtualClock
from .errors import (
    AmbiguousSubmit,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    FeatureDisabled,
    GenerationFailed,
    InsufficientCreditsError,
    InvalidCallback,
    KlingError,
    MaintenanceError,
    NotFoundError,
    ProtocolError,
    RateLimitError,
    ReplayedCallback,
    ServerError,
    SpendLimitExceeded,
    TaskTimeout,
    TransportError,
    UnsafeURL,
    ValidationError,
)
from .events import DownloadProgress, PriceDifference, TaskUpdate, UploadProgress
from .models import Task, TaskState

if TYPE_CHECKING:
    from ._engine.schedule import RequestBudget
    from .catalog import Field, FileRule, Model, Models
    from .catalog import models as load_models
    from .pricing import Estimate, PriceCard, estimate, load_card
    from .watch import AsyncWatch, Watch, WatchOptions

# The model catalog reads the bundled spec and builds its classes on first use; the
# scheduler and the watcher load with the first client: none of them on import. name -> (module, attribute).
_LAZY = {
    "Field": ("catalog", "Field"),
    "FileRule": ("catalog", "FileRule"),
    "Model": ("catalog", "Model"),
    "Models": ("catalog", "Models"),
    "load_models": ("catalog", "models"),
    "Estimate": ("pricing", "Estimate"),
    "PriceCard": ("pricing", "PriceCard"),
    "estimate": ("pricing", "estimate"),
    "load_card": ("pricing", "load_card"),
    "RequestBudget": ("_engine.schedule", "RequestBudget"),
    "AsyncWatch": ("watch", "AsyncWatch"),
    "Watch": ("watch", "Watch"),
    "WatchOptions": ("watch", "WatchOptions"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'apikley_kling' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "DEFAULT_TIMEOUT",
    "ENV_BASE_URL",
    "ENV_KEY",
    "SIMULATOR_PORT",
    "APIError",
    "AmbiguousSubmit",
    "AsyncKling",
    "AsyncWatch",
    "AuthenticationError",
    "BadRequestError",
    "CallbackInbox",
    "Clock",
    "ConfigurationError",
    "DownloadProgress",
    "Estimate",
    "FeatureDisabled",
    "Field",
    "FileRule",
    "GenerationFailed",
    "InsufficientCreditsError",
    "InvalidCallback",
    "Kling",
    "KlingError",
    "MaintenanceError",
    "Model",
    "Models",
    "NotFoundError",
    "PriceCard",
    "PriceDifference",
    "ProtocolError",
    "RateLimitError",
    "ReplayGuard",
    "ReplayedCallback",
    "RequestBudget",
    "RetryPolicy",
    "ServerError",
    "SpendLimitExceeded",
    "SqliteReplayGuard",
    "SystemClock",
    "Task",
    "TaskState",
    "TaskTimeout",
    "TaskUpdate",
    "TransportError",
    "UnsafeURL",
    "UploadProgress",
    "ValidationError",
    "VirtualClock",
    "Watch",
    "WatchOptions",
    "__version__",
    "callback_app",
    "estimate",
    "for_terminal",
    "load_card",
    "load_models",
    "sign_callback",
    "verify_callback",
]
