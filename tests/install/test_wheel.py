"""The package as users get it: one sdist and one wheel built from this checkout, installed
into fresh virtual environments outside it, and used from a folder where the checkout is
not importable.

- `full`: the wheel with the [simulator] and [postgres] extras, plus pytest (for a user's own test suite);
- `base`: the wheel alone, where the simulator and the PostgreSQL ledger must say which command adds them.

The build and the two installs happen once per test run (shared by the xdist workers
under a file lock; the installs run side by side) and every test here reuses them, each
in its own tmp folder as the working directory.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LIGHTHOUSE = ROOT / "examples" / "assets" / "lighthouse.png"
PIP_HINT = 'pip install "apikley-kling[simulator]"'
PG_HINT = 'pip install "apikley-kling[postgres]"'
FIXTURES = ("kling_api_key", "kling_simulator", "kling_served_simulator", "kling_simulator_url")
# The README's plugin example is a whole test file; its first line names it.
EXAMPLE_HEADER = "# test_kling_pipeline.py"
# Nothing of the outer test run may leak into the fresh environments.
LEAKY = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "APIKLEY_API_KEY", "APIKLEY_BASE_URL")


@dataclass(frozen=True)
class Dist:
    sdist: Path
    wheel: Path

    @property
    def version(self) -> str:
        return self.wheel.name.split("-")[1]


@dataclass(frozen=True)
class Env:
    """A virtual environment outside the checkout."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in LEAKY and not k.startswith(("PYTEST_", "COV_"))}
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.root)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["NO_COLOR"] = "1"
        return env

    def run(
        self, *argv: str | Path, cwd: Path, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command of this environment's bin/ in `cwd` (a folder outside the checkout), with `env` added
        to its environment (where secrets go: never on argv)."""
        assert ROOT not in cwd.resolve().parents, cwd
        cmd = [str(self.bin / str(argv[0])), *map(str, argv[1:])]
        environ = self.environ() | (env or {})
        return subprocess.run(cmd, cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout, check=False)


# -- built and installed once per run ----------------------------------------------------


def _shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run sees (the run's own tmp folder without xdist)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    assert ROOT not in shared.resolve().parents, "the environments must live outside the checkout"
    return shared / "install-tests"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _once(folder: Path, make: Callable[[Path], None]) -> Path:
    """`make(folder)` once per run, whichever worker comes first; the others wait and reuse it
    (or fail at once with the same message, instead of trying again)."""
    done, failed = folder / ".done", folder.with_suffix(".failed")
    with _locked(folder.with_suffix(".lock")):
        if failed.exists():
            pytest.fail(f"{folder.name} failed in another worker:\n{failed.read_text()}")
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            try:
                make(folder)
            except BaseException as exc:
                failed.write_text(str(exc))
                raise
            done.write_text("ok")
    return folder


def _build(out: Path) -> None:
    # `python -m build` makes the sdist, then the wheel from that sdist: a file missing
    # from the sdist breaks the wheel here, not on a user's machine.
    run = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    out = _once(_shared_dir(tmp_path_factory) / "dist", _build)
    (sdist,) = out.glob("apikley_kling-*.tar.gz")
    (wheel,) = out.glob("apikley_kling-*.whl")
    return Dist(sdist=sdist, wheel=wheel)


def _install_both(dist: Dist) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        wants = {"full": [f"{dist.wheel}[simulator,postgres]", "pytest"], "base": [str(dist.wheel)]}
        running: dict[str, subprocess.Popen[str]] = {}
        for name, requirements in wants.items():
            venv.EnvBuilder(with_pip=False).create(folder / name)
            # The same pip a user runs, pointed at the new environment (ensurepip would add
            # seconds and nothing else); no byte-compiling of numpy and PyAV.
            pip = [sys.executable, "-m", "pip", "--python", str(folder / name / "bin" / "python"), "install"]
            running[name] = subprocess.Popen(
                [*pip, "--quiet", "--disable-pip-version-check", "--no-compile", *requirements],
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        for name, proc in running.items():
            output, _ = proc.communicate(timeout=600)
            assert proc.returncode == 0, f"pip install into {name}:\n{output[-4000:]}"

    return make


@pytest.fixture(scope="session")
def envs(tmp_path_factory: pytest.TempPathFactory, dist: Dist) -> Path:
    return _once(_shared_dir(tmp_path_factory) / "envs", _install_both(dist))


@pytest.fixture(scope="session")
def full(envs: Path) -> Env:
    return Env(root=envs / "full")


@pytest.fixture(scope="session")
def base(envs: Path) -> Env:
    return Env(root=envs / "base")


def _site_packages(env: Env) -> Path:
    (found,) = env.root.glob("lib/python3*/site-packages")
    return found.resolve()


# -- what was built ------------------------------------------------------------------------


def test_wheel_and_sdist_carry_the_license_the_typed_markers_and_the_spec(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as whl:
        names = set(whl.namelist())
        info = f"apikley_kling-{dist.version}.dist-info"
        metadata = whl.read(f"{info}/METADATA").decode()
        assert f"{info}/licenses/LICENSE" in names
        assert "Copyright (c) 2026 the apikley-kling authors" in whl.read(f"{info}/licenses/LICENSE").decode()
        assert "apikley_kling/_spec/openapi.yaml" in names
        assert "apikley_kling/pytest_plugin.py" in names
        assert "kling = apikley_kling.cli:main" in whl.read(f"{info}/entry_points.txt").decode()
    assert "License-Expression: MIT" in metadata
    assert "License-File: LICENSE" in metadata
    assert {"simulator", "contract"} <= set(re.findall(r"^Provides-Extra: (\S+)$", metadata, re.M))
    assert re.search(r"^Requires-Dist: jsonschema>=4\.18$", metadata, re.M), "jsonschema must be a base dependency"
    with tarfile.open(dist.sdist) as sdist:
        top = f"apikley_kling-{dist.version}"
        members = set(sdist.getnames())
    assert {f"{top}/LICENSE", f"{top}/pyproject.toml", f"{top}/spec/openapi.yaml"} <= members
    assert "apikley_kling/py.typed" in names
    assert "apikley_kling_api/py.typed" in names, "the generated package ships no py.typed marker"


# -- the full install: [simulator] ---------------------------------------------------------


def test_kling_version(full: Env, dist: Dist, tmp_path: Path) -> None:
    run = full.run("kling", "--version", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert dist.version in run.stdout


def _where(env: Env, cwd: Path) -> dict[str, Path]:
    """The folders `apikley_kling` and `apikley_kling_api` are imported from."""
    code = (
        "import json, pathlib, apikley_kling, apikley_kling_api; print(json.dumps("
        "{m.__name__: str(pathlib.Path(m.__file__).resolve().parent) for m in (apikley_kling, apikley_kling_api)}))"
    )
    run = env.run("python", "-c", code, cwd=cwd)
    assert run.returncode == 0, run.stderr
    where = {name: Path(p) for name, p in json.loads(run.stdout).items()}
    site = _site_packages(env)
    for name, folder in where.items():
        assert folder.parent == site, f"{name} imported from {folder}, not from the fresh environment"
    return where


def test_both_packages_import_from_the_environment_and_are_typed(full: Env, tmp_path: Path) -> None:
    where = _where(full, tmp_path)
    assert (where["apikley_kling"] / "py.typed").is_file()
    assert (where["apikley_kling_api"] / "py.typed").is_file(), "apikley_kling_api has no py.typed"


def test_generate_with_the_simulator_makes_a_real_h264_video(full: Env, tmp_path: Path) -> None:
    image = tmp_path / "still.png"
    shutil.copyfile(LIGHTHOUSE, image)
    out = tmp_path / "out.mp4"
    run = full.run(
        "kling", "generate", "--simulate", "--image", image.name, "--prompt", "The camera pushes in slowly",
        "-o", out.name, "--json", cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    answer = json.loads(run.stdout)
    assert answer["ok"] is True and answer["simulated"] is True
    assert Path(answer["file"]) == out.resolve()
    assert answer["bytes"] == out.stat().st_size > 0
    probe = (
        "import av, json, sys\n"
        "with av.open(sys.argv[1]) as c:\n"
        "    s = c.streams.video[0]\n"
        "    info = {'format': c.format.name, 'codec': s.codec_context.name, 'size': [s.width, s.height]}\n"
        "    info['frames'] = sum(1 for _ in c.decode(s))\n"
        "print(json.dumps(info))\n"
    )
    run = full.run("python", "-c", probe, out, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    info = json.loads(run.stdout)
    assert "mp4" in info["format"].split(",")
    assert info["codec"] == "h264"
    assert info["size"] == [1280, 720]
    assert info["frames"] > 0


def _readme_example() -> str:
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text(), re.M | re.S)
    found: list[str] = [b for b in blocks if b.startswith(EXAMPLE_HEADER)]
    assert len(found) == 1, f"README.md must hold one ```python block starting with {EXAMPLE_HEADER!r}"
    return found[0]


def test_a_users_own_suite_runs_on_the_plugins_fixtures(full: Env, tmp_path: Path) -> None:
    example = _readme_example()
    for name in FIXTURES:
        assert re.search(rf"\b{name}\b", example), f"the README example does not use {name}"
    (tmp_path / "test_kling_pipeline.py").write_text(example)
    run = full.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path, timeout=180)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    passed = re.search(r"(\d+) passed", run.stdout)
    assert passed and int(passed.group(1)) == example.count("\ndef test_"), run.stdout[-2000:]

    listing = full.run("python", "-m", "pytest", "--fixtures", "-v", "-p", "no:cacheprovider", cwd=tmp_path)
    assert listing.returncode == 0, listing.stdout[-2000:] + listing.stderr[-2000:]
    plugin_part = listing.stdout.split("fixtures defined from apikley_kling.pytest_plugin", 1)
    assert len(plugin_part) == 2, listing.stdout[-3000:]
    for name in FIXTURES:
        doc = re.search(rf"^{name} -- .*\n((?:    .*\n|\n)+)", plugin_part[1], re.M)
        assert doc, f"{name} is not listed by pytest --fixtures"
        assert "no docstring available" not in doc.group(1), f"{name} has no docstring"


# -- the base install: no extras -----------------------------------------------------------


def test_the_base_install_imports_and_names_the_missing_extra(base: Env, tmp_path: Path) -> None:
    _where(base, tmp_path)
    run = base.run("python", "-c", "from apikley_kling.simulator import Simulator", cwd=tmp_path)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("apikley_kling.simulator.SimulatorNotInstalled: ") and last.endswith(PIP_HINT), last
    caught = "try:\n    import apikley_kling.simulator\nexcept ModuleNotFoundError as exc:\n    print(exc)"
    run = base.run("python", "-c", caught, cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.strip().endswith(PIP_HINT), run.stdout + run.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ("generate", "--simulate", "--image", "still.png", "--prompt", "a slow push", "-o", "out.mp4", "--json"),
        ("generate", "--simulate", "--image", "still.png", "--prompt", "a slow push", "-o", "out.mp4"),
        ("simulate", "--port", "0"),
    ],
    ids=["generate --simulate --json", "generate --simulate", "simulate"],
)
def test_kling_without_the_extra_exits_2_with_one_line(base: Env, tmp_path: Path, argv: tuple[str, ...]) -> None:
    shutil.copyfile(LIGHTHOUSE, tmp_path / "still.png")
    run = base.run("kling", *argv, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("kling: error: ") and lines[0].endswith(PIP_HINT), lines[0]
    assert "Traceback" not in run.stdout + run.stderr
    assert not (tmp_path / "out.mp4").exists()


def test_batch_on_a_postgresql_ledger_from_the_installed_wheel(full: Env, tmp_path: Path, pg_url: str) -> None:
    """The [postgres] extra is all a fleet needs: a batch on a real PostgreSQL ledger makes its video, and
    `kling ledger` reads the fleet's state back (the URL, with its password, only in the environment)."""
    shutil.copyfile(LIGHTHOUSE, tmp_path / "still.png")
    (tmp_path / "jobs.jsonl").write_text(json.dumps({"prompt": "a slow push", "image": "still.png"}) + "\n")
    env = {"APIKLEY_LEDGER_URL": pg_url}
    run = full.run("kling", "batch", "jobs.jsonl", "--out", "out", "--simulate", "--json", cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    (video,) = (tmp_path / "out").glob("*.mp4")
    assert video.read_bytes()[4:8] == b"ftyp"
    status = full.run("kling", "ledger", "jobs.jsonl", "--json", cwd=tmp_path, env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    fleet = json.loads(status.stdout)
    assert fleet["counts"]["done"] == 1, fleet
    assert (tmp_path / fleet["jobs"][0]["file"]).resolve() == video.resolve(), fleet
    password = urlsplit(pg_url).password
    assert password and password not in status.stdout + status.stderr + run.stdout + run.stderr


def test_a_postgresql_ledger_without_the_extra_exits_2_with_one_line(base: Env, tmp_path: Path) -> None:
    (tmp_path / "jobs.jsonl").write_text(json.dumps({"prompt": "a slow push", "image": "https://x.test/a.png"}) + "\n")
    run = base.run(
        "kling", "batch", "jobs.jsonl", "--out", "out", "--ledger", "postgresql://kling@127.0.0.1:9/db", cwd=tmp_path
    )
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kling: error: ") and lines[0].endswith(PG_HINT), run.stderr
