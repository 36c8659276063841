"""Implement mode's use cases: where the learner's files live, starting a lab's scaffold, grading it and
recording the attempt, hints one at a time, and the reference solution once earned.

    default_workspace() -> Path
    start(lab_id, workspace=None, *, force=False) -> Scaffold
    grade_and_record(service, learner, lab_id, node_id, workspace=None, *, timeout_s=...) -> Graded
    next_hint(lab_id, workspace=None, number=None) -> Hint
    solution(store, learner, lab_id) -> str            raises SolutionLocked before an implement pass

`grade_and_record` is the one door for grading, from the CLI and the app alike: it records the attempt
(with how the learner's process was confined) and says what the grade changed, as a lab run's outcome.
The learner's file is only ever run by `labs.implement.grade_file`, in a confined process of its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from platformdirs import user_documents_dir
from pydantic import BaseModel

from labs import __version__
from labs.grading import CheckResult
from labs.implement import get_task, grade_file, scaffold_source, solution_source
from labs.implement.grader import DEFAULT_TIMEOUT_S, dataset_hash
from labs.implement.hints import hints_for
from labs.implement.protocol import Confinement
from planner.records import Attempt, Learner
from planner import service as lab_runs
from planner.service import LabOutcome, Service, progress_changes
from planner.store import Store, StoreBusy

WORKSPACE_NAME = "pathlab-workspace"
HINTS_FILE = ".pathlab-hints.json"


class WorkspaceError(ValueError):
    """A user mistake about the workspace (a file already there, a missing file); shown as one line."""


class SolutionLocked(ValueError):
    """The reference solution is shown only after the learner's own code passed."""


def default_workspace() -> Path:
    """<Documents>/pathlab-workspace when the platform has a documents folder, else ~/pathlab-workspace."""
    try:
        documents = Path(user_documents_dir())
    except Exception:  # platformdirs can fail on unusual systems; the home folder always exists
        documents = None
    if documents is not None and documents.is_dir():
        return documents / WORKSPACE_NAME
    return Path.home() / WORKSPACE_NAME


def learner_file(lab_id: str, workspace: Path | None = None) -> Path:
    return (workspace or default_workspace()) / get_task(lab_id).filename


# -- start ---------------------------------------------------------------------------------------------
class Scaffold(BaseModel):
    """A scaffold just written: where, the learner's earlier file kept as `backup`, what to write."""

    lab_id: str
    path: Path
    backup: Path | None = None
    functions: list[str]


def start(lab_id: str, workspace: Path | None = None, *, force: bool = False,
          now: datetime | None = None) -> Scaffold:
    """Write the lab's scaffold. An existing file is kept unless `force`, and then moved to a
    timestamped .bak first, so a learner's work is never lost."""
    path = learner_file(lab_id, workspace)
    backup = None
    if path.exists():
        if not force:
            raise WorkspaceError(f"{path} already exists; grade it with `pathlab lab grade {lab_id}`, or start "
                                 "again with --force (your file is kept as a .bak)")
        stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
        backup = path.with_name(f"{path.name}.{stamp}.bak")
        os.replace(path, backup)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(scaffold_source(lab_id), encoding="utf-8")
    except OSError as exc:
        raise WorkspaceError(f"cannot write {path}: {exc.strerror or exc}") from None
    functions = [f.name for f in get_task(lab_id).functions]
    return Scaffold(lab_id=lab_id, path=path, backup=backup, functions=functions)


# -- grade ---------------------------------------------------------------------------------------------
class Graded(BaseModel):
    """One recorded implement-mode attempt (the CLI's --json prints most of these fields)."""

    attempt_id: int
    lab: str
    learner: str
    mode: str = "implement"
    status: str
    passed: bool
    score: float
    checks: list[CheckResult]
    code_hash: str
    duration_s: float
    feedback: str
    """as recorded: the grader's verdict, then the sandbox line"""
    metrics: dict[str, float]
    output: str
    path: Path
    confinement: Confinement | None
    outcome: LabOutcome
    """the same result as a lab run's outcome (mastery before and after, what it unlocked)"""


