"""Implement mode's use cases: where the learner's files live, starting a lab's scaffold, grading it and
recording the attempt, hints one at a time, and the reference solution once earned.

    learner_workspace(db_path, learner) -> Path        <db>.workspaces/<learner id>/: each learner's own
    start(lab_id, workspace, *, force=False, legacy=None) -> Scaffold
    grade_and_record(service, learner, lab_id, node_id, workspace=None, *, timeout_s=..., on_event=None,
                     cancel=None) -> Graded
    learner_hint(service, learner, lab_id, workspace=None, number=None) -> Hint   counted per learner
    next_hint(lab_id, workspace=None, number=None) -> Hint                        counted in the folder
    solution(store, learner, lab_id) -> str            raises SolutionLocked before an implement pass
    record_build_moment(service, learner, lab_id, node_id, path, kind)   the file's mtime, for study time

Study time (planner.studytime): the scaffold written (`lab start`, the build screen's `w`) and the file's
mtime at each grading are recorded as build moments; the build's working time is estimated from them and
the gradings with the idle cutoff, up to the first pass (watching, `t`, grades every save: more moments).

Workspaces are per learner, beside the database (two learners on one machine never share a file or a
hint count); the one shared folder of earlier versions (`default_workspace()`) is read once: a learner
without a file of their own for a lab gets a copy of the old one on their first start (`Scaffold.copied_from`).

`grade_and_record` is the one door for grading, from the CLI and the app alike: it records the attempt
(with how the learner's process was confined) and says what the grade changed, as a lab run's outcome.
The learner's file is only ever run by `labs.implement.grade_file`, in a confined process of its own.
Its training check streams like a lab run, and is recorded the way a lab run is: the events go through a
`service.LabSession` (metric points in batches, a busy database retried with backoff, the result retried
and as a last resort kept in a recovery file) and on to `on_event`; `cancel` (or Ctrl-C) stops grading
within a second and records the attempt `cancelled` with the points earned before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from platformdirs import user_documents_dir
from pydantic import BaseModel

from labs.events import Event, Started
from labs.grading import CheckResult
from labs.implement import get_task, grade_file, scaffold_source, solution_source
from labs.implement.grader import DEFAULT_TIMEOUT_S, ImplementGrade, dataset_hash
from labs.implement.hints import hints_for
from labs.implement.protocol import Confinement
from planner.records import Learner
from planner.service import LabOutcome, LabSession, Service
from planner.store import Store, StoreBusy, StoreError

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


def learner_workspace(db_path: Path, learner: Learner) -> Path:
    """The learner's own folder, beside the database: `<db>.workspaces/<learner id>/` (the id, not the
    name: a renamed learner keeps their files)."""
    db_path = Path(db_path)
    return db_path.parent / f"{db_path.name}.workspaces" / str(learner.id)


def learner_file(lab_id: str, workspace: Path | None = None) -> Path:
    return (workspace or default_workspace()) / get_task(lab_id).filename


# -- start ---------------------------------------------------------------------------------------------
class Scaffold(BaseModel):
    """A scaffold just written: where, the learner's earlier file kept as `backup`, what to write."""

    lab_id: str
    path: Path
    backup: Path | None = None
    functions: list[str]
    copied_from: Path | None = None
    """the file of the old shared workspace this learner's copy was made from (then no scaffold was written)"""


def start(lab_id: str, workspace: Path | None = None, *, force: bool = False,
          now: datetime | None = None, legacy: Path | None = None) -> Scaffold:
    """Write the lab's scaffold. An existing file is kept unless `force`, and then moved to a
    timestamped .bak first, so a learner's work is never lost. `legacy`: the old shared workspace; when
    it holds this lab's file and the learner has none yet, the learner gets a copy of it instead."""
    path = learner_file(lab_id, workspace)
    functions = [f.name for f in get_task(lab_id).functions]
    old = learner_file(lab_id, legacy) if legacy is not None else None
    if not force and not path.exists() and old is not None and old.is_file() and old != path:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(old, path)
        except OSError as exc:
            raise WorkspaceError(f"cannot copy {old} to {path}: {exc.strerror or exc}") from None
        return Scaffold(lab_id=lab_id, path=path, functions=functions, copied_from=old)
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
    return Scaffold(lab_id=lab_id, path=path, backup=backup, functions=functions)


def record_build_moment(service: Service, learner: Learner, lab_id: str, node_id: str | None, path: Path,
                        kind: str = "save") -> None:
    """Note when the build's file was last written (its mtime: the scaffold just written, or the save a
    grading sees) for the build's estimated study time (planner.studytime). Best effort: a file that
    cannot be stat'ed or a busy database only loses the estimate a moment, never the grading."""
    with contextlib.suppress(OSError, StoreError, KeyError):
        at = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
        service.record_build_save(learner, lab_id, node_id or service.node_for_lab(lab_id), at, kind)


def workspace_of(service: Service, learner: Learner, workspace: Path | None = None) -> Path:
    """The folder a learner's build files are in: `workspace` when one is given (--dir), else their own."""
    return workspace if workspace is not None else learner_workspace(service.db_path, learner)


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


