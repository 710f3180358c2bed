"""The CLI page of the documentation site (cli.md): every command's `--help`, as the `kling` app prints it.

A MkDocs hook (mkdocs.yml `hooks:`): at each build it runs the app's help for the root and for each name
of the command table, so the page cannot fall behind the commands and is never written by hand.

    .venv/bin/python -m scripts.cli_docs   # print the page (what the build adds as cli.md)
"""

from __future__ import annotations

from typing import Any

PAGE = "cli.md"
WIDTH = 100  # a fixed width: the page is the same on every terminal
INTRO = """# The `kling` command

Generated at each documentation build from the command table: each section is what `kling NAME --help`
prints. Every command ends its help with the exit codes it can return; `--base-url URL` and `--debug` are
accepted by every command.
"""


def _help(args: list[str]) -> str:
    from apikley_kling.cli import app
    from typer.testing import CliRunner

    # No key, no base URL from the caller's shell: the help must not depend on who builds the site.
    env: dict[str, str | None] = {"APIKLEY_API_KEY": None, "APIKLEY_BASE_URL": None, "COLUMNS": str(WIDTH)}
    run = CliRunner().invoke(app, [*args, "--help"], prog_name="kling", terminal_width=WIDTH, env=env)
    if run.exit_code != 0:
        raise RuntimeError(f"`kling {' '.join(args)} --help` exited {run.exit_code}: {run.output[:500]}")
    return str(run.output).rstrip() + "\n"


def command_names() -> list[str]:
    """The names of the command table, in its order (listing them imports no command module)."""
    import typer
    from apikley_kling.cli import app
    from typer.core import TyperGroup

    group = typer.main.get_command(app)
    if not isinstance(group, TyperGroup):
        raise RuntimeError("the kling app is not a group of commands")
    ctx = group.make_context("kling", [], resilient_parsing=True)
    return [str(name) for name in group.list_commands(ctx)]


def render() -> str:
    """The whole page: the root's help, then one section per command."""
    parts = [INTRO, "## kling", "", "```text", _help([]).rstrip(), "```", ""]
    for name in command_names():
        parts += [f"## kling {name}", "", "```text", _help([name]).rstrip(), "```", ""]
    return "\n".join(parts)


def on_files(files: Any, config: Any) -> Any:
    """MkDocs hook: add cli.md, rendered now, to the site's files."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=render()))
    return files


if __name__ == "__main__":
    print(render(), end="")
