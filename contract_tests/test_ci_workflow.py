"""The CI workflow cannot run here; it is parsed and held to what it must do."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import yaml

from ._paths import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return doc


def _triggers(doc: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    found: dict[str, Any] = doc.get("on", doc.get(True))
    return found


def _runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_workflow_shape(workflow: dict[str, Any]) -> None:
    assert isinstance(workflow["name"], str)
    assert set(workflow["jobs"]) == {"test", "live"}
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        assert job["runs-on"] == "ubuntu-latest", name
        assert 0 < job["timeout-minutes"] <= 60, name
        assert job["steps"], name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), step
            if "uses" in step:
                # Pinned to a major version at least, never a moving branch.
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+[\w.]*|[0-9a-f]{40})", step["uses"]), step["uses"]


def test_every_push_runs_the_readme_test_command(workflow: dict[str, Any]) -> None:
    triggers = _triggers(workflow)
    assert "push" in triggers
    job = workflow["jobs"]["test"]
    assert "push" in job["if"]
    assert "python3 scripts/dev.py test" in _runs(job)
    assert "secrets." not in yaml.safe_dump(job)


def test_nightly_live_checks_use_the_secret_and_no_default_budget(workflow: dict[str, Any]) -> None:
    triggers = _triggers(workflow)
    [schedule] = triggers["schedule"]
    fields = schedule["cron"].split()
    assert len(fields) == 5
    minute, hour = int(fields[0]), int(fields[1])
    assert 0 <= minute < 60 and 0 <= hour < 24 and fields[2:] == ["*", "*", "*"]
    job = workflow["jobs"]["live"]
    assert "schedule" in job["if"] and "push" not in job["if"]
    assert job["env"]["APIKLEY_API_KEY"] == "${{ secrets.APIKLEY_API_KEY }}"
    assert "|| '0'" in job["env"]["LIVE_BUDGET"]
    assert triggers["workflow_dispatch"]["inputs"]["live_budget"]["default"] == "0"
    runs = _runs(job)
    assert any("exit 1" in r and "APIKLEY_API_KEY" in r for r in runs), "a missing secret must fail, not skip"
    [suite] = [r for r in runs if "contract_tests/live" in r]
    assert "--live-budget" in shlex.split(suite)


def test_nightly_contract_check_is_the_installed_command_strict_with_a_report(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["live"]
    runs = _runs(job)
    assert any('pip install ".[contract]"' in r for r in runs), "installed as users install it"
    [check] = [r for r in runs if "apikley_kling.contract" in r or "contract-check" in r]
    argv = shlex.split(check)
    assert argv[:3] == ["python", "-m", "apikley_kling.contract"] or argv[:2] == ["kling", "contract-check"]
    for flag in ("--no-create", "--rate-limit", "--strict", "--junit-xml"):
        assert flag in argv, flag
    # No secret on argv: the key comes from the environment, the finished tasks from a variable.
    assert not any(a.startswith("--api-key") for a in argv)
    assert not any(a.startswith("--key") and a != "--key-file" for a in argv)
    # The one vocabulary of options: --rate-limit is requests per second, a number (not the old "1/s").
    float(argv[argv.index("--rate-limit") + 1])
    assert "secrets." not in check and "APIKLEY_API_KEY" not in check
    assert job["env"]["APIKLEY_CONTRACT_TASK_IDS"].startswith("${{ vars.")
    assert any("exit 1" in r and "APIKLEY_CONTRACT_TASK_IDS" in r for r in runs), "no finished task: fail loudly"
    # The report is kept whatever the verdict.
    report = argv[argv.index("--junit-xml") + 1]
    [upload] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()" and upload["with"]["path"] == report


def test_commands_name_files_that_exist(workflow: dict[str, Any]) -> None:
    for job in workflow["jobs"].values():
        for command in _runs(job):
            for word in shlex.split(command.replace("\n", " ")):
                if word.startswith(("scripts/", "contract_tests/")):
                    assert (ROOT / word).exists(), word
