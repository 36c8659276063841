"""The review queue (issue 14 §7): FSRS cards per completed node, short seeded quiz draws, lapses.

Real recorded attempts in a real database (fixture curriculum: gradient-descent has a build task, a
two-question quiz, and large-models before it), with times set explicitly and `now` injected."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from planner.records import QuizAnswer
from planner.service import Service
from planner.store import Store

COMPLETED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RIGHT = {"step-direction": 0, "halve": 0.5}
WRONG = {"step-direction": 1, "halve": 3.0}


def _lab(store: Store, learner_id: int, lab: str, node: str, mode: str, when: datetime) -> None:
    attempt = store.start_attempt(learner_id, lab, node, mode=mode, params={}, seed=0, pid=None,
                                  app_version="test", started_at=when - timedelta(minutes=5))
    store.finish_attempt(attempt, status="passed", score=100.0, passed=True, metrics={}, feedback="",
                         checks=[], duration_s=300.0, finished_at=when)


def _complete_gradient_descent(store: Store) -> int:
    """A learner who completed large-models and gradient-descent (build, experiment, quiz at 100 %)."""
    learner = store.add_learner("Ada")
    _lab(store, learner.id, "model-size", "large-models", "implement", COMPLETED - timedelta(days=1))
    _lab(store, learner.id, "gd-linear", "gradient-descent", "implement", COMPLETED - timedelta(hours=2))
    _lab(store, learner.id, "gd-linear", "gradient-descent", "explore", COMPLETED - timedelta(hours=1))
    store.record_quiz(learner.id, "gradient-descent", seed=1, score=1.0, passed=True,
                      answers=[QuizAnswer(question_id="halve", answer=0.5, correct=True, points=1, max_points=1)],
                      started_at=COMPLETED - timedelta(minutes=3), finished_at=COMPLETED)
    return learner.id


def test_the_card_is_persisted_and_reloaded(db_path: Path, curriculum):
    with Store.open(db_path) as store:
        learner_id = _complete_gradient_descent(store)
        svc = Service(store, curriculum)
        ada = store.learner_by_id(learner_id)
        schedule = svc.review_schedule(ada)
        assert [(r.node_id, r.reviewed) for r in schedule] == [("gradient-descent", False)]
        first_due = schedule[0].due
        assert COMPLETED + timedelta(days=1) <= first_due <= COMPLETED + timedelta(days=4)  # FSRS: Good at completion
        assert svc.reviews_due(ada, now=first_due - timedelta(minutes=1)) == []
        now = first_due + timedelta(hours=1)
        assert [r.node_id for r in svc.reviews_due(ada, now=now)] == ["gradient-descent"]
        out = svc.submit_review(ada, "gradient-descent", RIGHT, seed=7, now=now)
        assert (out.rating_name, out.passed, out.due_before) == ("Easy", True, first_due)
        assert out.due_after > now + timedelta(days=3)  # remembered: the interval grew
    with Store.open(db_path) as store:  # a new process: the card comes from the database
        svc = Service(store, curriculum)
        ada = store.learner_by_id(learner_id)
        [again] = svc.review_schedule(ada)
        assert (again.reviewed, again.due) == (True, out.due_after)
        card = json.loads(store.review_cards(learner_id)["gradient-descent"]["card"])
        assert card["stability"] > 0 and card["last_review"].startswith(now.date().isoformat())
        later = svc.submit_review(ada, "gradient-descent", WRONG, seed=8, now=out.due_after)
        assert later.due_before == out.due_after and later.rating_name == "Again"
        [row_a, row_b] = store.reviews(learner_id)
        assert (row_a["rating"], row_b["rating"]) == (4, 1)
        kinds = [q.kind for q in store.quiz_attempts(learner_id, "gradient-descent")]
        assert sorted(kinds) == ["quiz", "review", "review"]  # recorded like quizzes, the old row kept


def test_a_lapse_lowers_mastery_but_keeps_completion(db_path: Path, curriculum):
    with Store.open(db_path) as store:
        learner_id = _complete_gradient_descent(store)
        svc = Service(store, curriculum)
        ada = store.learner_by_id(learner_id)
        before = svc.progress(ada)["gradient-descent"]
        assert (before.state, before.mastery) == ("completed", "mastered")
        now = COMPLETED + timedelta(days=5)
        lapse = svc.submit_review(ada, "gradient-descent", WRONG, seed=3, now=now)
        assert (lapse.rating_name, lapse.passed, lapse.mastery_after) == ("Again", False, "proficient")
        after = svc.progress(ada)["gradient-descent"]
        assert (after.state, after.completed_at, after.mastery) == ("completed", before.completed_at, "proficient")
        assert svc.progress(ada)["ffnn"].state != "locked"  # what the completion unlocked stays unlocked
        # the review is no quiz attempt: the quiz figures are those of before
        summary = store.node_summaries(learner_id)["gradient-descent"]
        assert (summary["quizzes"], summary["quiz_best"], summary["review_lapsed"]) == (1, 1.0, True)
        from planner.progress import summarise

        rows = summarise(store.attempts(learner_id), store.quiz_attempts(learner_id))["gradient-descent"]
        assert (rows.quizzes, rows.review_lapsed) == (1, True)  # the SQL and the rows agree
        back = svc.submit_review(ada, "gradient-descent", RIGHT, seed=4, now=now + timedelta(days=1))
        assert (back.passed, back.mastery_after) == (True, "mastered")


def test_plan_json_lists_the_due_review_and_review_cli_records_it(db_path: Path, fixture_root: Path, run_cli,
                                                                    tmp_path: Path):
    with Store.open(db_path) as store:
        _complete_gradient_descent(store)  # completed in March: long due by now
    plan = json.loads(run_cli("plan", "--json").output)
    assert plan["reviews_due"]["count"] == 1 and plan["reviews_due"]["nodes"] == ["gradient-descent"]
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(RIGHT))
    done = run_cli("review", "--answers", str(answers), "--seed", "5", "--json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    assert (out["node"], out["kind"], out["rating_name"], out["lapse"]) == ("gradient-descent", "review", "Easy", False)
    assert datetime.fromisoformat(out["due_after"]) > datetime.now(UTC)
    plan = json.loads(run_cli("plan", "--json").output)
    assert plan["reviews_due"] == {"count": 0, "nodes": [], "due": {}}
    none_due = run_cli("review")
    assert none_due.exit_code == 0 and "No review due. Next: gradient-descent" in none_due.output
    no_quiz = run_cli("review", "ffnn")
    assert no_quiz.exit_code == 2 and "has no quiz" in no_quiz.output


def test_rating_from_score():
    from planner.review import rating_for

    assert [rating_for(s) for s in (0.0, 1 / 3, 0.5, 2 / 3, 1.0)] == [1, 1, 2, 3, 4]


@pytest.mark.parametrize("pool_size", [2])
def test_a_review_draws_at_most_three_questions(curriculum, pool_size):
    from planner.quiz import draw_quiz
    from planner.review import review_quiz

    pool = curriculum.quizzes["gradient-descent"]
    assert len(pool.questions) == pool_size
    assert len(draw_quiz(review_quiz(pool), 11).questions) == pool_size
