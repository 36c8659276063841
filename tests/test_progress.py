"""Node states follow the graph: locked until prerequisites complete, completed only with a lab pass
and a quiz pass (where the node has them), test-out passes complete locked nodes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from planner.progress import node_progress
from planner.records import Attempt, QuizAttempt

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
_ids = iter(range(1, 10_000))


def lab(node_id: str, score: float | None, *, passed: bool | None = None, minutes: int = 0,
        mode: str = "explore", test_out: bool = False, status: str | None = None) -> Attempt:
    passed = (score or 0) >= 70 if passed is None else passed
    start = T0 + timedelta(minutes=minutes)
    return Attempt(id=next(_ids), learner_id=1, lab_id="lab", node_id=node_id, mode=mode, test_out=test_out,
                   status=status or ("passed" if passed else "failed"), score=score, passed=passed,
                   started_at=start, finished_at=start + timedelta(seconds=30), duration_s=30.0)


def quiz(node_id: str, score: float, passed: bool, minutes: int = 0) -> QuizAttempt:
    start = T0 + timedelta(minutes=minutes)
    return QuizAttempt(id=next(_ids), learner_id=1, node_id=node_id, score=score, passed=passed,
                       started_at=start, finished_at=start + timedelta(seconds=60))


def states(progress) -> dict[str, str]:
    return {k: v.state for k, v in progress.items()}


def test_fresh_learner_sees_roots_available_and_the_rest_locked(curriculum):
    p = node_progress(curriculum, [], [])
    assert states(p) == {"large-models": "available", "gradient-descent": "locked",
                         "applications": "locked", "ffnn": "locked", "ml-engineer": "locked"}
    assert p["ml-engineer"].missing == ["gradient-descent", "ffnn"]
    assert p["large-models"].mastery == "none" and p["large-models"].best_score is None


def test_a_lab_pass_unlocks_dependants_and_reading_only_nodes_complete(curriculum):
    p = node_progress(curriculum, [lab("large-models", 40, minutes=0), lab("large-models", 95, minutes=5)], [])
    assert p["large-models"].state == "completed"
    assert p["large-models"].completed_at == T0 + timedelta(minutes=5, seconds=30)
    assert (p["large-models"].best_score, p["large-models"].passes, p["large-models"].mastery) == (95, 1, "familiar")
    assert p["large-models"].time_spent_s == 60.0
    assert p["gradient-descent"].state == "available"
    # applications has neither lab nor quiz: it completes with its prerequisite
    assert p["applications"].state == "completed"
    assert p["applications"].completed_at == p["large-models"].completed_at


def test_lab_and_quiz_both_needed_where_the_node_has_both(curriculum):
    base = [lab("large-models", 100)]
    only_lab = node_progress(curriculum, base + [lab("gradient-descent", 90, minutes=10)], [])
    assert only_lab["gradient-descent"].state == "in_progress"
    assert only_lab["ffnn"].state == "locked" and only_lab["ffnn"].missing == ["gradient-descent"]
    failed_quiz = node_progress(curriculum, base, [quiz("gradient-descent", 0.2, False)])
    assert failed_quiz["gradient-descent"].state == "in_progress"
    both = node_progress(curriculum, base + [lab("gradient-descent", 90, minutes=10)],
                         [quiz("gradient-descent", 1.0, True, minutes=30)])
    assert both["gradient-descent"].state == "completed"
    assert both["gradient-descent"].completed_at == T0 + timedelta(minutes=31)  # the later of the two
    assert both["ffnn"].state == "available"


def test_unfinished_and_failed_attempts_never_complete(curriculum):
    running = lab("large-models", None, passed=False, status="running")
    p = node_progress(curriculum, [running, lab("large-models", 60, passed=False)], [])
    assert p["large-models"].state == "in_progress"
    assert (p["large-models"].best_score, p["large-models"].mastery) == (60, "attempted")


def test_test_out_pass_completes_a_locked_node_but_an_ordinary_pass_does_not(curriculum):
    ordinary = node_progress(curriculum, [lab("ffnn", 100)], [])
    assert ordinary["ffnn"].state == "locked"
    tested = node_progress(curriculum, [lab("ffnn", 100, mode="practice", test_out=True)], [])
    assert tested["ffnn"].state == "completed" and tested["ffnn"].test_out
    assert tested["gradient-descent"].state == "locked"  # testing out skips no other node
    assert tested["ml-engineer"].missing == ["gradient-descent"]


def test_mastery_rises_with_repeat_and_implement_passes(curriculum):
    twice = node_progress(curriculum, [lab("large-models", 80), lab("large-models", 75, minutes=9)], [])
    assert twice["large-models"].mastery == "mastered"
    implemented = node_progress(curriculum, [lab("large-models", 72, mode="implement")], [])
    assert implemented["large-models"].mastery == "mastered"
    perfect = node_progress(curriculum, [lab("large-models", 100)], [])
    assert perfect["large-models"].mastery == "proficient"
