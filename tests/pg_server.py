"""A real PostgreSQL server for the tests and benchmarks: initdb + pg_ctl in a temp dir, 127.0.0.1, a free port.

The server refuses to run as root, so as root the data dir is given to the
`postgres` user and the binaries run through `runuser -u postgres --`. Startup
takes about a second. The server is stopped (immediate mode) and its files
removed when the block ends, whatever happens in it.

    with PgServer.start() as pg:
        url = pg.create_database("t1")     # postgresql://kling:<password>@127.0.0.1:<port>/t1
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PREFERRED = "/usr/lib/postgresql/15/bin"
USER = "kling"  # the role the tests connect as, with a password (scram-sha-256 over TCP)


class PgUnavailable(RuntimeError):
    """The server cannot be started here; the message says why and how to fix it."""


def bindir() -> Path:
    """Debian's server binaries (15 first), or $KLING_PG_BIN."""
    candidates = [os.environ.get("KLING_PG_BIN", ""), PREFERRED, *sorted(glob.glob("/usr/lib/postgresql/*/bin"))]
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    raise PgUnavailable(
        f"PostgreSQL server binaries not found (looked in {PREFERRED}, /usr/lib/postgresql/*/bin, $KLING_PG_BIN): "
        "run `python3 scripts/dev.py test`, which installs them (apt-get install -y postgresql)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    bin: Path
    root: Path
    port: int
    password: str
    as_postgres: list[str]
    options: str = ""

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str, timeout: float = 60) -> str:
        cmd = [*self.as_postgres, str(self.bin / tool), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if done.returncode != 0:
            log = (self.root / "log").read_text(errors="replace")[-2000:] if (self.root / "log").exists() else ""
            raise PgUnavailable(f"{tool} failed ({done.returncode}): {done.stderr.strip()[-2000:]}\n{log}")
        return done.stdout

    def psql(self, sql: str, database: str = "postgres") -> str:
        """As the superuser over the unix socket (trust), for set-up only."""
        return self._run("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.root), "-p", str(self.port),
                         "-U", "postgres", "-d", database, "-c", sql)  # fmt: skip

    def stop(self) -> None:
        """`pg_ctl stop -m fast`: every session ended, the port closed (what an administrator's restart does)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", timeout=30)

    def start_again(self) -> None:
        """Start the stopped server again, on the same port."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", self.options, "-w", "start")

    def processes(self) -> list[int]:
        """The postmaster and its children (the sessions, the background workers), from /proc."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        pids = [postmaster]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                # The fields after the command's closing parenthesis: state, ppid, ...
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    pids.append(int(stat.parent.name))
        return pids

    def create_database(self, name: str) -> str:
        """A new empty database owned by the test role (FILE_COPY: the fastest for a tiny template)."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" STRATEGY FILE_COPY')  # type: ignore[arg-type]
        return self.url(name)

    @classmethod
    @contextlib.contextmanager
    def start(cls, *, fsync: bool = False) -> Iterator[PgServer]:
        """`fsync=False` for tests (durability across a power cut is not what they check); benchmarks use True."""
        binaries = bindir()
        root = Path(tempfile.mkdtemp(prefix="kling-pg-"))
        as_postgres: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise PgUnavailable("running as root and runuser is missing: cannot start PostgreSQL as `postgres`")
            shutil.chown(root, "postgres")
            as_postgres = [runuser, "-u", "postgres", "--"]
        server = cls(binaries, root, _free_port(), secrets.token_hex(12), as_postgres)
        started = False
        try:
            pwfile = root / "pw"
            pwfile.write_text(server.password)
            if as_postgres:
                shutil.chown(pwfile, "postgres")
            server._run("initdb", "-D", str(server.data), "-U", "postgres", "--auth-local=trust",
                        "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync", "--locale=C")  # fmt: skip
            server.options = (
                f"-h 127.0.0.1 -p {server.port} -k {root} -c fsync=off -c full_page_writes=off -c max_connections=300"
            )
            server._run(
                "pg_ctl",
                "-D",
                str(server.data),
                "-l",
                str(root / "log"),
                "-o",
                server.options,
                "-w",
                "-t",
                "60",
                "start",
            )
            started = True
            server.psql(f"CREATE ROLE {USER} LOGIN CREATEDB PASSWORD '{server.password}'")
            yield server
        finally:
            if started:
                with contextlib.suppress(Exception):
                    server._run("pg_ctl", "-D", str(server.data), "-m", "immediate", "-w", "stop", timeout=30)
            shutil.rmtree(root, ignore_errors=True)
