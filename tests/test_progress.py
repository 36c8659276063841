"""Node states follow the graph: locked until prerequisites complete; completed with the node's evidence
(a passing build where its lab has a build task, else a lab pass) and a quiz pass (where it has a quiz);
a test-out completes a locked node only with that evidence and the quiz."""

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


def no_builds(curriculum, attempts, quizzes):
    """Progress under the rule for labs without a build task (so these tests hold as build tasks are added)."""
    return node_progress(curriculum, attempts, quizzes, build_labs=())


def states(progress) -> dict[str, str]:
    return {k: v.state for k, v in progress.items()}


def test_fresh_learner_sees_roots_available_and_the_rest_locked(curriculum):
    p = no_builds(curriculum, [], [])
    assert states(p) == {"large-models": "available", "gradient-descent": "locked",
                         "applications": "locked", "ffnn": "locked", "ml-engineer": "locked"}
    assert p["ml-engineer"].missing == ["gradient-descent", "ffnn"]
    assert p["large-models"].mastery == "none" and p["large-models"].best_score is None


def test_a_lab_pass_unlocks_dependants_and_reading_only_nodes_complete(curriculum):
    p = no_builds(curriculum, [lab("large-models", 40, minutes=0), lab("large-models", 95, minutes=5)], [])
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
    only_lab = no_builds(curriculum, base + [lab("gradient-descent", 90, minutes=10)], [])
    assert only_lab["gradient-descent"].state == "in_progress"
    assert only_lab["ffnn"].state == "locked" and only_lab["ffnn"].missing == ["gradient-descent"]
    failed_quiz = no_builds(curriculum, base, [quiz("gradient-descent", 0.2, False)])
    assert failed_quiz["gradient-descent"].state == "in_progress"
    both = no_builds(curriculum, base + [lab("gradient-descent", 90, minutes=10)],
                         [quiz("gradient-descent", 1.0, True, minutes=30)])
    assert both["gradient-descent"].state == "completed"
    assert both["gradient-descent"].completed_at == T0 + timedelta(minutes=31)  # the later of the two
    assert both["ffnn"].state == "available"


def test_unfinished_and_failed_attempts_never_complete(curriculum):
    running = lab("large-models", None, passed=False, status="running")
    p = no_builds(curriculum, [running, lab("large-models", 60, passed=False)], [])
    assert p["large-models"].state == "in_progress"
    assert (p["large-models"].best_score, p["large-models"].mastery) == (60, "attempted")


def test_test_out_pass_completes_a_locked_node_without_a_build_task_but_an_ordinary_pass_does_not(curriculum):
    # ffnn's lab has a build task in the registry; with none (build_labs=()) the rule of before applies
    ordinary = node_progress(curriculum, [lab("ffnn", 100)], [], build_labs=())
    assert ordinary["ffnn"].state == "locked"
    tested = node_progress(curriculum, [lab("ffnn", 100, mode="practice", test_out=True)], [], build_labs=())
    assert tested["ffnn"].state == "completed" and tested["ffnn"].test_out
    assert tested["gradient-descent"].state == "locked"  # testing out skips no other node
    assert tested["ml-engineer"].missing == ["gradient-descent"]


def test_a_test_out_needs_the_quiz_too(curriculum):
    # rule change (issue 13): before, a test-out lab pass alone completed a locked node with a quiz
    tested = node_progress(curriculum, [lab("gradient-descent", 100, mode="practice", test_out=True)], [],
                           build_labs=())
    assert tested["gradient-descent"].state == "locked"
    assert tested["gradient-descent"].missing_work == ["quiz"]
    with_quiz = node_progress(curriculum, [lab("gradient-descent", 100, mode="practice", test_out=True)],
                              [quiz("gradient-descent", 1.0, True, minutes=5)], build_labs=())
    assert with_quiz["gradient-descent"].state == "completed" and with_quiz["gradient-descent"].test_out


def test_mastery_without_a_build_task_rises_with_score_and_repeat_passes(curriculum):
    twice = node_progress(curriculum, [lab("large-models", 80), lab("large-models", 75, minutes=9)], [],
                          build_labs=())
    assert twice["large-models"].mastery == "mastered"
    perfect = node_progress(curriculum, [lab("large-models", 100)], [], build_labs=())
    assert perfect["large-models"].mastery == "proficient"
    # rule change (issue 13): an implement pass no longer makes a node without a build task "mastered"
    implemented = node_progress(curriculum, [lab("large-models", 72, mode="implement")], [], build_labs=())
    assert implemented["large-models"].mastery == "familiar"


# -- nodes with a build task (issue 13): completion asks for the learner's own code ----------------------
BUILDS = {"gd-linear", "ffnn-digits"}
UNLOCK_GD = [lab("large-models", 100)]


def build(node_id: str, score: float, *, minutes: int = 0, days: int = 0) -> Attempt:
    """A build attempt (mode implement): it passes only at 100, every check."""
    return lab(node_id, score, passed=score >= 100, minutes=minutes + days * 24 * 60, mode="implement")


def test_experiments_complete_nothing_for_a_node_with_a_build_task(curriculum):
    p = node_progress(curriculum, UNLOCK_GD + [lab("gradient-descent", 100, minutes=1)],
                      [quiz("gradient-descent", 1.0, True, minutes=2)], build_labs=BUILDS)
    assert p["gradient-descent"].state == "in_progress"
    assert p["gradient-descent"].missing_work == ["build"]
    assert p["gradient-descent"].mastery == "familiar"
    assert p["ffnn"].state == "locked"


