"""The one error the reports package raises for a user mistake (its message is shown as is)."""


class ReportError(Exception):
    """A report cannot be made or written; the message names the learner, node or path at fault."""
