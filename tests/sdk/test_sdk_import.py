"""`import apikley_kling` stays light: heavy modules load on first use."""

from __future__ import annotations

import subprocess
import sys

import apikley_kling


def test_import_is_light() -> None:
    code = (
        "import sys, apikley_kling\n"
        "heavy = ['yaml', 'jsonschema', 'typer', 'starlette', 'av', 'apikley_kling_api', 'attrs', 'numpy']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""  # (rich is not listed: `import httpx` itself loads it when click is installed)


def test_public_names() -> None:
    for name in (
        "Kling",
        "AsyncKling",
        "Task",
        "TaskState",
        "verify_callback",
        "VirtualClock",
        "KlingError",
        "TaskTimeout",
        "AmbiguousSubmit",
        "CallbackInbox",
        "UploadProgress",
        "TaskUpdate",
        "DownloadProgress",
    ):
        assert hasattr(apikley_kling, name)
    assert set(apikley_kling.__all__) <= set(dir(apikley_kling))