def read_code(path: Path, lab_id: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise WorkspaceError(f"{path} does not exist; create it with `pathlab lab start {lab_id}`") from None
    except OSError as exc:
        raise WorkspaceError(f"cannot read {path}: {exc.strerror or exc}") from None


def sandbox_line(confinement: Confinement | None) -> str:
    """The check-free line that says how confined the learner's code was (recorded in the feedback)."""
    if confinement is None:
        return "Sandbox: your code's process did not start, so nothing of it ran."
    return confinement.summary()


def grade_and_record(service: Service, learner: Learner, lab_id: str, node_id: str,
                     workspace: Path | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Graded:
    """Grade the learner's file in the sandbox and record it as an implement-mode attempt (the code's
    sha256 included, and in its feedback and metrics which confinements applied). An interruption
    while grading records the attempt as cancelled."""
    store = service.store
    path = learner_file(lab_id, workspace)
    code_hash = hashlib.sha256(read_code(path, lab_id)).hexdigest()
    before = service.progress(learner)
    dataset = dataset_hash(get_task(lab_id).dataset)
    started_at = datetime.now(timezone.utc)
    attempt_id = store.start_attempt(learner.id, lab_id, node_id, mode="implement", params={"file": str(path)},
                                     seed=None, pid=os.getpid(), app_version=__version__, code_hash=code_hash,
                                     dataset_hash=dataset, started_at=started_at)
    try:
        result = grade_file(lab_id, path, timeout_s=timeout_s)
    except BaseException:
        store.finish_attempt(attempt_id, status="cancelled", score=None, passed=False, metrics={},
                             feedback="grading was interrupted", checks=[], duration_s=None)
        raise
    feedback = f"{result.feedback}\n{sandbox_line(result.confinement)}"
    missing = result.confinement.missing() if result.confinement else ["everything"]
    metrics = {**result.metrics, "sandbox_unconfined": float(len(missing))}
    finished = Attempt(id=attempt_id, learner_id=learner.id, lab_id=lab_id, node_id=node_id,
                       mode="implement", params={"file": str(path)}, status=result.status, score=result.grade.score,
                       passed=result.grade.passed, metrics=metrics, feedback=feedback,
                       started_at=started_at, finished_at=datetime.now(timezone.utc),
                       duration_s=result.duration_s, app_version=__version__, code_hash=code_hash,
                       dataset_hash=dataset)
    kept = _record(store, learner, finished, result.grade.checks)
    if kept is not None:
        feedback = finished.feedback = (f"{feedback}\n(The database stayed busy, another program holding its "
                                        f"write lock: this grade is kept in {kept} and is recorded the next "
                                        "time PathLab starts.)")
    try:
        after = service.progress(learner)
    except StoreBusy:  # recorded (or kept); what it changed shows at the next read
        after = before
    unlocked, completed = progress_changes(before, after)
    outcome = LabOutcome(
        attempt_id=attempt_id, lab_id=lab_id, node_id=node_id, status=result.status, score=result.grade.score,
        passed=result.grade.passed, metrics=metrics, feedback=feedback, grade=result.grade,
        duration_s=result.duration_s,
        mastery_before=before[node_id].mastery if node_id in before else "none",
        mastery_after=after[node_id].mastery if node_id in after else "none",
        unlocked=unlocked, completed=completed)
    return Graded(attempt_id=attempt_id, lab=lab_id, learner=learner.name, status=result.status,
                  passed=result.grade.passed, score=result.grade.score, checks=result.grade.checks,
                  code_hash=code_hash, duration_s=result.duration_s, feedback=feedback, metrics=metrics,
                  output=result.output, path=path, confinement=result.confinement, outcome=outcome)


def _record(store: Store, learner: Learner, attempt: Attempt, checks: list[CheckResult]) -> Path | None:
    """Record the finished grade, trying again while another program holds the write lock (the lab runs'
    RETRY_DELAYS_S); if it outlasts them, keep it in a recovery file (its path is returned) that the
    next start records, so a grade is never lost to a busy database."""
    for delay in (0.0, *lab_runs.RETRY_DELAYS_S):
        time.sleep(delay)
        try:
            store.finish_attempt(attempt.id, status=attempt.status, score=attempt.score,
                                 passed=bool(attempt.passed), metrics=attempt.metrics, feedback=attempt.feedback,
                                 checks=checks, duration_s=attempt.duration_s, finished_at=attempt.finished_at)
            return None
        except StoreBusy:
            continue
    from planner.portable import PortableAttempt
    from planner.recovery import PendingRun, save_pending

    fields = attempt.model_dump(include=set(PortableAttempt.model_fields) - {"checks", "curves", "samples"})
    portable = PortableAttempt(**fields, checks=checks)
    return save_pending(store.path, PendingRun(learner_id=learner.id, attempt_id=attempt.id, attempt=portable))


# -- hints and the solution -------------------------------------------------------------------------------
class Hint(BaseModel):
    number: int
    total: int
    text: str


def next_hint(lab_id: str, workspace: Path | None = None, number: int | None = None) -> Hint:
    """Hint `number` (1-based), or the next one not yet shown; what was revealed is remembered in the
    workspace, beside the learner's files."""
    hints = hints_for(lab_id)
    state_path = (workspace or default_workspace()) / HINTS_FILE
    revealed = _read_revealed(state_path)
    if number is None:
        number = min(revealed.get(lab_id, 0) + 1, len(hints))
    elif not 1 <= number <= len(hints):
        raise ValueError(f"{lab_id} has {len(hints)} hints; choose N from 1 to {len(hints)}")
    revealed[lab_id] = max(revealed.get(lab_id, 0), number)
    try:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps(revealed, indent=1, sort_keys=True))
    except OSError:
        pass  # remembering is a convenience; the hint is still shown
    return Hint(number=number, total=len(hints), text=hints[number - 1])


def _read_revealed(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, int)}


def record_help_view(service: Service, learner: Learner, lab_id: str, kind: str, number: int | None = None) -> None:
    """Remember that `learner` saw a hint (its number) or the solution, for the report's evidence of how
    a build passed; a database kept busy by another program only loses this note, never the hint."""
    try:
        service.store.record_help_view(learner.id, lab_id, kind, number)
    except StoreBusy:
        pass


def solution(store: Store, learner: Learner, lab_id: str) -> str:
    """The reference solution, once the learner has passed this lab in implement mode (the view is
    recorded: `Store.help_views`)."""
    get_task(lab_id)
    mine = [a for a in store.attempts(learner.id, lab_id=lab_id) if a.mode == "implement"]
    if any(a.passed for a in mine):
        try:
            store.record_help_view(learner.id, lab_id, "solution")
        except StoreBusy:
            pass
        return solution_source(lab_id)
    scores = [a.score for a in mine if a.score is not None]
    so_far = f"your best so far is {max(scores):g}/100" if scores else "you have not graded it yet"
    raise SolutionLocked(f"the solution to {lab_id} opens after your own code passes every check "
                         f"({so_far}); try `pathlab lab hint {lab_id}`")
