"""The CLI package's shape: the public SDK only, commands imported when run, one help layout and vocabulary."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from apikley_kling import cli, exit_codes
from apikley_kling.cli._app import COMMANDS
from typer.testing import CliRunner

CLI = Path(cli.__file__).parent
# One name for one thing, across every command that has it.
SAME_THING = {"--key-file": "key", "--base-url": "URL", "--json": "JSON", "--rate-limit": "per second"}
OLD_NAMES = {"--api-key-file", "--simulator", "--api-key", "--apikey", "--url", "--rate", "--requests-per-second"}


def _private_sdk_imports(path: Path) -> list[str]:
    """Imports of a private SDK module or name (`apikley_kling._x`, `from .._x`, `from apikley_kling import _x`)."""
    depth = len(path.relative_to(CLI).parts)  # a relative import above this level reaches apikley_kling
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            bad += [a.name for a in node.names if a.name.startswith("apikley_kling.") and _private(a.name, 1)]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level > depth:  # reaches the SDK, outside cli/
                module = "apikley_kling" + ("." + module if module else "")
            elif node.level:  # cli's own modules: private ones are its business
                continue
            if module.startswith("apikley_kling") and (
                _private(module, 1) or any(a.name.startswith("_") and not a.name.startswith("__") for a in node.names)
            ):
                bad.append(f"{module}: {', '.join(a.name for a in node.names)}")
    return bad


def _private(dotted: str, skip: int) -> bool:
    return any(part.startswith("_") for part in dotted.split(".")[skip:])


def test_the_cli_imports_nothing_private_from_the_sdk() -> None:
    found = {str(p.relative_to(CLI)): _private_sdk_imports(p) for p in sorted(CLI.rglob("*.py"))}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_private_import_check_catches_each_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "cli"
    (fake / "commands").mkdir(parents=True)
    (fake / "commands" / "x.py").write_text(
        "from ..._net import is_loopback_url\nfrom apikley_kling._text import for_terminal\n"
        "import apikley_kling._engine.config\nfrom apikley_kling import _cli_client\nfrom .._common import guard\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "CLI", fake)
    assert len(_private_sdk_imports(fake / "commands" / "x.py")) == 4


def test_commands_import_no_other_command() -> None:
    for path in sorted((CLI / "commands").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                pytest.fail(f"{path.name} imports a sibling command: .{node.module}")


def test_help_lists_every_command_without_importing_one() -> None:
    code = (
        "import sys; from apikley_kling.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('apikley_kling.cli.commands.')), file=sys.stderr)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stderr.strip() == "[]"
    listed = " ".join(run.stdout.split())
    for name, entry in COMMANDS.items():
        assert f"{name} {' '.join(entry.help.split())}" in listed


def _help(name: str) -> str:
    result = CliRunner().invoke(cli.app, [name, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stdout
    return result.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_help_has_one_layout_and_its_exit_codes(name: str) -> None:
    text = _help(name)
    heads = ["Usage: kling " + name, "Options:", "Exit codes:"]
    at = [text.find(h) for h in heads]
    assert at[0] == 0 and all(i > 0 for i in at[1:]) and at == sorted(at), (name, list(zip(heads, at, strict=True)))
    description = text[: at[1]].split("\n", 1)[1]
    assert description.strip(), name  # usage, then what the command does, then its options, then its exit codes
    codes = [
        int(line.split()[0]) for line in text.split("Exit codes:")[1].splitlines()[1:] if line.strip()[:1].isdigit()
    ]
    assert codes and codes[0] == exit_codes.OK
    for code in codes:
        assert exit_codes.MEANINGS[code].split(" (")[0] in text
    assert "--install-completion" not in text and "╭" not in text  # the root's plain help, not rich boxes


def test_one_name_for_one_thing_across_commands() -> None:
    seen: dict[str, set[str]] = {}
    for name in COMMANDS:
        options = {
            word.rstrip(",") for line in _help(name).splitlines() for word in line.split() if word.startswith("--")
        }
        assert not options & OLD_NAMES, (name, options & OLD_NAMES)
        for option in options:
            seen.setdefault(option, set()).add(name)
    # The shared things are spelled the same where they appear at all.
    assert {"--base-url", "--json", "--timeout", "--rate-limit", "--key-file", "--simulate"} <= set(seen)
    assert seen["--rate-limit"] >= {"batch", "contract-check"}
    assert seen["--key-file"] >= {"listen", "contract-check"}
    assert seen["--simulate"] >= {"generate", "credits", "batch", "contract-check"}
    assert seen["--base-url"] >= {"generate", "status", "contract-check"}


def test_the_table_help_is_each_command_own_first_line() -> None:
    for name, entry in COMMANDS.items():
        flat = " ".join(_help(name).split())
        if name != "generate":  # generate's help is rebuilt per model; its table line is its docstring's
            assert " ".join(entry.help.split()) in flat, name
