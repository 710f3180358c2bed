"""Run the schemathesis contract suite against any server that claims to speak spec/openapi.yaml.

    python scripts/contract_check.py --base-url https://api.example.test --api-key "$KEY"
    python scripts/contract_check.py --simulator          # the built-in simulator, on 127.0.0.1

Phases: examples, coverage, fuzzing (positive and negative data) and stateful
(createTask -> recordInfo through the spec's OpenAPI link), with a fixed seed
and bounded examples. Exit 0 when no check failed, 1 when one did, 2 when the
run itself could not happen (bad arguments, unreachable server).

Two adaptations to this API, both shared with contract_tests/:
- The service answers errors with HTTP 200 and the real status in the body
  `code`. An after_call hook moves that code into the status, so the built-in
  checks (negative data must be rejected, status codes must be documented)
  see the answer as a client must read it.
- The upload operations live under a path-level server (<base>/file-upload);
  the schema handed to schemathesis has that prefix folded into their paths,
  so one base URL reaches every operation.

Custom checks cover what the built-ins are blind to: a created task is
visible to recordInfo at once and its `param` echoes the request; a success
answer always carries data, and a successful task a non-empty resultUrls.

WARNING: against a real service this creates tasks, which cost credits. Use
--max-examples and --operations to bound it, or --no-create to skip createTask.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "openapi.yaml"
CREATE_PATH = "/api/v1/jobs/createTask"
CREATE_OPERATION = "create-task"  # every model, one operation (spec_family.py)
QUERY_PATH = "/api/v1/jobs/recordInfo"
DEFAULT_SEED = 20260401
CUSTOM_CHECKS = ("created_task_is_visible", "success_carries_data", "success_has_result_urls", "auth_is_enforced")
# Right answers to schema-valid requests, per operation: an unknown task is
# 404 and an empty taskId 400 (task-query page); a URL the service did not
# generate (download-url) or cannot fetch (file-url-upload) is 422 (provider
# docs); running out of credits is 402. Every other operation keeps the
# schemathesis default.
EXPECTED_STATUSES = {
    "create-task": [200, 402],
    "get-task-details": [200, 400, 404],
    "get-download-url": [200, 422],
    "upload-file-url": [200, 422],
    # base64Data is a plain string in the spec; the service refuses what is not base64.
    "upload-file-base64": [200, 422],
}
# Multipart form fields are all strings on the wire: a "wrong type" (null,
# 5) arrives as the string "null" or "5", which is valid, so negative data
# cannot be expressed for the stream upload.
NO_NEGATIVE_REJECTION = ("upload-file-stream",)
# Statuses that mean "the key was refused", read from the body code.
AUTH_REJECTIONS = (401, 403)


# ------------------------------------------------------------------ the schema


def load_spec() -> dict[str, Any]:
    with SPEC.open(encoding="utf-8") as f:
        doc: dict[str, Any] = yaml.safe_load(f)
    return doc


def single_base(doc: dict[str, Any]) -> dict[str, Any]:
    """The spec as schemathesis gets it: path-level servers folded into the paths
    (one base URL for all), and the known gaps below closed."""
    from apikley_kling._schema import with_alternatives

    doc = with_alternatives(doc)  # alternatives the generator cannot type (spec/fixes.yaml), for the fuzzer
    schemas = doc["components"]["schemas"]
    requests = [name for name, schema in schemas.items() if "x-models" in schema]  # one per model page (regen.py)
    for name, prop in [*((r, "callBackUrl") for r in requests), ("FileUrlUploadRequest", "fileUrl")]:
        # Known gap: `format: uri` admits "data:" or "urn:x", which no service
        # can POST a callback to or fetch a file from; the simulator requires
        # a host. Narrowed here to what the prose means (a web URL).
        schemas[name]["properties"][prop].setdefault("pattern", "^https?://[^/?#\\s]+")
    for name in ("FileStreamUploadRequest", "FileBase64UploadRequest", "FileUrlUploadRequest"):
        # Known gap: "uploadPath: without a leading or trailing slash" is prose
        # only; the service (and the simulator) answers 422 for "/x" or "x/".
        schemas[name]["properties"]["uploadPath"].setdefault("pattern", "^([^/]([\\s\\S]*[^/])?)?$")
    base = doc["servers"][0]["url"].rstrip("/")
    paths: dict[str, Any] = {}
    for path, item in doc["paths"].items():
        servers = item.pop("servers", None)
        if servers:
            url = servers[0]["url"].rstrip("/")
            if not url.startswith(base):
                raise ValueError(f"{path}: server {url} is not under {base}")
            path = url[len(base) :] + path
        paths[path] = item
    doc["paths"] = paths
    return doc


def body_code_as_status(response: Any) -> None:
    """HTTP 200 + {"code": 422} is a 422: give the checks the status a client must act on."""
    if response.status_code != 200:
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        return
    code = body.get("code") if isinstance(body, dict) else None
    if isinstance(code, int) and not isinstance(code, bool) and code != 200 and 100 <= code <= 599:
        response.status_code = code


def _json(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _auth_headers(response: Any) -> dict[str, str]:
    auth = response.request.headers.get("Authorization")
    return {"Authorization": auth} if auth else {}


# How often each custom check found something to judge (not merely ran): a
# check that never applies proves nothing, and the tests say so.
APPLIED: Counter[str] = Counter()
# Operations whose auth was probed already: once per operation and run is enough.
_PROBED: set[str] = set()


def _register_checks() -> None:
    import schemathesis

    @schemathesis.check
    def created_task_is_visible(ctx: Any, response: Any, case: Any) -> bool | None:
        """A task createTask reported is at once known to recordInfo, and its param is the request sent."""
        if case.operation.path != CREATE_PATH:
            return None
        body = _json(response)
        if not (isinstance(body, dict) and body.get("code") == 200 and isinstance(body.get("data"), dict)):
            return None
        task_id = body["data"].get("taskId")
        if not isinstance(task_id, str) or not task_id:
            raise AssertionError(f"createTask succeeded without a taskId: {body!r}")
        query = case.operation.schema[QUERY_PATH]["GET"].Case(
            query={"taskId": task_id}, headers=_auth_headers(response)
        )
        answer = query.call()
        record = _json(answer)
        if not (isinstance(record, dict) and record.get("code") == 200 and isinstance(record.get("data"), dict)):
            raise AssertionError(f"task {task_id} was created but recordInfo answers {answer.content[:200]!r}")
        data = record["data"]
        if data.get("taskId") != task_id:
            raise AssertionError(f"recordInfo for {task_id} describes {data.get('taskId')!r}")
        try:
            param = json.loads(data.get("param") or "")
        except ValueError:
            raise AssertionError(f"task {task_id}: param is not a JSON string: {data.get('param')!r}") from None
        sent = json.loads(response.request.body)
        if param != sent:
            raise AssertionError(f"task {task_id}: param {param!r} does not echo the request {sent!r}")
        APPLIED["created_task_is_visible"] += 1
        return True

    @schemathesis.check
    def auth_is_enforced(ctx: Any, response: Any, case: Any) -> bool | None:
        """An operation that answered success with our key refuses a wrong key (body code 401).

        Replaces the built-in ignored_auth, whose probe reads only the HTTP
        status and so misses this service's HTTP 200 + code 401.
        """
        body = _json(response)
        ok = isinstance(body, dict) and body.get("code") == 200
        if not ok or case.operation.label in _PROBED:
            return None
        _PROBED.add(case.operation.label)
        probe = case.call(headers={"Authorization": "Bearer sk-contract-check-wrong-key"})
        answer = _json(probe)
        code = answer.get("code") if isinstance(answer, dict) else None
        if probe.status_code in AUTH_REJECTIONS or code in AUTH_REJECTIONS:
            APPLIED["auth_is_enforced"] += 1
            return True
        raise AssertionError(
            f"{case.operation.label} accepts a wrong key: HTTP {probe.status_code}, body {probe.content[:200]!r}"
        )

    @schemathesis.check
    def success_carries_data(ctx: Any, response: Any, case: Any) -> bool | None:
        """An answer that says success (code 200) has a `data` that is not null."""
        body = _json(response)
        if not isinstance(body, dict) or body.get("code") != 200 or "success" in body:
            return None  # uploads ({success, code, data}) say success their own way
        if body.get("data") is None:
            raise AssertionError(f"a success answer without data: {body!r}")
        APPLIED["success_carries_data"] += 1
        return True

    @schemathesis.check
    def success_has_result_urls(ctx: Any, response: Any, case: Any) -> bool | None:
        """A task in state success always carries a non-empty resultJson.resultUrls of strings."""
        body = _json(response)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or data.get("state") != "success":
            return None
        try:
            result = json.loads(data.get("resultJson") or "")
        except ValueError:
            raise AssertionError(
                f"task {data.get('taskId')}: success with resultJson {data.get('resultJson')!r}"
            ) from None
        urls = result.get("resultUrls") if isinstance(result, dict) else None
        if not urls or not all(isinstance(u, str) and u for u in urls):
            raise AssertionError(f"task {data.get('taskId')}: success without resultUrls: {result!r}")
        APPLIED["success_has_result_urls"] += 1
        return True


_registered = False


def register_checks() -> None:
    """Register the custom checks once per process (schemathesis keeps a global registry)."""
    global _registered
    if not _registered:
        _register_checks()
        _registered = True


@dataclass
class Settings:
    base_url: str
    api_key: str
    seed: int = DEFAULT_SEED
    max_examples: int = 8
    stateful_steps: int = 6
    phases: tuple[str, ...] = ("examples", "coverage", "fuzzing", "stateful")
    operations: tuple[str, ...] = ()  # operationIds; empty: all
    exclude_operations: tuple[str, ...] = ()
    request_timeout: float = 10.0
    rate_limit: str | None = None


def make_config(settings: Settings) -> Any:
    import schemathesis

    generation = {"mode": "all", "max-examples": settings.max_examples, "no-shrink": True}
    every = ("examples", "coverage", "fuzzing", "stateful")
    phases: dict[str, Any] = {name: {"enabled": name in settings.phases} for name in every}
    phases["stateful"]["max-steps"] = settings.stateful_steps
    raw: dict[str, Any] = {
        "seed": settings.seed,
        "base-url": settings.base_url,
        "headers": {"Authorization": f"Bearer {settings.api_key}"},
        "generation": generation,
        "phases": phases,
        "request-timeout": settings.request_timeout,
        "suppress-health-check": ["all"],
        "checks": {
            # The probe of ignored_auth reads only the HTTP status; auth_is_enforced replaces it.
            "ignored_auth": {"enabled": False},
        },
        "operations": [
            {
                "include-operation-id": operation_id,
                "checks": {"positive_data_acceptance": {"expected-statuses": statuses}},
            }
            for operation_id, statuses in EXPECTED_STATUSES.items()
        ]
        + [
            {"include-operation-id": operation_id, "checks": {"negative_data_rejection": {"enabled": False}}}
            for operation_id in NO_NEGATIVE_REJECTION
        ],
    }
    if settings.rate_limit:
        raw["rate-limit"] = settings.rate_limit
    return schemathesis.Config.from_dict(raw)


def load_schema(settings: Settings, *, app: Any = None, read_body_code: bool = True) -> Any:
    import schemathesis
    from schemathesis.schemas import BaseSchema

    register_checks()
    doc = single_base(load_spec())
    every = {op["operationId"] for item in doc["paths"].values() for op in item.values() if isinstance(op, dict)}
    unknown = set(settings.operations) - every
    if unknown:
        raise ValueError(f"unknown operationId(s): {sorted(unknown)}; known: {sorted(every)}")
    # Exclusions, not include(): includes are OR-ed with the config's own
    # catch-all filter, so an include alone narrows nothing.
    left_out = (every - set(settings.operations) if settings.operations else set()) | set(settings.exclude_operations)
    if CREATE_OPERATION in left_out and "stateful" in settings.phases:
        # The spec's only link starts at createTask: without it there is no stateful phase to run.
        settings = dataclasses.replace(settings, phases=tuple(p for p in settings.phases if p != "stateful"))
    config = make_config(settings)
    schema: BaseSchema = schemathesis.openapi.from_dict(doc, config=config)
    if app is not None:
        schema.app = app
    if left_out:
        schema = schema.exclude(operation_id=sorted(left_out))

    if read_body_code:

        @schema.hook("after_call")
        def _body_code(context: Any, case: Any, response: Any) -> None:
            body_code_as_status(response)

    return schema


# ------------------------------------------------------------------ running


@dataclass
class Failure:
    phase: str
    operation: str
    check: str
    message: str


@dataclass
class Outcome:
    cases: Counter[str] = field(default_factory=Counter)  # by phase
    failures: list[Failure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    checks_run: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors

    def failed_checks(self) -> set[str]:
        return {f.check for f in self.failures}

    def summary(self, limit: int = 30) -> str:
        total = sum(self.cases.values())
        by_phase = ", ".join(f"{k} {v}" for k, v in sorted(self.cases.items()))
        lines = [f"{total} cases ({by_phase}); {len(self.failures)} failure(s); {len(self.errors)} error(s)"]
        found = dict.fromkeys(f"  FAIL [{f.phase}] {f.operation}: {f.check}: {f.message}" for f in self.failures)
        found.update(dict.fromkeys(f"  ERROR {e}" for e in self.errors))
        shown = list(found)[:limit]
        lines += shown
        if len(found) > len(shown):
            lines.append(f"  ... and {len(found) - len(shown)} more distinct problem(s)")
        return "\n".join(lines)


def run(schema: Any) -> Outcome:
    from schemathesis import engine
    from schemathesis.engine import Status, events

    APPLIED.clear()
    _PROBED.clear()
    outcome = Outcome()
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            if event.status == Status.SKIP:
                continue
            phase = str(event.phase.value if hasattr(event.phase, "value") else event.phase)
            outcome.cases[phase] += len(event.recorder.cases)
            for checks in event.recorder.checks.values():
                for node in checks:
                    outcome.checks_run[node.name] += 1
                    if node.status == Status.FAILURE and node.failure_info is not None:
                        failure = node.failure_info.failure
                        message = str(getattr(failure, "title", "") or failure).splitlines()[0][:300]
                        detail = str(getattr(failure, "message", "") or "").splitlines()
                        if detail:
                            message = f"{message}: {detail[0][:300]}"
                        outcome.failures.append(Failure(phase, event.recorder.label, node.name, message))
        elif isinstance(event, events.NonFatalError):
            outcome.errors.append(f"{getattr(event, 'label', '?')}: {str(event.info).splitlines()[0][:200]}")
        elif isinstance(event, events.FatalError):
            outcome.errors.append(f"fatal: {event.exception!r}")
    return outcome


@contextmanager
def _simulator_url() -> Iterator[tuple[str, str]]:
    from apikley_kling.clock import VirtualClock
    from apikley_kling.simulator import DEFAULT_API_KEY, Simulator

    sim = Simulator(
        clock=VirtualClock(),
        credits=1e12,
        external_images="placeholder",
        waiting_time=0.0,
        queuing_time=0.0,
        generation_time=0.0,
    )
    with sim.serve(port=0) as url:
        yield url, DEFAULT_API_KEY


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--base-url", help="the server to check, e.g. https://api.apikley.ru")
    where.add_argument(
        "--simulator", action="store_true", help="start the built-in simulator on 127.0.0.1 and check it"
    )
    ap.add_argument("--api-key", help="bearer key (default: $APIKLEY_API_KEY)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--max-examples", type=int, default=8, help="per operation and phase (default 8)")
    ap.add_argument("--stateful-steps", type=int, default=6)
    ap.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    ap.add_argument("--operations", default="", help="comma-separated operationIds to include (default: all)")
    ap.add_argument("--no-create", action="store_true", help="never call createTask (it costs credits)")
    ap.add_argument("--rate-limit", default=None, help='e.g. "1/s" against a real service')
    args = ap.parse_args(argv)

    import os

    def settings(base_url: str, key: str) -> Settings:
        return Settings(
            base_url=base_url,
            api_key=key,
            seed=args.seed,
            max_examples=args.max_examples,
            stateful_steps=args.stateful_steps,
            phases=tuple(p.strip() for p in args.phases.split(",") if p.strip()),
            operations=tuple(o.strip() for o in args.operations.split(",") if o.strip()),
            exclude_operations=(CREATE_OPERATION,) if args.no_create else (),
            rate_limit=args.rate_limit,
        )

    try:
        if args.simulator:
            with _simulator_url() as (url, key):
                outcome = run(load_schema(settings(url, args.api_key or key)))
        else:
            api_key = args.api_key or os.environ.get("APIKLEY_API_KEY")
            if not api_key:
                print("contract_check: no --api-key and no APIKLEY_API_KEY", file=sys.stderr)
                return 2
            outcome = run(load_schema(settings(args.base_url, api_key)))
    except Exception as exc:  # a run that could not start is not a contract verdict
        print(f"contract_check: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(outcome.summary())
    if outcome.failures:
        return 1
    # Errors without failures (unreachable server, timeouts), or no case at
    # all (filters or phases that select nothing), mean nothing was judged.
    return 2 if outcome.errors or not sum(outcome.cases.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