class _Grading:
    """`grade_file` on a thread of its own, as a `service.LabRunner`: Started at once (the attempt row),
    then the training check's Started and Progress through a queue; `result` once it returned."""

    def __init__(self, lab_id: str, path: Path, timeout_s: float, dataset: str, cancel: threading.Event):
        self.lab_id, self.path, self.timeout_s, self.dataset, self.stop = lab_id, path, timeout_s, dataset, cancel
        self.result: ImplementGrade | None = None
        self.error: BaseException | None = None
        self._queue: queue.Queue[Event] = queue.Queue()
        self._thread = threading.Thread(target=self._grade, name=f"grade {lab_id}", daemon=True)

    def start(self) -> None:
        self._queue.put(Started(lab_id=self.lab_id, total_steps=0, dataset_hash=self.dataset, pid=os.getpid()))
        self._thread.start()

    def _grade(self) -> None:
        try:
            self.result = grade_file(self.lab_id, self.path, timeout_s=self.timeout_s, cancel=self.stop,
                                     on_event=self._queue.put)
        except BaseException as exc:  # noqa: BLE001  handed to the recording thread, which raises it
            self.error = exc

    @property
    def over(self) -> bool:
        return not self._thread.is_alive() and self._queue.empty()

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        while True:
            try:
                event = self._queue.get(timeout=timeout)
            except queue.Empty:
                return
            if isinstance(event, Started) and not event.dataset_hash:
                event = event.model_copy(update={"dataset_hash": self.dataset})
            yield event

    def cancel(self) -> None:
        self.stop.set()

    def join(self) -> None:
        self._thread.join()


def grade_and_record(service: Service, learner: Learner, lab_id: str, node_id: str,
                     workspace: Path | None = None, *, timeout_s: float | None = None,
                     on_event: Callable[[Event], None] | None = None,
                     cancel: threading.Event | None = None) -> Graded:
    """Grade the learner's file in the sandbox and record it as an implement-mode attempt (the code's
    sha256 included, and in its feedback and metrics which confinements applied), its training curve as
    a lab run's is. `workspace` None: the learner's own. Events go on to `on_event` as they come (on this
    thread). `cancel` set, or Ctrl-C here, stops grading: the attempt is `cancelled` with the points
    earned before, and returned as such; any other interruption is recorded the same way and raised."""
    path = learner_file(lab_id, workspace_of(service, learner, workspace))
    code_hash = hashlib.sha256(read_code(path, lab_id)).hexdigest()
    record_build_moment(service, learner, lab_id, node_id, path, "save")
    before = service.progress(learner)
    task = get_task(lab_id)
    timeout_s = timeout_s or task.timeout_s or DEFAULT_TIMEOUT_S  # None: the task's own, else the grader's
    run = _Grading(lab_id, path, timeout_s, dataset_hash(task.dataset), cancel or threading.Event())
    session = LabSession(service, learner, lab_id, node_id, {"file": str(path)}, None, run, before,
                         mode="implement", test_out=False, code_hash=code_hash)
    run.start()
    try:
        while not run.over:
            for event in session.events(timeout=0.1):
                if on_event is not None:
                    on_event(event)
    except KeyboardInterrupt:  # Ctrl-C: stop the sandbox, record what was earned as cancelled
        run.cancel()
    except BaseException:
        run.cancel()
        run.join()
        if run.result is not None:
            _record(session, run.result, path, code_hash)
        else:
            session.finish("cancelled", 0.0, False, None, {}, "grading was interrupted", None)
        raise
    run.join()
    for _ in session.events(timeout=0):  # whatever came after the last look: the curve's last point
        pass
    if run.result is None:
        raise run.error if run.error is not None else RuntimeError("grading ended without a result")
    return _record(session, run.result, path, code_hash)


def _record(session: LabSession, result: ImplementGrade, path: Path, code_hash: str) -> Graded:
    """Record the grade through the session: retried while another program holds the write lock (the lab
    runs' RETRY_DELAYS_S), then kept in a recovery file that the next start records, so a grade is never
    lost to a busy database."""
    feedback = f"{result.feedback}\n{sandbox_line(result.confinement)}"
    missing = result.confinement.missing() if result.confinement else ["everything"]
    metrics = {**result.metrics, "sandbox_unconfined": float(len(missing))}
    outcome = session.finish(result.status, result.grade.score, result.grade.passed, result.grade, metrics,
                             feedback, result.duration_s)
    assert outcome.attempt_id is not None or session.recovery_file is not None
    return Graded(attempt_id=outcome.attempt_id or 0, lab=session.lab_id, learner=session.learner.name,
                  status=result.status, passed=result.grade.passed, score=result.grade.score,
                  checks=result.grade.checks, code_hash=code_hash, duration_s=result.duration_s,
                  feedback=outcome.feedback, metrics=metrics, output=result.output, path=path,
                  confinement=result.confinement, outcome=outcome)


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


def learner_hint(service: Service, learner: Learner, lab_id: str, workspace: Path | None = None,
                 number: int | None = None) -> Hint:
    """Hint `number`, or the learner's next one: how far they got is read from their recorded hint views
    (per learner, in the database) and from the hints file of their workspace (what was shown while the
    database was busy); the view is recorded for the report's evidence."""
    folder = workspace_of(service, learner, workspace)
    if number is None:
        try:
            seen: int | None = max((v.number or 0 for v in service.store.help_views(learner.id, lab_id)
                                    if v.kind == "hint"), default=0)
        except StoreError:
            seen = None
        if seen is None or workspace is None:  # a folder given with --dir may be shared: only the database
            seen = max(seen or 0, _read_revealed(folder / HINTS_FILE).get(lab_id, 0))
        number = min(seen + 1, len(hints_for(lab_id)))
    hint = next_hint(lab_id, folder, number)
    record_help_view(service, learner, lab_id, "hint", hint.number)
    return hint


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
