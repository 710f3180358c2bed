"""One row per measured figure: the figure, its reference, the ratio and the goal."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    name: str
    ours: float
    reference: float
    unit: str
    goal: str  # e.g. "<= 1.15x"
    ratio_ok: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.reference if self.reference else float("inf")

    @property
    def ok(self) -> bool:
        return self.ratio_ok if self.ratio_ok is not None else check(self.ratio, self.goal)

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


def check(ratio: float, goal: str) -> bool:
    op, _, num = goal.partition(" ")
    value = float(num.rstrip("x"))
    return ratio <= value if op == "<=" else ratio >= value


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
