"""The `kling` command: videos from images and text with every Kling model on Apikley.

`app` (Typer) and its command table live in `_app`; each command is a module of
`commands/`, a plain sequence of public SDK calls; `_common` holds what they share
(one-line errors, output, options), `_client` the client every command builds, and
`_session` one run's state (--debug, secrets, the root --base-url).
"""

from __future__ import annotations

from ._app import app, main

__all__ = ["app", "main"]
