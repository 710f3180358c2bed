"""One module a `kling` command, each with an `app` holding that one command (see `cli._app.COMMANDS`)."""
