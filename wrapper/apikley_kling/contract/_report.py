"""The report: findings first (each cause with its follow-ons), then every check with what it applied to.

JUnit XML carries the same: one test case per finding (its follow-ons in the
text), one per check that passed (with its count), a check not exercised as
skipped (as failed under --strict), a check switched off as skipped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .._text import for_terminal
from ._findings import Group
from ._run import Report
from ._verdict import COULD_NOT_RUN, FOUND, NOT_EXERCISED, OK, all_creates_failed

_VERDICTS = {
    OK: "PASSED: the service kept its contract in everything checked",
    FOUND: "FAILED: the service broke its contract (findings above)",
    COULD_NOT_RUN: "COULD NOT RUN: errors above, or no answer to judge",
    NOT_EXERCISED: "NOT EXERCISED: nothing broke, but checks above had nothing to judge",
}
_LINE = 2000  # characters of one report line shown (a headline quotes up to five values)
_XML = 20000  # characters of one line of JUnit text or one attribute
_MARK = {"passed": "ok  ", "failed": "FAIL", "not exercised": "NONE", "off": "off "}


def _group_lines(number: str, group: Group, indent: str) -> list[str]:
    lines = [f"{indent}{number} {group.headline()}"]
    facts = [f"check {group.check}", f"{group.count} answer(s)" if group.count != 1 else "1 answer"]
    if group.where:
        facts.append("e.g. " + ", ".join(group.where))
    lines.append(f"{indent}   " + "; ".join(facts))
    lines += [f"{indent}   | {line}" for line in group.detail]
    for i, follow in enumerate(group.follow_ons, 1):
        if i > 8:
            lines.append(f"{indent}   ... and {len(group.follow_ons) - 8} more follow-on(s)")
            break
        lines += _group_lines(f"{number}{i}.", follow, indent + "   ")
    return lines


def text(report: Report) -> str:
    """The report as the terminal shows it."""
    tally, out = report.tally, []
    answers = tally.applied["answer_matches_spec"]
    out.append(
        f"contract check of {report.target}: {len(report.models)} model(s), {answers} answer(s) judged, "
        f"{report.seconds:.1f} s"
    )
    if report.roots:
        total = sum(g.total() for g in report.roots)
        out.append(f"{len(report.roots)} finding(s) ({total} failing answer(s) in all, follow-ons under their cause):")
        for i, root in enumerate(report.roots, 1):
            out += _group_lines(f"{i}.", root, "  ")
    out.append("checks:")
    width = max(len(c.name) for c in report.checks)
    for check in report.checks:
        if check.state in ("not exercised", "off"):
            tail = f"{check.state}: {check.reason}"
        else:
            tail = f"applied to {check.applied}" + (f"; {len(check.groups)} finding(s)" if check.groups else "")
        out.append(f"  {_MARK[check.state]} {check.name.ljust(width)}  {tail}")
    out += _context(report)
    for error in tally.errors[:10]:
        out.append(f"  ERROR {error}")
    verdict = _VERDICTS[report.exit_code]
    if report.exit_code == NOT_EXERCISED and all_creates_failed(report.settings, tally):
        verdict = "NOT EXERCISED: every create failed, so nothing about tasks was judged"
    out.append(f"{verdict} (exit {report.exit_code})")
    # Findings quote the server (ids, messages, values): nothing it sent reaches the terminal raw.
    return "\n".join(for_terminal(line, _LINE) for line in out)


def _context(report: Report) -> list[str]:
    out: list[str] = []
    if report.outcome is not None:
        cases = report.outcome.cases
        out.append(
            f"schemathesis: {sum(cases.values())} case(s) ({', '.join(f'{k} {v}' for k, v in sorted(cases.items()))})"
        )
    if report.created:
        out.append("tasks followed: " + ", ".join(f"{c.model} {c.task_id}" for c in report.created[:8]))
    for line in report.dropped[:5]:
        out.append(f"  probe not sent: {line}")
    for check, count in report.tally.disagreements.items():
        out.append(
            f"{check}: {count} answer(s) it failed match the spec's schema as the checker reads it: not findings"
        )
    creates = report.tally.creates
    if set(creates) - {"accepted"}:
        told = ", ".join(
            f"{n} {why}" if why == "accepted" else f"{n} answered {why}" for why, n in creates.most_common()
        )
        out.append(f"creates meant to succeed: {told}")
    if report.tally.unjudged:
        told = ", ".join(f"{n} answered {why}" for why, n in report.tally.unjudged.most_common())
        out.append(f"probes not judged: {told}")
    return out


def junit(report: Report) -> ET.ElementTree[ET.Element]:
    """The same findings and checks as JUnit XML (one test suite)."""
    suite = ET.Element("testsuite", name="apikley-kling contract check", timestamp="", hostname=report.target)
    counts = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}

    def case(name: str, classname: str) -> ET.Element:
        counts["tests"] += 1
        return ET.SubElement(suite, "testcase", name=name, classname=classname, time="0")

    for check in report.checks:
        classname = f"contract.{check.name}"
        if check.groups:
            for group in check.groups:
                element = ET.SubElement(case(group.headline()[:200], classname), "failure", message=group.headline())
                element.text = "\n".join(_group_lines("", group, ""))
                counts["failures"] += 1
        elif check.state == "passed" or check.state == "failed":
            ET.SubElement(case(f"{check.name}: {check.what}", classname), "system-out").text = (
                f"applied to {check.applied}"
                + (" (failed as a follow-on of another finding)" if check.state == "failed" else "")
            )
        elif check.state == "not exercised" and report.settings.strict:
            ET.SubElement(
                case(f"{check.name}: {check.what}", classname), "failure", message=f"not exercised: {check.reason}"
            )
            counts["failures"] += 1
        else:
            ET.SubElement(
                case(f"{check.name}: {check.what}", classname), "skipped", message=f"{check.state}: {check.reason}"
            )
            counts["skipped"] += 1
    for error in report.tally.errors:
        ET.SubElement(case(error[:200], "contract.run"), "error", message=error)
        counts["errors"] += 1
    suite.set("time", f"{report.seconds:.3f}")
    for key, value in counts.items():
        suite.set(key, str(value))
    root = ET.Element("testsuites", {"name": "contract", **{k: suite.get(k, "") for k in counts}})
    root.append(suite)
    for element in root.iter():
        _fit_for_xml(element)
    return ET.ElementTree(root)


def for_xml(text: str) -> str:
    """`text` with every character XML 1.0 forbids (controls, lone surrogates) or a viewer would act on
    (ESC, C1, bidi overrides) escaped as ASCII; its line breaks kept."""
    return "\n".join(for_terminal(line, _XML) for line in text.split("\n"))


def _fit_for_xml(element: ET.Element) -> None:
    if element.text:
        element.text = for_xml(element.text)
    if element.tail:
        element.tail = for_xml(element.tail)
    for name, value in element.attrib.items():
        element.set(name, for_terminal(value, _XML))


def write_junit(report: Report, path: Path) -> None:
    """Write the JUnit XML report (folders made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tree = junit(report)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
