"""Writing learner files for the grading tests: the reference solution, the scaffold, or the reference with
one typical mistake edited in (the edit must apply, so a renamed line cannot silently test nothing)."""

from __future__ import annotations

from pathlib import Path

from labs.implement import get_task, grade_file, scaffold_source, solution_source
from labs.implement.grader import ImplementGrade


def with_mistake(lab_id: str, line: str, wrong: str) -> str:
    source = solution_source(lab_id)
    assert source.count(line) == 1, f"{line!r} should appear exactly once in the {lab_id} solution"
    return source.replace(line, wrong)


def write(folder: Path, lab_id: str, source: str) -> Path:
    path = folder / get_task(lab_id).filename
    path.write_text(source)
    return path


def grade_source(folder: Path, lab_id: str, source: str, **limits) -> ImplementGrade:
    return grade_file(lab_id, write(folder, lab_id, source), **limits)


def by_id(result: ImplementGrade) -> dict:
    return {c.id: c for c in result.grade.checks}


__all__ = ["assert_costs_exactly", "by_id", "grade_source", "scaffold_source", "solution_source", "train_reports",
           "with_mistake", "write"]


def assert_costs_exactly(result: ImplementGrade, lab_id: str, lost: dict[str, list[str]]) -> None:
    """A classic mistake costs exactly its own checks: each check in `lost` failed with no points and a
    message holding every word given for it; every other check passed in full; training was skipped
    naming what to fix; the score is 100 less the lost checks' points and the training's."""
    import pytest

    from labs.implement.tasks import TRAIN

    checks = by_id(result)
    assert result.status == "failed"
    for check_id, words in lost.items():
        got = checks[check_id]
        assert got.status == "failed" and got.points == 0, (check_id, got.status, got.message)
        for word in words:
            assert word in got.message, got.message
    others = [c for c in checks.values() if c.id not in lost and c.id != TRAIN]
    assert all(c.status == "passed" and c.points == c.max_points for c in others), \
        [(c.id, c.message) for c in others if c.status != "passed"]
    assert checks[TRAIN].status == "skipped"
    assert all(check_id in checks[TRAIN].message for check_id in lost), checks[TRAIN].message
    task = get_task(lab_id)
    assert result.grade.score == pytest.approx(100 - sum(task.check(c).points for c in [*lost, TRAIN]))


def train_reports(folder: Path, lab_id: str, checks, budget_s: float = 60.0) -> tuple[float, list]:
    """Train the reference solution through the task's `checks.train` with a `report` that keeps every
    call: (the share of the training points, [(step, total, metrics), ...]), after asserting the steps
    rise to at most their total, as the app's live chart draws them."""
    from labs.implement.remote import Learner

    path = write(folder, lab_id, solution_source(lab_id))
    learner = Learner.start(path, memory_mb=1024, cpu_s=int(budget_s), scratch=str(folder))
    seen: list = []
    try:
        learner.load({fn.name: fn.params for fn in get_task(lab_id).functions})
        fraction, _, _ = checks.train(learner, budget_s, report=lambda step, total, m: seen.append((step, total, m)))
    finally:
        learner.close()
    steps = [step for step, _, _ in seen]
    assert len(seen) >= 5 and steps == sorted(set(steps)) and all(step <= total for step, total, _ in seen)
    return fraction, seen


_REFERENCE_GRADES: dict[str, ImplementGrade] = {}


def graded_reference(lab_id: str) -> ImplementGrade:
    """The reference solution's grade through the real grader, graded once per test session: the shared
    test over every task and the task's own test file both read it (a capstone trains for half a
    minute). No timeout is named where the task has its own; elsewhere 170 s, for a loaded machine.

    Under pytest-xdist the session is several processes: the first to ask grades (holding a lock file),
    and the others read its grade from the run's shared folder, so each reference is still graded once."""
    import fcntl
    import os
    import tempfile

    if lab_id in _REFERENCE_GRADES:
        return _REFERENCE_GRADES[lab_id]
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")  # set by pytest-xdist in every worker of one run
    shared = Path(tempfile.gettempdir()) / f"pathlab-references-{run}" if run else None
    lock = None
    if shared is not None:
        shared.mkdir(exist_ok=True)
        lock = open(shared / f"{lab_id}.lock", "w")
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        kept = shared / f"{lab_id}.json" if shared is not None else None
        if kept is not None and kept.exists():
            grade = ImplementGrade.model_validate_json(kept.read_text())
        else:
            folder = Path(tempfile.mkdtemp(prefix=f"reference-{lab_id}-"))
            limits = {} if get_task(lab_id).timeout_s else {"timeout_s": 170}
            grade = grade_source(folder, lab_id, solution_source(lab_id), **limits)
            if kept is not None:
                kept.write_text(grade.model_dump_json())
    finally:
        if lock is not None:
            lock.close()
    _REFERENCE_GRADES[lab_id] = grade
    return grade
