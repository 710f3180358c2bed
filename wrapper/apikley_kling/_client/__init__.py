"""The shells: Kling (blocking) and AsyncKling perform the engine's effects (send, sleep, stream, files) and
nothing else.

base       configuration and connections, shared; how a Call becomes a request of the generated client
sync       Kling: effects performed blocking
async_     AsyncKling: effects performed with await (file work off the event loop)
resources  kling.tasks and kling.files, written once for both shells
"""

from .async_ import AsyncKling
from .sync import Kling

__all__ = ["AsyncKling", "Kling"]
