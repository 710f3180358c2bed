"""`kling upload FILE`: a local file uploaded, its URL printed for a file field."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from apikley_kling import exit_codes as X

from .._client import client
from .._common import BaseUrlOpt, JsonOpt, SimOpt, command_app, exits, guard, print_json
from .._examples import ExampleCommand

app = command_app()


@app.command("upload", cls=ExampleCommand, epilog=exits(X.OK, X.USAGE, X.AUTH, X.API, X.INTERRUPTED))
@guard
def upload(
    path: Annotated[Path, typer.Argument(help="A local file that some model takes (`kling models M` says which).")],
    base_url: BaseUrlOpt = None,
    simulate: SimOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Upload a file and print the URL to use in a file field (files expire after 3 days)."""
    with client(simulate=simulate, base_url=base_url) as kling:
        # The SDK checks the file (type from its bytes, size) before anything is sent.
        url = kling.files.upload(path.expanduser())
    if as_json:
        print_json({"ok": True, "url": url, "path": str(path)})
    else:
        sys.stdout.write(url + "\n")
