"""Where a learner stands on every node, derived from recorded attempts alone (pure: no I/O).

    node_progress(curriculum, attempts, quiz_attempts, build_labs=None) -> dict[node_id, NodeProgress]
    node_progress(curriculum, summaries=...)   the same from per-node aggregates (`NodeSummary`, one per
                                               node: `summarise(attempts, quizzes)` or, in SQL, the store's
                                               `node_summaries`), so the rules never need every row

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
An experiment's pass (its goal met) is the "experiment passed" above; a diagnosis answer ("what went
wrong?" after a failed run, planner.diagnosis) is recorded and reported but moves no level.

Reviews (planner.review): a review draw is recorded as a quiz attempt of kind "review", which counts as
no quiz here. A lapse, the node's latest review rated Again, lowers a completed node's mastery one level
(mastered -> proficient -> familiar, never below familiar) until a later review is rated Hard or better;
the node stays completed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
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
    time_spent_s: float = Field(default=0.0, description="recorded study time: the sum of time_by_kind")
    time_by_kind: dict[str, float] = Field(
        default_factory=dict, description="seconds by source (planner.studytime): lesson (read in the app), quiz, "
                                          "build (estimated from saves and gradings), lab (runs' and gradings' compute)")
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


class NodeSummary(BaseModel):
    """The aggregates of one node's attempts that every rule below reads: what `node_progress` needs
    instead of the rows themselves, so a store can compute them in SQL (`Store.node_summaries`) and
    `summarise` computes them from rows (the two agree: tests/test_progress_summary.py).

    "Finished" means status not `running` and a score recorded (the attempts behind the figures and
    mastery); the evidence passes count any passing attempt, as completion always has.
    """

    node_id: str
    lab_attempts: int = 0
    finished: int = 0
    best_score: float | None = Field(default=None, description="best score of a finished lab attempt")
    passes: int = Field(default=0, description="finished passing lab attempts")
    lab_time_s: float = 0.0
    first_pass: datetime | None = Field(default=None, description="earliest passing lab attempt, any kind")
    first_test_out_pass: datetime | None = None
    first_build_pass: datetime | None = None
    finished_build_pass: datetime | None = Field(default=None, description="earliest finished passing build")
    finished_experiment_pass: bool = False
    pass_days: int = Field(default=0, description="distinct UTC days with a finished passing lab attempt")
    quizzes: int = 0
    quiz_best: float | None = None
    quiz_passes: int = 0
    quiz_first_pass: datetime | None = None
    quiz_time_s: float = 0.0
    lesson_time_s: float = Field(default=0.0, description="active lesson reading in the app (Store.lesson_seconds)")
    build_time_s: float = Field(default=0.0, description="a build's estimated working time (planner.studytime)")
    review_lapsed: bool = Field(default=False, description="the node's latest review (planner.review) was a lapse: "
                                                           "rated Again")


def summarise(attempts: Iterable[Attempt], quiz_attempts: Iterable[QuizAttempt]) -> dict[str, NodeSummary]:
    """Each node's `NodeSummary` from full rows (the reference `Store.node_summaries` is tested against)."""
    out: dict[str, NodeSummary] = {}
    days: dict[str, set] = {}
    for a in attempts:
        s = out.setdefault(a.node_id, NodeSummary(node_id=a.node_id))
        s.lab_attempts += 1
        s.lab_time_s += a.duration_s or 0.0
        when = _when(a)
        if a.passed:
            s.first_pass = _earliest(s.first_pass, when)
            if a.test_out:
                s.first_test_out_pass = _earliest(s.first_test_out_pass, when)
            if is_build(a):
                s.first_build_pass = _earliest(s.first_build_pass, when)
        if a.score is None or a.status == "running":
            continue
        s.finished += 1
        s.best_score = a.score if s.best_score is None else max(s.best_score, a.score)
        if a.passed:
            s.passes += 1
            days.setdefault(a.node_id, set()).add(when.astimezone(UTC).date())
            if is_build(a):
                s.finished_build_pass = _earliest(s.finished_build_pass, when)
            else:
                s.finished_experiment_pass = True
    for node_id, pass_days in days.items():
        out[node_id].pass_days = len(pass_days)
    latest_review: dict[str, QuizAttempt] = {}
    for q in quiz_attempts:
        if q.kind == "review":  # a review draw is no quiz attempt: only its lapse counts (below)
            seen = latest_review.get(q.node_id)
            if seen is None or (_when(q), q.id) > (_when(seen), seen.id):
                latest_review[q.node_id] = q
            continue
        s = out.setdefault(q.node_id, NodeSummary(node_id=q.node_id))
        s.quizzes += 1
        s.quiz_best = q.score if s.quiz_best is None else max(s.quiz_best, q.score)
        s.quiz_time_s += max(0.0, (q.finished_at - q.started_at).total_seconds())
        if q.passed:
            s.quiz_passes += 1
            s.quiz_first_pass = _earliest(s.quiz_first_pass, _when(q))
    for node_id, q in latest_review.items():
        out.setdefault(node_id, NodeSummary(node_id=node_id)).review_lapsed = not q.passed
    return out


