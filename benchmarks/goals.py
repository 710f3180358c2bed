"""Every benchmark's goal, stated once: the table prints these, and both READMEs state them
(tests/test_benchmarks.py holds them to it).

Keys are the rows' names; `{}` stands for a figure that varies with the run's size. A goal reads
`<op> <n>x` (on the ratio ours / reference), `a..bx` (a ratio range), `<op> <n><unit>` with or
without `abs` (on our figure itself), or anything else when the bench gives its own verdict
(Row.ratio_ok), as for "flat".
"""

from __future__ import annotations

import re

GOALS: dict[str, dict[str, str]] = {
    "import": {"import apikley_kling vs import httpx": "<= 1.3x"},
    "overhead": {
        "overhead: Kling.tasks.get vs httpx": "<= 1.05x",
        "overhead: AsyncKling.tasks.get vs httpx": "<= 1.05x",
    },
    "wait": {
        "wait: queries/task, waiter vs 2s poll": "<= 0.3x",
        "wait: mean delay/task time vs 2s poll": "< 10% abs",
        "wait+callbacks: queries/task": "<= 2 abs",
        "wait+callbacks: max detection delay": "< 0.1s abs",
    },
    "fleet": {
        "fleet: sustained req/s vs limit R": ">= 0.9x",
        "fleet: 429 share of answers": "<= 2%",
        "fleet: errors reaching the caller": "== 0",
    },
    "download": {
        "download {} MB: SDK vs curl": ">= 0.8x",
        "download: SDK vs curl -o file": ">= 0.95x",
        "download: heap peak {} vs {} MB": "<32MB,flat",
        "download: RSS growth {} vs {} MB": "<32MB,flat",
    },
    "simulator": {
        "simulator: recordInfo req/s vs plain": ">= 0.7x",
        "simulator: p99 at 200 clients, saturated": "<= 1.1x",
        "simulator: p99 at 200 clients, {}/s": "<= 1.1x",
    },
    "peers": {
        "peers overhead: {} vs runwayml, each / httpx": "<= 1.0x",
        "peers wait: queries/task, ours vs {}": "<= 1.0x",
        "peers wait: mean delay/task time, ours vs {}": "< 10% abs",
        "peers import: apikley_kling vs {}": "<= 1.0x",
    },
    "spec": {
        "regen: whole family, absolute": "< 10s abs",
        "regen: whole family vs generator alone": "<= 3x",
    },
    "ledger": {
        "ledger: {} worker(s) req/s vs budget R": "<= 1.0x",
        "ledger: {} worker(s) 429 share": "<= 2%",
        "ledger: 4 workers, budget binds: rate": "0.9..1.0x",
        "ledger: wall 4 workers vs 1": "<= 1.0x",
        "ledger: cost per job (4 transactions)": "<= 1.0x",
    },
}


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(r"\S+".join(map(re.escape, template.split("{}"))))


_PATTERNS = [(_pattern(t), goal) for goals in GOALS.values() for t, goal in goals.items()]


def goal_of(name: str) -> str:
    """The goal of the row called `name`; KeyError for a row that has none here."""
    for pattern, goal in _PATTERNS:
        if pattern.fullmatch(name):
            return goal
    raise KeyError(f"no goal for the benchmark row {name!r}: add it to benchmarks/goals.py")


def row_names(template: str) -> re.Pattern[str]:
    """The row names `template` stands for (to read a printed table back)."""
    return _pattern(template)


_SIMPLE = re.compile(r"(<=|>=|<|==)\s*(-?\d+(?:\.\d+)?)\s*([^\s\d]*)(\s+abs)?")
_RANGE = re.compile(r"(\d+(?:\.\d+)?)\.\.(\d+(?:\.\d+)?)x")


def met(goal: str, ours: float, ratio: float) -> bool:
    """Whether a figure meets `goal`: on the ratio for an `x` goal, on our own figure otherwise."""
    if m := _RANGE.fullmatch(goal):
        return float(m[1]) <= ratio <= float(m[2])
    m = _SIMPLE.fullmatch(goal)
    if m is None:
        raise ValueError(f"goal {goal!r} needs the bench's own verdict (Row.ratio_ok)")
    op, value = m[1], float(m[2])
    x = ratio if m[3] == "x" else ours
    return {"<=": x <= value, ">=": x >= value, "<": x < value, "==": x == value}[op]
