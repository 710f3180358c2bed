"""One `kling` run's state: --debug, the secrets never to print, the root --base-url.

The root callback begins a Session for each run (`begin`); commands and helpers read it with
`current()`. The worker threads of a batch redact with the same Session, so it is held by the
module, not by a context variable (which a new thread would not see).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Session:
    """What one run of `kling` knows beyond its command's options."""

    debug: bool = False
    base_url: str | None = None  # the root --base-url, for the commands that have none of their own
    secrets: set[str] = field(default_factory=set)

    def add_secret(self, secret: str) -> None:
        """Never print this value (a key read from the environment, a webhook key, a ledger password)."""
        if secret:
            self.secrets.add(secret)

    def redact(self, text: str) -> str:
        """`text` without any secret this run has seen."""
        for s in self.secrets:
            text = text.replace(s, "***")
        return text


class _Holder:
    session = Session()


def current() -> Session:
    """The Session of the run under way (a blank one before any run)."""
    return _Holder.session


def begin(*, debug: bool = False, base_url: str | None = None) -> Session:
    """A fresh Session for a new run: nothing of a previous run (a test's, in-process) carries over."""
    _Holder.session = Session(debug=debug, base_url=base_url)
    return _Holder.session
