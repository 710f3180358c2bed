"""One row per measured figure: the figure, its reference, the ratio and the goal (from goals.py, by name)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .goals import goal_of, met


@dataclass
class Row:
    name: str
    ours: float
    reference: float
    unit: str
    ratio_ok: bool | None = None  # the bench's own verdict, where the goal is more than one comparison
    note: str = ""
    goal: str = field(init=False)  # e.g. "<= 1.10x": goals.GOALS holds every one

    def __post_init__(self) -> None:
        self.goal = goal_of(self.name)

    @property
    def ratio(self) -> float:
        return self.ours / self.reference if self.reference else float("inf")

    @property
    def ok(self) -> bool:
        return self.ratio_ok if self.ratio_ok is not None else met(self.goal, self.ours, self.ratio)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ours": self.ours,
            "reference": self.reference,
            "unit": self.unit,
            "ratio": self.ratio if self.reference else None,
            "goal": self.goal,
            "ok": self.ok,
            "note": self.note,
        }


def render(rows: list[Row]) -> str:
    head = f"{'benchmark':38} {'ours':>14} {'reference':>14} {'ratio':>8} {'goal':>10}  ok"
    lines = [head, "-" * len(head)]
    for r in rows:
        ok = r.ok
        ratio = f"{r.ratio:.3f}x" if r.reference else "-"
        lines.append(
            f"{r.name:38} {r.ours:>10.4g}{r.unit:<4} {r.reference:>10.4g}{r.unit:<4} {ratio:>8} {r.goal:>10}  {'yes' if ok else 'NO'}"
            + (f"  ({r.note})" if r.note else "")
        )
    return "\n".join(lines)
