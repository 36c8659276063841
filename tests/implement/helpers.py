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


__all__ = ["by_id", "grade_source", "scaffold_source", "solution_source", "with_mistake", "write"]
