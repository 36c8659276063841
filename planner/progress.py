"""Where a learner stands on every node, derived from recorded attempts alone (pure: no I/O).

    node_progress(curriculum, attempts, quiz_attempts, build_labs=None) -> dict[node_id, NodeProgress]

Two kinds of lab attempt: a *build* (mode `implement`: the learner's own code, graded check by check)
and an *experiment* (modes `explore`/`practice`: a run of the library's network). A node *has a build
task* when its lab is in `labs.implement.tasks.TASKS` (`build_labs`, read from that registry unless a
caller passes its own set), so a build task added there changes the rule for its node and nothing else.

The rules, applied in prerequisite order so a completion unlocks the nodes after it:

- locked       some prerequisite is not completed (`missing` lists them, in prerequisite order);
- available    every prerequisite is completed and nothing has been tried yet;
- in_progress  unlocked, and a lab or quiz attempt exists, but the node is not completed;
- completed    unlocked, and the node's *evidence* is recorded: a passing build (every check, training
               included) for a node with a build task, else a passing lab attempt (an experiment, as
               before build tasks existed); AND a passing quiz, where the node has one. Experiments
               complete nothing for a node with a build task: they raise its mastery. A node with
               neither lab nor quiz is reading only: it completes as soon as it unlocks.
               A test-out skips prerequisites, never evidence: a locked node completes when it has a
               passing build (node with a build task; else a passing test-out attempt, `test_out=True`)
               AND a passing quiz (if it has one), in any order, while locked. A role never completes
               while locked: it needs every node it requires completed and its capstone's evidence (a
               build once the capstone has a build task, its lab pass until then).
               `test_out` marks a node completed before all its prerequisites were.

Mastery (`mastery_for_node`) for a node with a build task:
    none        nothing attempted
    attempted   any lab, build or quiz attempt finished
    familiar    its quiz passed, or an experiment passed (its goal met)
    proficient  a build passed
    mastered    a build passed, an experiment passed, and either passes (builds or experiments) on two
                different days or a quiz at >= 90 %
For a node without a build task the score scale of before (`score_mastery`): attempted < 70, familiar
70-99, proficient 100, mastered with two passes; a node without a lab uses its quiz scores x 100.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Literal

from pydantic import BaseModel, Field

from labs.grading import Mastery
from planner.curriculum import Curriculum, Node
from planner.records import Attempt, QuizAttempt

NodeState = Literal["locked", "available", "in_progress", "completed"]
Work = Literal["build", "quiz", "experiment"]
BUILD_MODE = "implement"
MASTERED_QUIZ = 0.9


class NodeProgress(BaseModel):
    node_id: str
    state: NodeState
    mastery: Mastery = "none"
    best_score: float | None = Field(default=None, description="best lab score 0..100 (quiz share x 100 without a lab)")
    passes: int = 0
    time_spent_s: float = 0.0
    completed_at: datetime | None = None
    test_out: bool = Field(default=False, description="completed before all its prerequisites were (a test-out)")
    missing: list[str] = Field(default_factory=list, description="prerequisites not yet completed")
    has_build: bool = Field(default=False, description="its lab has a build task (labs.implement.tasks)")
    build_passed_at: datetime | None = Field(default=None, description="when its first passing build finished")
    missing_work: list[Work] = Field(
        default_factory=list, description="what completion still needs: build, quiz, experiment (a lab pass of a "
                                          "node without a build task); empty once completed")


@cache
def registered_build_labs() -> frozenset[str]:
    """The labs with a build task, from the registry (read once: the tasks are code, fixed per process)."""
    from labs.implement.tasks import TASKS  # deferred: importing the grader package costs ~0.2 s

    return frozenset(TASKS)


def node_progress(curriculum: Curriculum, attempts: Iterable[Attempt], quiz_attempts: Iterable[QuizAttempt],
                  build_labs: Collection[str] | None = None) -> dict[str, NodeProgress]:
    """Every node's progress, keyed by id in the curriculum's file order."""
    builds = registered_build_labs() if build_labs is None else frozenset(build_labs)
    labs_by_node = _group(attempts)
    quizzes_by_node = _group(quiz_attempts)
    done: dict[str, NodeProgress] = {}
    for node_id in curriculum.topological_order():
        node = curriculum.nodes[node_id]
        done[node_id] = _one_node(node, bool(node.lab and node.lab in builds), labs_by_node.get(node_id, []),
                                  quizzes_by_node.get(node_id, []), done)
    return {node_id: done[node_id] for node_id in curriculum.nodes}


def _group(rows: Iterable[Attempt] | Iterable[QuizAttempt]) -> dict[str, list]:
    out: dict[str, list] = {}
    for row in rows:
        out.setdefault(row.node_id, []).append(row)
    return out


def _when(row: Attempt | QuizAttempt) -> datetime:
    return row.finished_at or row.started_at


def _first_pass(rows: Iterable[Attempt] | Iterable[QuizAttempt]) -> datetime | None:
    """When the earliest passing attempt finished (None if none passed)."""
    return min((_when(r) for r in rows if r.passed), default=None)


def is_build(attempt: Attempt) -> bool:
    return attempt.mode == BUILD_MODE


def _evidence(has_build: bool, labs: list[Attempt], *, locked: bool) -> list[Attempt]:
    """The attempts whose pass counts towards completion: builds for a node with a build task, else lab
    runs (only test-outs while the node is locked)."""
    if has_build:
        return [a for a in labs if is_build(a)]
    return [a for a in labs if a.test_out] if locked else list(labs)


def _requirements_met(node: Node, has_build: bool, labs: list[Attempt], quizzes: list[QuizAttempt], *,
                      locked: bool) -> datetime | None:
    """When the evidence and the quiz pass (each where the node asks for it) were both recorded; None if
    not yet. A reading-only node returns `_NEVER`, "met from the start"."""
    times = []
    if node.lab:
        times.append(_first_pass(_evidence(has_build, labs, locked=locked)))
    if node.quiz:
        times.append(_first_pass(quizzes))
    if not times:
        return _NEVER
    return None if None in times else max(times)  # type: ignore[type-var]


_NEVER = datetime.min.replace(tzinfo=UTC)


def _missing_work(node: Node, has_build: bool, labs: list[Attempt], quizzes: list[QuizAttempt]) -> list[Work]:
    work: list[Work] = []
    if node.lab and _first_pass(_evidence(has_build, labs, locked=False)) is None:
        work.append("build" if has_build else "experiment")
    if node.quiz and _first_pass(quizzes) is None:
        work.append("quiz")
    return work


def _one_node(node: Node, has_build: bool, labs: list[Attempt], quizzes: list[QuizAttempt],
              before: dict[str, NodeProgress]) -> NodeProgress:
    missing = [p for p in node.prerequisites if before[p].state != "completed"]
    stats = _stats(node, has_build, labs, quizzes)
    if missing:
        met_at = None if node.kind == "role" else _requirements_met(node, has_build, labs, quizzes, locked=True)
        if met_at is not None and met_at is not _NEVER:
            return NodeProgress(node_id=node.id, state="completed", completed_at=met_at, test_out=True, **stats)
        return NodeProgress(node_id=node.id, state="locked", missing=missing,
                            missing_work=_missing_work(node, has_build, labs, quizzes), **stats)
    met_at = _requirements_met(node, has_build, labs, quizzes, locked=False)
    unlocked_at = max((before[p].completed_at for p in node.prerequisites if before[p].completed_at), default=None)
    if met_at is _NEVER:  # reading only: done when its prerequisites are
        return NodeProgress(node_id=node.id, state="completed", completed_at=unlocked_at, **stats)
    if met_at is not None:
        tested_out = unlocked_at is not None and met_at < unlocked_at
        return NodeProgress(node_id=node.id, state="completed", completed_at=met_at, test_out=tested_out, **stats)
    state: NodeState = "in_progress" if labs or quizzes else "available"
    return NodeProgress(node_id=node.id, state=state, missing_work=_missing_work(node, has_build, labs, quizzes),
                        **stats)


def _stats(node: Node, has_build: bool, labs: list[Attempt], quizzes: list[QuizAttempt]) -> dict:
    """best_score, passes, mastery, time spent and the first build pass: the figures beside every state."""
    finished = [a for a in labs if a.score is not None and a.status != "running"]
    if node.lab:
        scores = [a.score for a in finished]
        passes = sum(1 for a in finished if a.passed)
    else:
        scores = [100.0 * q.score for q in quizzes]
        passes = sum(1 for q in quizzes if q.passed)
    best = max(scores) if scores else None
    time_spent = sum(a.duration_s or 0.0 for a in labs) + sum(
        max(0.0, (q.finished_at - q.started_at).total_seconds()) for q in quizzes)
    mastery = (mastery_for_node(finished, quizzes) if has_build
               else score_mastery(best, passes))
    return {"best_score": best, "passes": passes, "time_spent_s": time_spent, "mastery": mastery,
            "has_build": has_build,
            "build_passed_at": _first_pass([a for a in finished if is_build(a)]) if has_build else None}


def mastery_for_node(labs: list[Attempt], quizzes: list[QuizAttempt]) -> Mastery:
    """Mastery of a node with a build task, from its finished lab attempts and its quiz attempts (table in
    the module docstring and the README)."""
    passing = [a for a in labs if a.passed]
    build_passed = any(is_build(a) for a in passing)
    experiment_passed = any(not is_build(a) for a in passing)
    quiz_passed = any(q.passed for q in quizzes)
    if build_passed:
        pass_days = {_when(a).astimezone(UTC).date() for a in passing}
        strong_quiz = any(q.score >= MASTERED_QUIZ for q in quizzes)
        return "mastered" if experiment_passed and (len(pass_days) >= 2 or strong_quiz) else "proficient"
    if quiz_passed or experiment_passed:
        return "familiar"
    return "attempted" if labs or quizzes else "none"


def score_mastery(best_score: float | None, passes: int = 0) -> Mastery:
    """Mastery of a node without a build task (the scale from before build tasks): attempted < 70,
    familiar 70-99, proficient 100; mastered with a pass again later (two or more passing attempts)."""
    if best_score is None:
        return "none"
    if passes >= 2 and best_score >= 70:
        return "mastered"
    if best_score >= 100:
        return "proficient"
    if best_score >= 70:
        return "familiar"
    return "attempted"
