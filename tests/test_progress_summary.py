"""Progress from per-node aggregates (`Store.node_summaries`, two GROUP BY queries) is the progress the
rules give on the full rows (issue 18: Service.progress read every attempt's row)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from planner.progress import NodeSummary, node_progress, registered_build_labs, summarise
from planner.records import QuizAnswer
from planner.service import Service

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def record_history(store, learner, curriculum, seed: int, n: int = 400) -> None:
    """Many kinds of attempt on every node with a lab: explore, practice, builds, test-outs, passes,
    fails, no score, cancelled, running, interrupted, spread over days; and quizzes, one with a NaN score."""
    rng = random.Random(seed)
    nodes = [node for node in curriculum.nodes.values() if node.lab]
    for i in range(n):
        node = rng.choice(nodes)
        start = T0 + timedelta(hours=rng.randrange(0, 24 * 20), microseconds=rng.randrange(10**6))
        attempt_id = store.start_attempt(learner.id, node.lab, node.id, mode=rng.choice(["explore", "practice", "implement"]),
                                         params={"lr": 0.1}, seed=i, pid=10**7 + i, app_version="t",
                                         test_out=rng.random() < 0.3, started_at=start)
        kind = rng.random()
        if kind < 0.1:
            continue  # still running (pid not alive: becomes interrupted below for half of these)
        score = None if kind < 0.15 else round(rng.uniform(0, 100), 3)
        status = rng.choice(["passed", "failed", "cancelled", "error"])
        store.finish_attempt(attempt_id, status=status, score=score, passed=status == "passed", metrics={},
                             feedback="", checks=[], duration_s=None if rng.random() < 0.1 else rng.uniform(1, 90),
                             finished_at=start + timedelta(seconds=rng.uniform(1, 200)))
    store.mark_interrupted(is_alive=lambda pid: bool(pid and pid % 2))
    quizzed = [node for node in curriculum.nodes.values() if node.quiz]
    for i in range(n // 4):
        node = rng.choice(quizzed)
        start = T0 + timedelta(hours=rng.randrange(0, 24 * 20), microseconds=rng.randrange(10**6))
        score = float("nan") if i == 3 else rng.random()
        store.record_quiz(learner.id, node.id, seed=i, score=score, passed=score >= 0.6,
                          answers=[QuizAnswer(question_id="q1", answer="a", correct=True, points=1.0, max_points=2.0)],
                          started_at=start, finished_at=start + timedelta(seconds=rng.uniform(-5, 600)))


def assert_same(by_rows: dict, by_summary: dict) -> None:
    assert list(by_rows) == list(by_summary)
    for node_id, expected in by_rows.items():
        got = by_summary[node_id].model_dump()
        want = expected.model_dump()
        assert got.pop("time_spent_s") == pytest.approx(want.pop("time_spent_s"), rel=1e-9, abs=1e-6), node_id
        assert got == want, node_id


@pytest.fixture(params=["fixture", "real"])
def any_curriculum(request, curriculum):
    if request.param == "fixture":
        return curriculum
    from planner.curriculum import load_curriculum

    return load_curriculum()


@pytest.mark.parametrize(("seed", "n"), [(1, 400), (2, 400), (3, 60)])  # 60: some nodes still open
def test_summaries_from_sql_give_the_progress_of_the_full_rows(store, any_curriculum, seed, n):
    learner = store.add_learner("Ada")
    record_history(store, learner, any_curriculum, seed, n)
    attempts, quizzes = store.attempts(learner.id), store.quiz_attempts(learner.id)
    assert {a.status for a in attempts} >= {"running", "interrupted", "passed", "failed", "cancelled"}
    assert n < 400 or any(a.test_out and a.passed for a in attempts) and any(a.mode == "implement" and a.passed for a in attempts)
    summaries = {k: NodeSummary.model_validate(v) for k, v in store.node_summaries(learner.id).items()}
    reference = summarise(attempts, quizzes)
    assert set(summaries) == set(reference)
    for node_id, expected in reference.items():
        got, want = summaries[node_id].model_dump(), expected.model_dump()
        for field in ("lab_time_s", "quiz_time_s"):
            assert got.pop(field) == pytest.approx(want.pop(field), rel=1e-9, abs=1e-6), (node_id, field)
        assert got == want, node_id
    for builds in (None, (), registered_build_labs()):
        assert_same(node_progress(any_curriculum, attempts, quizzes, build_labs=builds),
                    node_progress(any_curriculum, summaries=summaries, build_labs=builds))


def test_service_progress_is_the_row_based_progress(store, curriculum):
    learner = store.add_learner("Ada")
    record_history(store, learner, curriculum, seed=7, n=200)
    service = Service(store, curriculum)
    assert_same(node_progress(curriculum, store.attempts(learner.id), store.quiz_attempts(learner.id)),
                service.progress(learner))
    assert any(p.state == "completed" for p in service.progress(learner).values())


def test_a_learner_without_attempts_has_no_summaries_and_fresh_progress(store, curriculum):
    learner = store.add_learner("Ada")
    assert store.node_summaries(learner.id) == {}
    assert_same(node_progress(curriculum, [], []), Service(store, curriculum).progress(learner))
