"""Where a learner stands on every node, derived from recorded attempts alone (pure: no I/O).

    node_progress(curriculum, attempts, quiz_attempts) -> dict[node_id, NodeProgress]

The rules, applied in prerequisite order so a completion unlocks the nodes after it:

- locked       some prerequisite is not completed (`missing` lists them, in prerequisite order);
- available    every prerequisite is completed and nothing has been tried yet;
- in_progress  unlocked, and a lab or quiz attempt exists, but the node is not completed;
- completed    unlocked, and its lab has a passing attempt AND its quiz a passing attempt (for each
               of the two the node has). A node with neither lab nor quiz is reading only: it
               completes as soon as it unlocks, so it never blocks the nodes after it.
               A passing test-out attempt (`test_out=True`, practice mode) completes a node even
               while locked: the learner proved the skill without the path to it.

Mastery is `labs.grading.mastery_for` over the node's finished lab attempts (best score, number of
passes, whether one passed in implement mode). A node without a lab uses its quiz attempts instead,
scaled to 0..100, so a quiz-only node still shows how well it is known.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from labs.grading import Mastery, mastery_for
from planner.curriculum import Curriculum, Node
from planner.records import Attempt, QuizAttempt

NodeState = Literal["locked", "available", "in_progress", "completed"]


class NodeProgress(BaseModel):
    node_id: str
    state: NodeState
    mastery: Mastery = "none"
    best_score: float | None = Field(default=None, description="best lab score 0..100 (quiz share x 100 without a lab)")
    passes: int = 0
    time_spent_s: float = 0.0
    completed_at: datetime | None = None
    test_out: bool = Field(default=False, description="completed by a passing test-out attempt")
    missing: list[str] = Field(default_factory=list, description="prerequisites not yet completed")


def node_progress(curriculum: Curriculum, attempts: Iterable[Attempt],
                  quiz_attempts: Iterable[QuizAttempt]) -> dict[str, NodeProgress]:
    """Every node's progress, keyed by id in the curriculum's file order."""
    labs_by_node = _group(attempts)
    quizzes_by_node = _group(quiz_attempts)
    done: dict[str, NodeProgress] = {}
    for node_id in curriculum.topological_order():
        node = curriculum.nodes[node_id]
        done[node_id] = _one_node(node, labs_by_node.get(node_id, []),
                                  quizzes_by_node.get(node_id, []), done)
    return {node_id: done[node_id] for node_id in curriculum.nodes}


def _group(rows: Iterable[Attempt] | Iterable[QuizAttempt]) -> dict[str, list]:
    out: dict[str, list] = {}
    for row in rows:
        out.setdefault(row.node_id, []).append(row)
    return out


def _first_pass(rows: list, *, test_out_only: bool = False) -> datetime | None:
    """When the earliest passing attempt finished (None if none passed)."""
    times = [r.finished_at or r.started_at for r in rows
             if r.passed and (not test_out_only or getattr(r, "test_out", False))]
    return min(times) if times else None


def _one_node(node: Node, labs: list[Attempt], quizzes: list[QuizAttempt],
              before: dict[str, NodeProgress]) -> NodeProgress:
    missing = [p for p in node.prerequisites if before[p].state != "completed"]
    stats = _stats(node, labs, quizzes)
    met_at = _requirements_met(node, labs, quizzes)
    if missing or met_at is None:
        test_out_at = _first_pass(labs, test_out_only=True) if node.lab else None
        if test_out_at is not None:
            return NodeProgress(node_id=node.id, state="completed", completed_at=test_out_at,
                                test_out=True, **stats)
    if missing:
        return NodeProgress(node_id=node.id, state="locked", missing=missing, **stats)
    if met_at is not None:
        if met_at is _NEVER:  # reading only: done when its prerequisites are
            met_at = max((before[p].completed_at for p in node.prerequisites
                          if before[p].completed_at), default=None)
        return NodeProgress(node_id=node.id, state="completed", completed_at=met_at, **stats)
    state: NodeState = "in_progress" if labs or quizzes else "available"
    return NodeProgress(node_id=node.id, state=state, **stats)


_NEVER = datetime.min


def _requirements_met(node: Node, labs: list[Attempt], quizzes: list[QuizAttempt]) -> datetime | None:
    """When the node's own requirements (lab pass, quiz pass) were all met; None if not yet.

    A reading-only node returns `datetime.min` as a "met from the start" marker.
    """
    times = []
    for needed, rows in ((node.lab, labs), (node.quiz, quizzes)):
        if needed:
            first = _first_pass(rows)
            if first is None:
                return None
            times.append(first)
    return max(times) if times else _NEVER


def _stats(node: Node, labs: list[Attempt], quizzes: list[QuizAttempt]) -> dict:
    """best_score, passes, mastery and time spent: the figures shown beside every state."""
    finished = [a for a in labs if a.score is not None and a.status != "running"]
    if node.lab:
        scores = [a.score for a in finished]
        passes = sum(1 for a in finished if a.passed)
        implement_pass = any(a.passed and a.mode == "implement" for a in finished)
    else:
        scores = [100.0 * q.score for q in quizzes]
        passes = sum(1 for q in quizzes if q.passed)
        implement_pass = False
    best = max(scores) if scores else None
    time_spent = sum(a.duration_s or 0.0 for a in labs) + sum(
        max(0.0, (q.finished_at - q.started_at).total_seconds()) for q in quizzes)
    return {"best_score": best, "passes": passes, "time_spent_s": time_spent,
            "mastery": mastery_for(best, passes, implement_pass)}
