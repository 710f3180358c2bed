"""How a shell drives an operation: resume it with each effect's result until it returns.

Kept apart from the effect classes so that `import apikley_kling` does not build them
(the engine loads with the first client).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from .effects import Effect, Op

__all__ = ["Finished", "advance"]

T = TypeVar("T")


class Finished(Generic[T]):
    """An operation's return value."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


def advance(op: Op[T], value: Any, error: BaseException | None) -> Effect | Finished[T]:
    """Resume `op` with the last effect's result (or its exception): its next effect, or its return value."""
    try:
        return op.throw(error) if error is not None else op.send(value)
    except StopIteration as stop:
        return Finished(stop.value)
