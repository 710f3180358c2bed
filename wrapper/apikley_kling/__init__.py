"""apikley-kling: turn images (and text) into videos with every Kling model on Apikley.

    from apikley_kling import Kling
    with Kling() as kling:                       # APIKLEY_API_KEY, APIKLEY_BASE_URL
        task = kling.generate("A cat walks", image="cat.png", output="cat.mp4")

`import apikley_kling` costs about `import httpx`: the generated client and the
bundled spec are loaded on first use.
"""

from ._version import __version__
from .callbacks import ReplayGuard, callback_app, sign_callback, verify_callback
from .catalog import Field, FileRule, Model, Models
from .catalog import models as load_models
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
from .polling import CallbackInbox, Waiter, poll_interval
from .retry import RetryPolicy

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
    "RetryPolicy",
    "ServerError",
    "SystemClock",
    "Task",
    "TaskState",
    "TaskTimeout",
    "TaskUpdate",
    "TransportError",
    "UploadProgress",
    "ValidationError",
    "VirtualClock",
    "Waiter",
    "__version__",
    "callback_app",
    "load_models",
    "poll_interval",
    "sign_callback",
    "verify_callback",
]
