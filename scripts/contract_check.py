"""The contract checker, from a checkout: a thin shim over the installed `apikley_kling.contract`.

    APIKLEY_API_KEY=... python -m scripts.contract_check --base-url https://api.apikley.ru --no-create --task-id ID
    python -m scripts.contract_check --simulator

Users of the package run the same command as `python -m apikley_kling.contract`
(or `kling contract-check`); see `--help`. The names below are re-exported
for the contract tests, which drive schemathesis through the same harness.
"""

from __future__ import annotations

from apikley_kling.contract import _openapi, main
from apikley_kling.contract._fuzz import (
    APPLIED,
    CUSTOM_CHECKS,
    DEFAULT_SEED,
    EXPECTED_STATUSES,
    Failure,
    Outcome,
    Settings,
    body_code_as_status,
    load_schema,
    register_checks,
    run,
)

CREATE_OPERATION = _openapi.create_operation().id
CREATE_PATH = _openapi.create_operation().path
QUERY_PATH = _openapi.task_link().target.path

__all__ = [
    "APPLIED",
    "CREATE_OPERATION",
    "CREATE_PATH",
    "CUSTOM_CHECKS",
    "DEFAULT_SEED",
    "EXPECTED_STATUSES",
    "QUERY_PATH",
    "Failure",
    "Outcome",
    "Settings",
    "body_code_as_status",
    "load_schema",
    "main",
    "register_checks",
    "run",
]

if __name__ == "__main__":
    raise SystemExit(main(prog="python -m scripts.contract_check"))
