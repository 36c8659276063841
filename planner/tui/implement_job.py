"""Implement mode's blocking work, for the app's background threads (no Textual here).

Grading runs the learner's file in confined child processes for up to a minute or so, so the app does it off
the UI thread. SQLite connections belong to the thread that opened them, so each grading opens its own
`Store` on the app's database, grades and records through `planner.implement.grade_and_record` (the
same door as `pathlab lab grade`), and closes it. The result comes back as a `service.LabOutcome`, so
the grade widget draws it exactly as it draws a lab run (checks, first failure first, mastery change,
what it unlocked). While it grades, the training check's events come through `on_event` (on the grading
thread: post them, touch no widget) and fold into a `LiveRun`, the state the lab screen's charts draw;
`cancel` stops it within a second (recorded `cancelled`, with the points earned before).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from labs.events import Event
from planner.curriculum import Curriculum
from planner.records import Learner
from planner.service import LabOutcome, Service


class ImplementResult(BaseModel):
    """One grading of the learner's file: the outcome as a run would have it, and what their code printed."""

    outcome: LabOutcome
    output: str
    code_hash: str


def file_hash(path: Path) -> str | None:
    """sha256 of the file's bytes; None while it does not exist or cannot be read (an editor mid-save)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def grade_in_thread(db_path: Path, curriculum: Curriculum, runner_factory: Callable[..., Any] | None,
                    learner: Learner, lab_id: str, node_id: str, workspace: Path | None, *,
                    on_event: Callable[[Event], None] | None = None,
                    cancel: threading.Event | None = None) -> ImplementResult:
    """Grade and record one implement attempt over a connection of this thread's own (`workspace` None:
    the learner's own folder).

    Raises `planner.implement.WorkspaceError` (no file yet, unreadable) for the caller to show.
    """
    from planner.implement import grade_and_record
    from planner.store import Store

    service = Service(Store.open(db_path), curriculum, runner_factory=runner_factory)
    try:
        graded = grade_and_record(service, learner, lab_id, node_id, workspace, on_event=on_event, cancel=cancel)
    finally:
        service.store.close()
    return ImplementResult(outcome=graded.outcome, output=graded.output, code_hash=graded.code_hash)
