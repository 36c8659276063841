"""Messages the worker threads post to the app; their handlers run on the UI thread.

The workers never touch a widget: they only post these, and `PathLabApp` folds them into its `LiveRun`
(or the implement screen's view) and refreshes whatever screens show the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from labs.events import Event
    from planner.service import LabOutcome
    from planner.tui.implement_job import ImplementResult


class RunStarted(Message):
    """The attempt row exists: `attempt_id` is the recorded attempt being trained."""

    def __init__(self, attempt_id: int) -> None:
        super().__init__()
        self.attempt_id = attempt_id


class RunEvents(Message):
    """The events that arrived in one poll of the session (often one, many when a lab is fast)."""

    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events


class RunEnded(Message):
    """The run is over: `outcome` is the service's LabOutcome, or `error` says why there is none."""

    def __init__(self, outcome: LabOutcome | None = None, error: str | None = None) -> None:
        super().__init__()
        self.outcome = outcome
        self.error = error


class ImplementGraded(Message):
    """A grading of the learner's own file is over: `result` is an `ImplementResult`, or `error` says why
    there is none (no file yet, the sandbox could not start)."""

    def __init__(self, lab_id: str, result: ImplementResult | None = None, error: str | None = None) -> None:
        super().__init__()
        self.lab_id = lab_id
        self.result = result
        self.error = error


class GradingEvents(Message):
    """Events of the training check of the learner's own code, as it grades (the build screen's chart)."""

    def __init__(self, lab_id: str, events: list[Event]) -> None:
        super().__init__()
        self.lab_id = lab_id
        self.events = events


class FileChanged(Message):
    """The watched file's content changed (posted by the watch worker; the screen grades again)."""

    def __init__(self, code_hash: str) -> None:
        super().__init__()
        self.code_hash = code_hash
