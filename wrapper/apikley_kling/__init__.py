"""apikley-kling: turn still images into videos with Kling v2.1 Standard on Apikley."""

from .clock import Clock, SystemClock, VirtualClock

__version__ = "0.1.0"

__all__ = ["Clock", "SystemClock", "VirtualClock", "__version__"]
