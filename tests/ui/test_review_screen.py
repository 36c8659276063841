"""The review queue on the dashboard (issue 14 §7): a node completed weeks ago is due, the dashboard
says so, `r` opens the quiz screen on the review's draw, and the answers are recorded as a review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from planner.records import QuizAnswer

from .helpers import wait_for


async def test_a_due_review_shows_on_the_dashboard_and_r_takes_it(make, ada, ui_store):
    long_ago = datetime.now(UTC) - timedelta(days=30)  # large-models is quiz-only: a pass completes it
    ui_store.record_quiz(ada.id, "large-models", seed=1, score=1.0, passed=True,
                         answers=[QuizAnswer(question_id="param-count", answer=8, correct=True, points=1, max_points=1)],
                         started_at=long_ago - timedelta(minutes=2), finished_at=long_ago)
    app = make()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query("#reviews")))
        panel = app.screen.query_one("#reviews")
        assert panel.display and "1 review due" in str(panel.render())
        await pilot.press("r")
        from planner.tui.screens.review import ReviewScreen

        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen) and bool(app.screen.query("#quiz-answer > *")))
        screen = app.screen
        assert len(screen.quiz.questions) == 2  # the whole (small) pool: at most REVIEW_QUESTIONS
        for question in screen.quiz.questions:
            await wait_for(pilot, lambda: bool(screen.query("#quiz-answer > *")))
            await pilot.press(*(["8"] if question.kind == "numeric" else []), "enter")
            await pilot.pause()
            await pilot.press("enter")  # next question, or the end
        await wait_for(pilot, lambda: screen.finished)
        assert "graded" in str(screen.query_one("#quiz-feedback").render())
        [review] = ui_store.reviews(ada.id, "large-models")
        assert [q.kind for q in ui_store.quiz_attempts(ada.id, "large-models")].count("review") == 1
        assert datetime.fromisoformat(review["due_after"]) > datetime.now(UTC)
        await pilot.press("enter")  # back to the map: nothing due any more
        await wait_for(pilot, lambda: not isinstance(app.screen, ReviewScreen))
        await pilot.pause()
        assert not app.screen.query_one("#reviews").display
