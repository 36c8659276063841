"""Helpers the TUI tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import time
from typing import Any, Callable

SIZE = (100, 32)


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Let the app run until `condition()` holds (fails the test after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)
    await pilot.pause()


def passed_quiz(app: Any, node_id: str = "large-models") -> None:
    """Record a passing quiz through the service (the quiz screen has its own test)."""
    from planner.demo import correct_answers  # the demo learner's answers: the right ones, in graded shapes

    from planner.quiz import draw_quiz  # the questions seed 1 asks (a pool draws some of them)

    answers = correct_answers(draw_quiz(app.curriculum.quiz_for(node_id), 1))
    app.service.submit_quiz(app.learner or app.service.learners()[0], node_id, answers, seed=1)


def two_attempts(store: Any, learner: Any) -> list[int]:
    """Two finished gd-linear attempts with fixed times, curves, checks and metrics."""
    from datetime import UTC, datetime, timedelta

    from labs.catalog import get_lab
    from labs.grading import evaluate
    from planner.records import MetricPoint

    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    lab = get_lab("gd-linear")
    ids = []
    for n, (lr, loss) in enumerate(((0.05, 0.2382), (0.5, 0.9))):
        start = t0 + timedelta(minutes=10 * n)
        attempt = store.start_attempt(learner.id, lab.id, "gradient-descent", mode="explore",
                                      params={"lr": lr, "steps": 300}, seed=n, pid=None, app_version="0.1.0",
                                      started_at=start)
        store.add_metrics(attempt, [MetricPoint(step=s, name="train_loss", value=loss + 4 * 0.9 ** s)
                                    for s in range(0, 300, 10)])
        checks = [evaluate(spec, 1.0 if n == 0 else 0.3, f"check {spec.id} of attempt {n + 1}")
                  for spec in lab.checks]
        score = sum(c.points for c in checks)
        store.finish_attempt(attempt, status="passed" if n == 0 else "failed", score=score, passed=n == 0,
                             metrics={"train_loss": loss, "loss_gap": loss / 0.2382 - 1}, feedback="",
                             checks=checks, duration_s=0.4 + n, finished_at=start + timedelta(seconds=2))
        ids.append(attempt)
    return ids
