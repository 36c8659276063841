""""What went wrong?" on the lab screen after a real failed run (issue 14 §1): gd-linear's naive
defaults train in this process (tests/test_diagnosis.InProcessRun), the panel asks, a number key
answers, the answer is recorded and explained; a passing run asks nothing."""

from __future__ import annotations

from labs.catalog import get_lab
from planner.service import Service
from planner.tui.widgets.diagnosis import DiagnosisPanel
from tests.test_diagnosis import InProcessRun

from .helpers import wait_for


async def test_a_failed_run_asks_a_number_key_answers_a_pass_asks_nothing(make, ui_store, ui_curriculum, ada):
    app = make(runner=InProcessRun)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_lab("gd-linear")
        await pilot.pause()
        panel = app.screen.query_one(DiagnosisPanel)
        assert not panel.display
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.live is not None and not app.live.running and panel.question is not None)
        question = panel.question
        assert panel.display and question.expected == "lr-too-large"
        assert app.focused is not None and app.focused.id == "diagnosis-options"  # keys go to the panel
        wrong = next(i for i, o in enumerate(question.options) if o.id != "lr-too-large")
        await pilot.press(str(wrong + 1))
        await wait_for(pilot, lambda: panel.result is not None)
        [row] = ui_store.diagnosis_answers(ada.id, question.attempt_id)
        assert (row["answer"], row["correct"]) == (question.options[wrong].id, False)
        shown = str(app.screen.query_one("#diagnosis-result").render())
        assert "It was" in shown and get_lab("gd-linear").failure_mode("lr-too-large").label in shown
        await pilot.press("1")  # answered: another key records nothing more
        await pilot.pause()
        assert len(ui_store.diagnosis_answers(ada.id)) == 1
        passing = Service(ui_store, ui_curriculum, runner_factory=InProcessRun).start_lab(
            ada, "gd-linear", get_lab("gd-linear").good_settings, practice=True).wait()
        panel.show_for(passing)
        await pilot.pause()
        assert passing.passed and not panel.display and panel.question is None
