"""The project's two entry points; each sets itself up on a fresh machine.

    python3 scripts/dev.py demo   # a real video, end to end, against the built-in simulator
    python3 scripts/dev.py test   # the whole test suite (what CI runs)

Only the standard library is used here: it runs before anything is installed.
It makes `.venv/` beside this project and installs the project into it
(editable, with the dev extra) whenever pyproject.toml has changed since the
last install, then runs the command inside that environment. Extra arguments
are passed on (to pytest for `test`, to `kling generate` for `demo`).

`test` also needs a PostgreSQL server's binaries (the ledger tests start their own
server on 127.0.0.1): when none are found under /usr/lib/postgresql/*/bin (or
$KLING_PG_BIN), it installs Debian's (`apt-get install -y postgresql`) and says so.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".apikley-kling-installed"


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before any venv exists
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want:
        return
    print("installing apikley-kling and its dev tools into .venv ...", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(want)


def ensure_postgres() -> None:
    """The PostgreSQL server binaries the ledger tests run (initdb, pg_ctl), installed with apt-get if missing."""
    if os.environ.get("KLING_PG_BIN") or glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        return
    apt = shutil.which("apt-get")
    if apt is None:
        print(
            "PostgreSQL server binaries not found and no apt-get here: install PostgreSQL (initdb, pg_ctl) "
            "or set KLING_PG_BIN, or the PostgreSQL ledger tests fail",
            file=sys.stderr,
        )
        return
    print("installing the PostgreSQL server for the ledger tests (apt-get install -y postgresql) ...", flush=True)
    sudo = [] if getattr(os, "geteuid", lambda: 0)() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*sudo, apt, "install", "-y", "-q", "postgresql"]
    if subprocess.run(install, env=env).returncode != 0:
        # A fresh image has no package lists yet.
        subprocess.run([*sudo, apt, "update", "-q"], env=env, check=True)
        subprocess.run(install, env=env, check=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    ensure_env()
    command, rest = argv[0], argv[1:]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if command == "test":
        ensure_postgres()
        workers = ["-n", "auto"] if not any(a.startswith("-n") for a in rest) else []
        cmd = [str(PY), "-m", "pytest", *workers, *rest]
    else:
        out = ROOT / "out" / "demo.mp4"
        cmd = [
            str(BIN / "kling"), "generate", "--simulate",
            "--image", str(ROOT / "examples" / "assets" / "lighthouse.png"),
            "--prompt", "The camera pushes in slowly on the lighthouse as waves roll in",
            "--output", str(out), "--overwrite", *rest,
        ]  # fmt: skip
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
