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

