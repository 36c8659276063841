"""A database with one learner and realistic attempts, recorded through the store's public API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from labs.grading import CheckResult
from planner.records import MetricPoint, QuizAnswer
from .factory import full_curriculum


def record_attempt(store, learner_id: int, lab_id: str, node_id: str, score: float, *, n_points: int = 50,
                   params: dict | None = None, seed: int = 1, mode: str = "practice") -> int:
    """One finished lab attempt with two graded checks and train/val loss curves."""
    attempt_id = store.start_attempt(learner_id, lab_id, node_id, mode=mode, params=params or {"lr": 0.05},
                                     seed=seed, pid=None, app_version="0.1.0", dataset_hash="abc123")
    steps = np.arange(n_points)
    loss = 1.5 * np.exp(-steps / (n_points / 5)) + 0.01 * (100 - score) / 100
    store.add_metrics(attempt_id, [MetricPoint(step=int(s), name=name, value=float(v), split=split)
                                   for s, v in zip(steps, loss)
                                   for name, split, v in (("train_loss", "train", v), ("val_loss", "val", v * 1.1))])
    store.add_sample(attempt_id, n_points - 1, "fit: y = 2.98x + 0.51")
    fraction = score / 100
    status = "passed" if fraction >= 1 else ("failed" if fraction == 0 else "partial")
    checks = [CheckResult(id="final-mse", title="Final MSE below 0.05", points=60 * fraction, max_points=60,
                          status=status, message=f"MSE {loss[-1]:.3f}", required=True),
              CheckResult(id="slope", title="Slope within 0.1 of 3", points=40 * fraction, max_points=40,
                          status=status, message="slope 2.98")]
    store.finish_attempt(attempt_id, status="passed" if score >= 70 else "failed", score=score,
                         passed=score >= 70, metrics={"train_loss": float(loss[-1])}, feedback="Well converged.",
                         checks=checks, duration_s=12.5)
    return attempt_id


def record_quiz(store, learner_id: int, node_id: str, score: float, when: datetime) -> int:
    answers = [QuizAnswer(question_id="q1", answer=[0], correct=score >= 0.5, points=score, max_points=1.0),
               QuizAnswer(question_id="q2", answer=3.5, correct=True, points=1.0, max_points=1.0)]
    return store.record_quiz(learner_id, node_id, seed=3, score=score, passed=score >= 0.8, answers=answers,
                             started_at=when, finished_at=when + timedelta(minutes=4))


@pytest.fixture
def full_graph():
    return full_curriculum()


@pytest.fixture
def seeded(store):
    """Ada aims at ML engineer: large-models and gradient-descent done, gradient-descent tried twice.
    The passes are builds where the lab has a build task (what completes those nodes, issue 13)."""
    from planner.progress import registered_build_labs

    def passing_mode(lab_id: str) -> str:
        return "implement" if lab_id in registered_build_labs() else "practice"

    ada = store.add_learner("Ada", target_role="ml-engineer", hours_per_week=6)
    record_attempt(store, ada.id, "model-size", "large-models", 100.0, mode=passing_mode("model-size"))
    record_attempt(store, ada.id, "gd-linear", "gradient-descent", 55.0, params={"lr": 0.5}, seed=2)
    record_attempt(store, ada.id, "gd-linear", "gradient-descent", 100.0, params={"lr": 0.05}, seed=3,
                   mode=passing_mode("gd-linear"))
    now = datetime.now(UTC)
    record_quiz(store, ada.id, "large-models", 1.0, now - timedelta(minutes=30))
    record_quiz(store, ada.id, "gradient-descent", 0.9, now - timedelta(minutes=20))
    record_quiz(store, ada.id, "classic-vs-deep", 0.5, now - timedelta(days=40))
    return store, ada
