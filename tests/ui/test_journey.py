"""The learner's journey through the app, driven by keys (Pilot): welcome, quiz, lab, cancel, bad
hyperparameter, export, quit mid-training. Each test reads the database to check what was recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import SIZE, passed_quiz, wait_for
from .scripted import EndlessRun


async def test_first_start_asks_for_a_learner_then_reopens_on_them(make, ui_store):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        assert type(app.screen).__name__ == "WelcomeScreen"
        await pilot.press(*"Grace")
        app.screen.query_one("#hours").value = "7.5"
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "DashboardScreen"
    [learner] = ui_store.list_learners()
    assert (learner.name, learner.target_role, learner.hours_per_week) == ("Grace", "ml-engineer", 7.5)

    again = make()
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert type(again.screen).__name__ == "DashboardScreen"
        assert again.learner.id == learner.id


async def test_welcome_names_a_bad_hours_value_and_creates_nobody(make, ui_store):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"Grace")
        app.screen.query_one("#hours").value = "500"
        await pilot.press("enter")
        await pilot.pause()
        assert "between" in str(app.screen.query_one("#welcome-error").render())
    assert ui_store.list_learners() == []


async def test_welcome_echoes_a_bad_value_that_looks_like_markup_as_typed(make, ui_store):
    # The message quotes what was typed; "[/]" in it raised a MarkupError and closed the app.
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"Grace")
        app.screen.query_one("#hours").value = "[/]"
        await pilot.press("enter")
        await pilot.pause()
        assert "got '[/]'" in str(app.screen.query_one("#welcome-error").render())
    assert ui_store.list_learners() == []


async def test_answering_the_quiz_completes_the_node_and_unlocks_the_next(make, ada, ui_store):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # the map's cursor starts on the first node, large-models
        await pilot.press("s")
        await pilot.pause()
        options = app.screen.query_one("#answer-single")
        right = next(i for i in range(options.option_count)
                     if str(options.get_option_at_index(i).prompt) == "The parameters")
        options.highlighted = right
        await pilot.press("enter")  # answer
        assert "Correct" in str(app.screen.query_one("#quiz-feedback").render())
        await pilot.press("enter")  # next question
        await pilot.pause()
        await pilot.press("8", "enter")
        await pilot.press("enter")  # see my score
        await pilot.pause()
        assert "Unlocked: Gradient descent" in str(app.screen.query_one("#quiz-feedback").render())
        progress = app.progress()
    [attempt] = ui_store.quiz_attempts(ada.id, "large-models")
    assert attempt.passed and attempt.score == 1.0
    assert progress["large-models"].state == "completed"
    assert progress["gradient-descent"].state == "available"


async def test_a_lab_runs_to_completion_is_recorded_and_as_an_experiment_unlocks_nothing(make, ada, ui_store):
    """gd-linear has a build task, so a pass of the library's network is an experiment: it raises
    mastery and completes nothing (issue 13; the build's pass unlocks, tests/test_completion.py)."""
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        passed_quiz(app)
        app.open_lab("gd-linear")
        await pilot.pause()
        app.screen.query_one("#param-lr").value = "0.05"  # the good rate: the default, 0.5, diverges
        await pilot.pause()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.live is not None and not app.live.running)
        result = str(app.screen.query_one("#result-text").render())
        assert "Passed" in result and "Unlocked" not in result and "Mastery: none → familiar" in result
        assert app.live.series["train_loss"], "the chart had points to draw"
    [attempt] = ui_store.attempts(ada.id, lab_id="gd-linear")
    assert attempt.status == "passed" and attempt.score >= 70
    assert len(ui_store.attempt_checks(attempt.id)) >= 1
    assert ui_store.metric_series(attempt.id)["train_loss"]


async def test_a_bad_hyperparameter_is_named_and_nothing_runs(make, ada, ui_store):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        passed_quiz(app)
        app.open_lab("gd-linear")
        await pilot.pause()
        field = app.screen.query_one("#param-lr")
        field.value = "-1"
        await pilot.pause()
        error = str(app.screen.query_one("#field-lr .param-error").render())
        assert "lr" in error and "greater than 0" in error
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.live is None
    assert ui_store.attempts(ada.id) == []


async def _start_long_run(app, pilot) -> None:
    """Start a run that only ends when cancelled (a real lab may finish before the key lands)."""
    passed_quiz(app)
    app.open_lab("gd-linear")
    await pilot.pause()
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: app.live.step > 0)