def test_a_passing_build_and_a_passing_quiz_complete_the_node(curriculum):
    only_build = node_progress(curriculum, UNLOCK_GD + [build("gradient-descent", 100, minutes=3)], [],
                               build_labs=BUILDS)
    assert only_build["gradient-descent"].state == "in_progress"
    assert only_build["gradient-descent"].missing_work == ["quiz"]
    assert only_build["gradient-descent"].mastery == "proficient"
    failing = node_progress(curriculum, UNLOCK_GD + [build("gradient-descent", 90, minutes=3)],
                            [quiz("gradient-descent", 1.0, True, minutes=4)], build_labs=BUILDS)
    assert failing["gradient-descent"].state == "in_progress"
    both = node_progress(curriculum, UNLOCK_GD + [build("gradient-descent", 100, minutes=3)],
                         [quiz("gradient-descent", 0.8, True, minutes=4)], build_labs=BUILDS)
    gd = both["gradient-descent"]
    assert gd.state == "completed" and not gd.test_out and gd.missing_work == []
    assert gd.completed_at == T0 + timedelta(minutes=5)  # the quiz, the later of the two
    assert gd.build_passed_at == T0 + timedelta(minutes=3, seconds=30)
    assert both["ffnn"].state == "available" and both["ffnn"].missing_work == ["build"]


def test_a_test_out_with_only_the_lab_completes_nothing_and_with_build_and_quiz_completes_while_locked(curriculum):
    lab_only = node_progress(curriculum, [lab("gradient-descent", 100, mode="practice", test_out=True)],
                             [quiz("gradient-descent", 1.0, True)], build_labs=BUILDS)
    assert lab_only["gradient-descent"].state == "locked"
    assert lab_only["gradient-descent"].missing_work == ["build"]
    # the quiz first, the build later: any order while locked
    tested = node_progress(curriculum, [build("gradient-descent", 100, minutes=9)],
                           [quiz("gradient-descent", 1.0, True, minutes=1)], build_labs=BUILDS)
    gd = tested["gradient-descent"]
    assert gd.state == "completed" and gd.test_out
    assert tested["large-models"].state == "available"  # skipped, not completed
    assert tested["ffnn"].state == "available"  # its one prerequisite, gradient-descent, is completed
    # completing large-models later keeps the mark: gradient-descent was completed before it
    later = node_progress(curriculum, [build("gradient-descent", 100, minutes=9), lab("large-models", 100, minutes=60)],
                          [quiz("gradient-descent", 1.0, True, minutes=1)], build_labs=BUILDS)
    assert later["gradient-descent"].state == "completed" and later["gradient-descent"].test_out


def test_a_role_needs_its_nodes_and_its_capstone_and_never_completes_by_test_out(curriculum):
    capstone = lab("ml-engineer", 100, mode="practice", test_out=True)
    locked = node_progress(curriculum, [capstone], [], build_labs=BUILDS)
    assert locked["ml-engineer"].state == "locked"  # before: a test-out completed the whole role
    path = UNLOCK_GD + [build("gradient-descent", 100, minutes=3), build("ffnn", 100, minutes=4)]
    quizzes = [quiz("gradient-descent", 1.0, True, minutes=5)]
    ready = node_progress(curriculum, path, quizzes, build_labs=BUILDS)
    assert ready["ml-engineer"].state == "available"
    done = node_progress(curriculum, path + [lab("ml-engineer", 100, minutes=20)], quizzes, build_labs=BUILDS)
    assert done["ml-engineer"].state == "completed"  # its capstone has no build task yet: the lab pass
    with_capstone_build = BUILDS | {"capstone-ml-engineer"}
    still = node_progress(curriculum, path + [lab("ml-engineer", 100, minutes=20)], quizzes,
                          build_labs=with_capstone_build)
    assert still["ml-engineer"].state == "in_progress" and still["ml-engineer"].missing_work == ["build"]


def test_mastery_with_a_build_task(curriculum):
    def mastery(labs, quizzes=()):
        return node_progress(curriculum, UNLOCK_GD + labs, list(quizzes), build_labs=BUILDS)["gradient-descent"].mastery

    assert mastery([]) == "none"
    assert mastery([build("gradient-descent", 40)]) == "attempted"
    assert mastery([], [quiz("gradient-descent", 0.3, False)]) == "attempted"
    assert mastery([], [quiz("gradient-descent", 0.8, True)]) == "familiar"
    assert mastery([lab("gradient-descent", 100)]) == "familiar"  # an experiment's goal met
    assert mastery([build("gradient-descent", 100)]) == "proficient"
    # a build and an experiment on the same day: proficient; a quiz at 90 % or a pass on a later day: mastered
    same_day = [build("gradient-descent", 100), lab("gradient-descent", 100, minutes=5)]
    assert mastery(same_day) == "proficient"
    assert mastery(same_day, [quiz("gradient-descent", 0.85, True)]) == "proficient"
    assert mastery(same_day, [quiz("gradient-descent", 0.9, True)]) == "mastered"
    assert mastery(same_day + [build("gradient-descent", 100, days=1)]) == "mastered"
    assert mastery([build("gradient-descent", 100), build("gradient-descent", 100, days=1)]) == "proficient"