def with_study_time(summaries: dict[str, NodeSummary],
                    study: Mapping[str, tuple[float, float]]) -> dict[str, NodeSummary]:
    """`summaries` with each node's (lesson, build) seconds (planner.studytime.node_study_seconds) set."""
    for node_id, (lesson, build) in study.items():
        summary = summaries.setdefault(node_id, NodeSummary(node_id=node_id))
        summary.lesson_time_s, summary.build_time_s = lesson, build
    return summaries


def _earliest(current: datetime | None, when: datetime) -> datetime:
    return when if current is None or when < current else current


def node_progress(curriculum: Curriculum, attempts: Iterable[Attempt] = (), quiz_attempts: Iterable[QuizAttempt] = (),
                  build_labs: Collection[str] | None = None, *,
                  summaries: Mapping[str, NodeSummary] | None = None) -> dict[str, NodeProgress]:
    """Every node's progress, keyed by id in the curriculum's file order: from the rows, or from their
    `summaries` when given (then the rows are not read)."""
    builds = registered_build_labs() if build_labs is None else frozenset(build_labs)
    if summaries is None:
        summaries = summarise(attempts, quiz_attempts)
    done: dict[str, NodeProgress] = {}
    for node_id in curriculum.topological_order():
        node = curriculum.nodes[node_id]
        summary = summaries.get(node_id) or NodeSummary(node_id=node_id)
        done[node_id] = _after_review(_one_node(node, bool(node.lab and node.lab in builds), summary, done),
                                      summary)
    return {node_id: done[node_id] for node_id in curriculum.nodes}


def _when(row: Attempt | QuizAttempt) -> datetime:
    return row.finished_at or row.started_at


def is_build(attempt: Attempt) -> bool:
    return attempt.mode == BUILD_MODE


def _evidence_pass(has_build: bool, s: NodeSummary, *, locked: bool) -> datetime | None:
    """When the first attempt whose pass counts towards completion passed: a build for a node with a
    build task, else a lab run (only a test-out while the node is locked)."""
    if has_build:
        return s.first_build_pass
    return s.first_test_out_pass if locked else s.first_pass


def _requirements_met(node: Node, has_build: bool, s: NodeSummary, *, locked: bool) -> datetime | None:
    """When the evidence and the quiz pass (each where the node asks for it) were both recorded; None if
    not yet. A reading-only node returns `_NEVER`, "met from the start"."""
    times = []
    if node.lab:
        times.append(_evidence_pass(has_build, s, locked=locked))
    if node.quiz:
        times.append(s.quiz_first_pass)
    if not times:
        return _NEVER
    return None if None in times else max(times)  # type: ignore[type-var]


_NEVER = datetime.min.replace(tzinfo=UTC)


def _missing_work(node: Node, has_build: bool, s: NodeSummary) -> list[Work]:
    work: list[Work] = []
    if node.lab and _evidence_pass(has_build, s, locked=False) is None:
        work.append("build" if has_build else "experiment")
    if node.quiz and s.quiz_first_pass is None:
        work.append("quiz")
    return work


