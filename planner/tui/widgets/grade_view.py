"""A graded result, check by check (first failure first, as `labs.grading.grade` orders them), with
the mastery change and what the result unlocked. Used by the lab screen and the attempt view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.markup import escape

from labs.grading import CheckResult
from planner.curriculum import Curriculum

if TYPE_CHECKING:
    from planner.service import LabOutcome

CHECK_MARK = {"passed": "[$success]✓[/]", "partial": "[$warning]◐[/]", "failed": "[$error]✗[/]",
              "skipped": "[dim]–[/]"}


def checks_markup(checks: list[CheckResult]) -> str:
    """One line per check: mark, points earned/max, title, then its message on the next line."""
    order = {"failed": 0, "partial": 1, "skipped": 2, "passed": 3}
    lines = []
    for check in sorted(checks, key=lambda c: order.get(c.status, 9)):
        required = " [dim](required)[/]" if getattr(check, "required", False) else ""
        lines.append(f"{CHECK_MARK.get(check.status, '?')} {check.points:g}/{check.max_points:g}  "
                     f"[b]{escape(check.title)}[/]{required}")
        if check.message:
            lines.append(f"    [dim]{escape(check.message)}[/]")
    return "\n".join(lines)


def outcome_markup(outcome: LabOutcome, curriculum: Curriculum) -> str:
    """The whole result of a run: verdict and score, checks, feedback, mastery change, unlocks."""
    status = outcome.status
    if status in ("passed", "failed") and outcome.grade is not None:
        verdict = "[$success]Passed[/]" if outcome.passed else "[$error]Not passed[/]"
        head = f"{verdict} · [b]{outcome.score:.0f}/100[/] (pass mark {outcome.grade.pass_mark:g})"
        parts = [head, checks_markup(outcome.grade.checks)]
    else:
        parts = [f"[$warning]Run {status}[/]"]
    if outcome.feedback:
        parts.append(escape(outcome.feedback))
    before, after = getattr(outcome, "mastery_before", None), getattr(outcome, "mastery_after", None)
    if before and after and before != after:
        parts.append(f"Mastery: {before} → [b]{after}[/]")
    elif after:
        parts.append(f"Mastery: {after}")
    unlocked = getattr(outcome, "unlocked", None) or []
    if unlocked:
        titles = [curriculum.node(n).title if n in curriculum.nodes else n for n in unlocked]
        parts.append(f"[$success]Unlocked:[/] [b]{', '.join(titles)}[/]")
    return "\n".join(parts)
