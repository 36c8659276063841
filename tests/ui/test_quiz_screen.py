"""The quiz screen (issue 14 §3): options marked after each answer, the end against the pass mark with
the missed questions, typed numbers kept away from the app's keys, leaving half done asks first, and
the attempt recorded with the time its first question was shown.

The UI fixture's backpropagation quiz (seed 0): a several-answer question, then two numeric ones;
large-models: a single-answer question, then a numeric one.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from textual import events

from .helpers import SIZE, wait_for


async def _open_quiz(app, pilot, node_id: str = "backpropagation"):
    from planner.tui.screens.quiz import QuizScreen

    await pilot.pause()
    screen = QuizScreen(node_id, seed=0)
    app.push_screen(screen)
    await wait_for(pilot, lambda: app.screen is screen and bool(screen.query("#quiz-answer > *")))
    return screen


async def _answer_first_multiple(app, pilot):
    app.screen.query_one("#answer-multiple").focus()
    await pilot.press("space", "enter")  # tick the first option shown, answer
    await pilot.pause()


def _feedback(app) -> str:
    return str(app.screen.query_one("#quiz-feedback").render())


async def test_a_number_typed_right_after_next_stays_in_the_field_and_opens_no_dialog(make, ada):
    # The keys after enter arrive before the new input has focus: the `e` opened the export dialog.
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_quiz(app, pilot)
        await _answer_first_multiple(app, pilot)
        # As a terminal delivers them (tmux send-keys): all queued at once. Pilot's press waits after each
        # key, which would hide the race.
        for key, char in [("enter", "\r"), *[(c if c != "." else "full_stop", c) for c in "1.2e18"]]:
            app.post_message(events.Key(key, char))
        await pilot.pause(0.3)
        assert app.screen is screen, f"{type(app.screen).__name__} opened over the quiz"
        assert screen.query_one("#answer-numeric").value == "1.2e18"


@pytest.mark.parametrize("key", ["q", "m", "l", "h", "p", "question_mark", "e"])
async def test_letters_typed_into_a_numeric_answer_stay_there(make, ada, key):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_quiz(app, pilot)
        await _answer_first_multiple(app, pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "answer-numeric")
        await pilot.press("1", key)
        await pilot.pause()
        assert app.screen is screen and app.is_running
        assert screen.query_one("#answer-numeric").value == "1" + ("?" if key == "question_mark" else key)


async def test_after_an_answer_every_option_is_marked_with_its_explanation(make, ada):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_quiz(app, pilot, "large-models")
        options = screen.query_one("#answer-single")
        wrong = next(i for i in range(options.option_count)
                     if str(options.get_option_at_index(i).prompt) == "The data")
        options.highlighted = wrong
        await pilot.press("enter")
        text = _feedback(app)
        assert "✗ Not quite." in text
        assert "✗ wrong · your choice  The data" in text
        assert "Why: The data is given; the parameters are learned." in text
        assert "✓ right answer  The parameters" in text
        assert "Why: Training fits the parameters to the data." in text
        assert not screen.query_one("#quiz-answer").display  # the marked list replaces the choices


async def test_a_several_answer_question_shows_partial_credit_and_its_rule(make, ada):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_quiz(app, pilot)
        checklist = screen.query_one("#answer-multiple")
        right = [i for i in range(checklist.option_count)
                 if checklist.get_option_at_index(i).value in (0, 1)]  # the two right options
        checklist.select(checklist.get_option_at_index(right[0]).value)
        checklist.focus()
        await pilot.press("enter")
        text = _feedback(app)
        assert "◐ Partly right: 0.5 of 1 point(s)" in text
        assert "✓ right · your choice" in text and "✓ right · not chosen" in text and "✗ wrong  It needs" in text
        assert "+1/2 of the points per right option ticked, −1/1 per wrong one" in text


async def test_a_wrong_number_shows_the_right_one_and_the_end_lists_the_missed_against_the_pass_mark(
        make, ada, ui_store):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_quiz(app, pilot, "large-models")
        options = screen.query_one("#answer-single")
        options.highlighted = next(i for i in range(options.option_count)
                                   if str(options.get_option_at_index(i).prompt) == "The parameters")
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: bool(screen.query("#answer-numeric")))
        await pilot.press("6", "enter")
        text = _feedback(app)
        assert "Your answer: 6 · right answer: 8" in text and "Why: 3 x 2 weights + 2 biases = 8." in text
        await pilot.press("enter")  # see my score
        await pilot.pause()
        end = _feedback(app)
        assert "Score 50% against a pass mark of 50%" in end and "Passed" in end
        assert "Missed (1)" in end
        assert "A dense layer maps 3 inputs to 2 outputs with biases. How many parameters?" in end
        assert "Right answer: 8" in end
    [attempt] = ui_store.quiz_attempts(ada.id, "large-models")
    assert attempt.score == 0.5


async def test_escape_half_done_asks_and_no_stays_yes_leaves(make, ada, ui_store):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_quiz(app, pilot)
        await _answer_first_multiple(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and screen.answers  # stayed, the answer kept
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert type(app.screen).__name__ == "DashboardScreen"
    assert ui_store.quiz_attempts(ada.id, "backpropagation") == []  # half done is not recorded


@pytest.mark.parametrize("key, lands_on", [("m", "DashboardScreen"), ("p", "PlanScreen"), ("l", "LearnersScreen")])
async def test_a_global_key_half_done_asks_first(make, ada, key, lands_on):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_quiz(app, pilot, "large-models")
        await pilot.press("enter")  # answer the single-answer question; focus on "next"
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press(key)
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert type(app.screen).__name__ == lands_on


async def test_q_half_done_asks_and_no_keeps_the_app_running(make, ada):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_quiz(app, pilot, "large-models")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and app.screen is screen


async def test_escape_before_any_answer_leaves_without_asking(make, ada):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await _open_quiz(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "DashboardScreen"


async def test_the_attempt_records_when_its_first_question_was_shown(make, ada, ui_store, monkeypatch):
    import planner.tui.screens.quiz as quiz_screen

    shown = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
    monkeypatch.setattr(quiz_screen, "_now", lambda: shown)
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_quiz(app, pilot, "large-models")
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: bool(screen.query("#answer-numeric")))
        await pilot.press("8", "enter", "enter")
        await pilot.pause()
    [attempt] = ui_store.quiz_attempts(ada.id, "large-models")
    started = attempt.started_at if attempt.started_at.tzinfo else attempt.started_at.replace(tzinfo=timezone.utc)
    assert started == shown  # not the moment of submitting, as before
    finished = attempt.finished_at if attempt.finished_at.tzinfo else attempt.finished_at.replace(tzinfo=timezone.utc)
    assert finished > shown


async def test_a_finished_quiz_leaves_no_binding_behind_for_the_next_quiz_screen(make, ada):
    """Finishing binds enter to "Back to the node" on that screen only (Textual's binding map copies
    share their per-key lists with the class, so binding in place leaked into every later quiz)."""
    from planner.tui.screens.quiz import QuizScreen

    app = make()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        first = QuizScreen("large-models", seed=1)
        app.push_screen(first)
        await pilot.pause()
        first._finish()
        await pilot.pause()
        assert any(b.description == "Back to the node" for b in first._bindings.key_to_bindings["enter"])
        second = QuizScreen("large-models", seed=2)
        assert not any(b.description == "Back to the node" for b in second._bindings.key_to_bindings["enter"])
