"""apikley-kling: turn images (and text) into videos with every Kling model on Apikley.

    from apikley_kling import Kling
    with Kling() as kling:                       # APIKLEY_API_KEY, APIKLEY_BASE_URL
        task = kling.generate("A cat walks", image="cat.png", output="cat.mp4")

`import apikley_kling` costs about `import httpx`: the generated client and the
bundled spec are loaded on first use.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .callbacks import ReplayGuard, SqliteReplayGuard, callback_app, sign_callback, verify_callback
from .client import AsyncKling, Kling
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
    TaskTimeout,
    TransportError,
    ValidationError,
)
from .events import DownloadProgress, TaskUpdate, UploadProgress
from .models import Task, TaskState
from .polling import CallbackInbox, RequestBudget
from .retry import RetryPolicy

if TYPE_CHECKING:
    from .catalog import Field, FileRule, Model, Models
    from .catalog import models as load_models

# The model catalog reads the bundled spec and builds its classes on first use, not on import.
_LAZY = {"Field": "Field", "FileRule": "FileRule", "Model": "Model", "Models": "Models", "load_models": "models"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import catalog

        value = getattr(catalog, _LAZY[name])
        globals()[name] = value
        return value
    raise AttributeError(f"module 'apikley_kling' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "APIError",
    "AmbiguousSubmit",
    "AsyncKling",
    "AuthenticationError",
    "BadRequestError",
    "CallbackInbox",
    "Clock",
    "ConfigurationError",
    "DownloadProgress",
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
    "ProtocolError",
    "RateLimitError",
    "ReplayGuard",
    "ReplayedCallback",
    "RequestBudget",
    "RetryPolicy",
    "ServerError",
    "SqliteReplayGuard",
    "SystemClock",
    "Task",
    "TaskState",
    "TaskTimeout",
    "TaskUpdate",
    "TransportError",
    "UploadProgress",
    "ValidationError",
    "VirtualClock",
    "__version__",
    "callback_app",
    "load_models",
    "sign_callback",
    "verify_callback",
]
