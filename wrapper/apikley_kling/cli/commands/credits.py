"""`kling credits`: the account's remaining credits."""

from __future__ import annotations

from apikley_kling import exit_codes as X

from .._client import client
from .._common import BaseUrlOpt, JsonOpt, SimOpt, command_app, exits, guard, print_json, stdout_console
from .._examples import ExampleCommand

app = command_app()


@app.command("credits", cls=ExampleCommand, epilog=exits(X.OK, X.USAGE, X.AUTH, X.API, X.INTERRUPTED))
@guard
def credits(base_url: BaseUrlOpt = None, simulate: SimOpt = False, as_json: JsonOpt = False) -> None:
    """Show the account's remaining credits."""
    with client(simulate=simulate, base_url=base_url) as kling:
        left = kling.credits()
    if as_json:
        print_json({"ok": True, "credits": left})
    else:
        stdout_console().print(f"{left:g} credits")
