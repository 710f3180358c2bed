"""The shells: Kling (blocking) and AsyncKling perform the engine's effects (send, sleep, stream) and nothing else.

base       configuration and connections, shared; how a Call becomes a request of the generated client
sync       Kling: effects performed blocking
async_     AsyncKling: effects performed with await
resources  kling.tasks and kling.files, written once for both shells
"""
