"""Where `kling generate` and `kling download` will write, checked before anything is sent or paid.

A video that is paid for and then cannot be saved is the worst outcome of the
CLI, so the output is checked first: its folder must exist or be creatable and
must take a new file (tried, not guessed from permission bits: root passes
every permission check and still cannot write to /proc); an existing file is
replaced only with --overwrite. `-o FOLDER` (an existing folder, or a name
ending in a separator) keeps meaning "<task id>.mp4 in that folder".
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from apikley_kling import exit_codes
from apikley_kling.downloads import target_path

from ._common import CliError

OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Replace the output file if it exists (default: refuse, exit 2).")
]


def _refuse(why: str) -> CliError:
    return CliError(f"--output: {why}; nothing was sent", exit_codes.USAGE)


def _existing_ancestor(folder: Path) -> Path:
    here = folder
    while not here.exists() and not here.is_symlink():
        if here.parent == here:
            break
        here = here.parent
    return here


def _writable(folder: Path) -> str | None:
    """None when a new file can be made in `folder` (or in the folders that will be made there), else why not."""
    base = _existing_ancestor(folder)
    if not base.is_dir():
        return f"{base} is not a folder"
    try:
        fd, probe = tempfile.mkstemp(prefix=".kling-probe-", dir=base)
    except OSError as exc:
        return f"cannot write in {base} ({exc.strerror or exc})"
    os.close(fd)
    os.unlink(probe)
    return None


def check_output(output: str | None, *, task_id: str | None, overwrite: bool) -> Path:
    """The folder or file to pass to the SDK, once it is known to be writable (CliError, exit 2, if not).

    `output` is the text as typed (a Path would lose the trailing separator that means a folder); a folder
    meant is made here, so that the SDK sees an existing folder. `task_id` names the file of a folder output
    when it is known (a download); a new task's file (`generate -o FOLDER`) cannot exist yet.
    """
    chosen = Path(output or ".").expanduser()
    folder_meant = chosen.is_dir() or (output or "").endswith(("/", os.sep))
    if folder_meant:
        why = _writable(chosen)
        if why:
            raise _refuse(why)
        try:
            chosen.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _refuse(f"cannot make the folder {chosen} ({exc.strerror or exc})") from None
        if task_id is None:
            return chosen
    target = target_path(chosen, task_id)
    if target.is_dir():
        raise _refuse(f"{target} is a folder")
    if target.exists() and not overwrite:
        raise _refuse(f"{target} exists (add --overwrite to replace it)")
    if target.exists() and not target.is_file():
        raise _refuse(f"{target} is not a regular file")
    why = _writable(target.parent)
    if why:
        raise _refuse(why)
    return chosen
