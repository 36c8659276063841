"""The CSV report: one row per check per attempt, for a spreadsheet or a pandas session.

Text cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) get a leading apostrophe, so a learner called `=HYPERLINK(...)` stays a name.
"""

from __future__ import annotations

import csv
import io

from planner.reports.models import ReportData

COLUMNS = ["learner", "node", "lab", "attempt", "timestamp", "check", "points", "max_points", "status"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def render_csv(data: ReportData) -> str:
    """Rows ordered as the attempts (newest first), checks in the order the grade listed them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    learner = _text(data.learner.name)
    for attempt in data.attempts:
        stamp = attempt.started_at.isoformat()
        for check in attempt.checks:
            writer.writerow([learner, _text(attempt.node_id), _text(attempt.lab_id), attempt.id, stamp,
                             _text(check.check_id), f"{check.points:g}", f"{check.max_points:g}", check.status])
    return out.getvalue()