def _one_node(node: Node, has_build: bool, s: NodeSummary, before: dict[str, NodeProgress]) -> NodeProgress:
    missing = [p for p in node.prerequisites if before[p].state != "completed"]
    stats = _stats(node, has_build, s)
    if missing:
        met_at = None if node.kind == "role" else _requirements_met(node, has_build, s, locked=True)
        if met_at is not None and met_at is not _NEVER:
            return NodeProgress(node_id=node.id, state="completed", completed_at=met_at, test_out=True, **stats)
        return NodeProgress(node_id=node.id, state="locked", missing=missing,
                            missing_work=_missing_work(node, has_build, s), **stats)
    met_at = _requirements_met(node, has_build, s, locked=False)
    unlocked_at = max((before[p].completed_at for p in node.prerequisites if before[p].completed_at), default=None)
    if met_at is _NEVER:  # reading only: done when its prerequisites are
        return NodeProgress(node_id=node.id, state="completed", completed_at=unlocked_at, **stats)
    if met_at is not None:
        tested_out = unlocked_at is not None and met_at < unlocked_at
        return NodeProgress(node_id=node.id, state="completed", completed_at=met_at, test_out=tested_out, **stats)
    state: NodeState = "in_progress" if s.lab_attempts or s.quizzes else "available"
    return NodeProgress(node_id=node.id, state=state, missing_work=_missing_work(node, has_build, s), **stats)


LEVELS: tuple[Mastery, ...] = ("none", "attempted", "familiar", "proficient", "mastered")
LAPSE_FLOOR: Mastery = "familiar"


def _after_review(p: NodeProgress, s: NodeSummary) -> NodeProgress:
    """A lapse (the node's latest review rated Again) lowers a completed node's mastery one level, never
    below `LAPSE_FLOOR`, and never changes its state: completion stays. The next review rated Hard or
    better gives the level back (mastery is derived, nothing is stored)."""
    if not s.review_lapsed or p.state != "completed":
        return p
    level = LEVELS.index(p.mastery)
    lowered = max(level - 1, LEVELS.index(LAPSE_FLOOR))
    return p if lowered >= level else p.model_copy(update={"mastery": LEVELS[lowered]})


def _stats(node: Node, has_build: bool, s: NodeSummary) -> dict:
    """best_score, passes, mastery, time spent and the first build pass: the figures beside every state."""
    if node.lab:
        best, passes = s.best_score, s.passes
    else:
        best, passes = (None if s.quiz_best is None else 100.0 * s.quiz_best), s.quiz_passes
    by_kind = {"lesson": s.lesson_time_s, "quiz": s.quiz_time_s, "build": s.build_time_s, "lab": s.lab_time_s}
    time_spent = sum(by_kind.values())
    by_kind = {kind: round(seconds, 6) for kind, seconds in by_kind.items()}  # to the microsecond: SQL and
    # Python sum the same durations in different orders
    mastery = _summary_mastery(s) if has_build else score_mastery(best, passes)
    return {"best_score": best, "passes": passes, "time_spent_s": time_spent, "time_by_kind": by_kind, "mastery": mastery,
            "has_build": has_build, "build_passed_at": s.finished_build_pass if has_build else None}


def mastery_for_node(labs: list[Attempt], quizzes: list[QuizAttempt]) -> Mastery:
    """Mastery of a node with a build task, from its finished lab attempts and its quiz attempts (table in
    the module docstring and the README)."""
    merged = summarise([a.model_copy(update={"node_id": ""}) for a in labs],  # one node, whatever the ids
                       [q.model_copy(update={"node_id": ""}) for q in quizzes])
    return _summary_mastery(merged.get("", NodeSummary(node_id="")))


def _summary_mastery(s: NodeSummary) -> Mastery:
    build_passed = s.finished_build_pass is not None
    experiment_passed = s.finished_experiment_pass
    quiz_passed = s.quiz_passes > 0
    if build_passed:
        strong_quiz = s.quiz_best is not None and s.quiz_best >= MASTERED_QUIZ
        return "mastered" if experiment_passed and (s.pass_days >= 2 or strong_quiz) else "proficient"
    if quiz_passed or experiment_passed:
        return "familiar"
    return "attempted" if s.finished or s.quizzes else "none"


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