async def test_cancel_stops_the_run_within_a_second_and_records_it(make, ada, ui_store):
    import time

    app = make(runner=EndlessRun)
    async with app.run_test(size=SIZE) as pilot:
        await _start_long_run(app, pilot)
        asked = time.monotonic()
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: not app.live.running, timeout=15)
        # The run never ends by itself, so ending at all proves the cancel. The bound only guards against
        # cancel waiting for something slow (a poll is 0.1 s): 10 s is wide headroom over the promised
        # second for a loaded CI machine; the speed itself is for benchmarks/, not a unit test.
        assert time.monotonic() - asked < 10
    [attempt] = ui_store.attempts(ada.id)
    assert attempt.status == "cancelled"


async def test_quitting_mid_training_exits_and_records_cancelled(make, ada, ui_store):
    app = make(runner=EndlessRun)
    async with app.run_test(size=SIZE) as pilot:
        await _start_long_run(app, pilot)
        await pilot.press("escape")  # back to the map: the run goes on
        assert app.live.running
        await pilot.press("q")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"  # a long run is not thrown away by one key
        await pilot.press("y")
        await pilot.pause()
    [attempt] = ui_store.attempts(ada.id)
    assert attempt.status == "cancelled"


@pytest.mark.parametrize("downs, suffix, starts", [(2, "json", "{"), (3, "csv", "learner,node,lab")])
async def test_export_writes_the_chosen_format_where_asked(make, ada, tmp_path: Path, downs, suffix, starts):
    app = make()
    target = tmp_path / "out" / f"ada.{suffix}"
    target.parent.mkdir()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        await pilot.press(*["down"] * downs, "enter")  # Markdown -> HTML -> JSON -> CSV
        app.screen.query_one("#path").value = str(target)
        await pilot.click("#write")
        await pilot.pause()
    assert target.read_text().lstrip().startswith(starts)


async def test_compare_refuses_attempts_of_different_labs(make, ada, ui_store):
    app = make()
    for lab, node in (("gd-linear", "gradient-descent"), ("ffnn-digits", "ffnn")):
        ui_store.start_attempt(ada.id, lab, node, mode="explore", params={}, seed=0, pid=0, app_version="t")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("h")
        await pilot.pause()
        await pilot.press("space", "down", "space", "c")
        await pilot.pause()
        assert type(app.screen).__name__ == "HistoryScreen"
        assert any("same lab" in n.message for n in app._notifications)


async def test_two_numeric_questions_in_a_row_each_get_an_answer_box(make, ada, ui_store):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        from planner.tui.screens.quiz import QuizScreen

        app.push_screen(QuizScreen("backpropagation", seed=0))
        await pilot.pause()
        app.screen.query_one("#answer-multiple").focus()
        await pilot.press("enter")  # nothing ticked: told to tick, still on question 1
        await pilot.press("space", "enter", "enter")  # tick one, answer, next
        await pilot.pause()
        for typed in ("1", "0"):
            await pilot.press(typed, "enter")
            await pilot.pause()
            assert "Correct" in str(app.screen.query_one("#quiz-feedback").render())
            await pilot.press("enter")
            await pilot.pause()
    [attempt] = ui_store.quiz_attempts(ada.id, "backpropagation")
    assert attempt.score > 0.5


async def test_a_target_role_missing_from_the_curriculum_opens_as_no_role(make, ui_store):
    # An imported file (or another --data folder) can carry a role this curriculum lacks; the app
    # crashed on start with UnknownRoleError. It opens on the dashboard, offering to choose a role.
    learner = ui_store.add_learner("Imported", target_role="astronaut", hours_per_week=5)
    ui_store.set_state("last_learner", str(learner.id))
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "DashboardScreen"
        assert app.learner.target_role is None
        await pilot.press("p")
        await pilot.pause()
        assert type(app.screen).__name__ == "PlanScreen"
    assert ui_store.learner_by_id(learner.id).target_role == "astronaut"  # the stored value is not touched


async def test_a_learner_name_that_looks_like_markup_is_shown_as_typed(make, ui_store):
    # Names may hold any characters; "[/]" in one crashed the switch-learner list with a MarkupError.
    odd = ui_store.add_learner("Bob [/] [b]x", target_role="ml-engineer", hours_per_week=5)
    ui_store.set_state("last_learner", str(odd.id))
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("l")
        await pilot.pause()
        assert type(app.screen).__name__ == "LearnersScreen"
        option_list = app.screen.query_one("#learner-list")
        shown = option_list._get_visual(option_list.get_option_at_index(0))
        assert "Bob [/] [b]x" in str(getattr(shown, "plain", shown))

