"""The one error the reports package raises for a user mistake (its message is shown as is).

A ValueError, so the CLI shows it as `Error: <message>` like every other bad input."""

from __future__ import annotations

from planner.errors import UnknownName


class ReportError(ValueError):
    """A report cannot be made or written; the message names the learner, node or path at fault."""


class UnknownReportName(ReportError, UnknownName):
    """The learner or node a report was asked for is not there (the CLI's exit code 2)."""
