"""`kling contract-check`: the contract checker of `apikley_kling.contract`, its Typer command as it is.

`python -m apikley_kling.contract` runs the same command; only the example at the end of the help is the CLI's.
"""

from __future__ import annotations

from apikley_kling.contract import EPILOG, check

from .._common import command_app
from .._examples import ExampleCommand

app = command_app()
app.command("contract-check", cls=ExampleCommand, epilog=EPILOG)(check)
