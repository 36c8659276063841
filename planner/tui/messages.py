"""Messages the training worker thread posts to the app; their handlers run on the UI thread.

The worker never touches a widget: it only posts these, and `PathLabApp` folds them into its `LiveRun`
and refreshes whatever screens show the run.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class RunStarted(Message):
    def __init__(self, attempt_id: int) -> None:
        super().__init__()
        self.attempt_id = attempt_id


class RunEvents(Message):
    """The events that arrived in one poll of the session (often one, many when a lab is fast)."""

    def __init__(self, events: list[Any]) -> None:
        super().__init__()
        self.events = events


class RunEnded(Message):
    """The run is over: `outcome` is the service's LabOutcome, or `error` says why there is none."""

    def __init__(self, outcome: Any = None, error: str | None = None) -> None:
        super().__init__()
        self.outcome = outcome
        self.error = error
