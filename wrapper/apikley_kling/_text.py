"""The one place that makes text from outside (the service, a server, a file) fit for a terminal or XML."""

from __future__ import annotations

__all__ = ["for_terminal"]


def _escape(ch: str) -> str:
    if ch.isprintable():
        return ch
    # unicode_escape spells every control, C1, bidi override and lone surrogate as ASCII.
    return ch.encode("unicode_escape", "backslashreplace").decode("ascii")


def for_terminal(text: object, limit: int = 300) -> str:
    """`text` fit for a terminal: control characters (ESC, NUL, BEL, C1, newlines, bidi overrides,
    lone surrogates) escaped as ASCII, and at most `limit` characters of it kept ("..." marks a cut)."""
    s = str(text)
    out = "".join(_escape(ch) for ch in s[:limit])
    return out + ("..." if len(s) > limit else "")
