"""Contains shared errors types that can be raised from API functions"""

from collections.abc import Mapping


class UnexpectedStatus(Exception):
    """Raised by api functions when the response status an undocumented status and Client.raise_on_unexpected_status is True"""

    def __init__(self, status_code: int, content: bytes):
        self.status_code = status_code
        self.content = content

        super().__init__(
            f"Unexpected status code: {status_code}\n\nResponse content:\n{content.decode(errors='ignore')}"
        )


class UnexpectedBody(Exception):
    """Raised when an answer's body is not what the spec describes for its status:
    not JSON (an HTML error page, an empty body) or JSON of the wrong shape.

    Added by the apikley-kling template so that callers get one clear error
    instead of a ValueError or TypeError from inside a model. The headers stay
    with it: an HTML 429 or 503 page still carries a Retry-After to honour."""

    def __init__(self, status_code: int, content: bytes, headers: Mapping[str, str] | None = None):
        self.status_code = status_code
        self.content = content
        self.headers = headers
        excerpt = content[:200].decode(errors="replace")
        super().__init__(f"Unexpected body for HTTP {status_code}: {excerpt!r}")


__all__ = ["UnexpectedBody", "UnexpectedStatus"]
