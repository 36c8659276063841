"""The compare screen (issue 19): the two attempts' final metrics, per-check points and durations side by
side, beside their overlaid curves, whose x axis says what it counts (the lab's unit)."""

from __future__ import annotations

from rich.console import Console

from planner.tui.screens.compare import side_by_side
from tests.ui.helpers import two_attempts as _two_attempts, wait_for


def _text(renderable, width: int = 40) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()


def test_the_table_puts_each_measure_of_the_two_attempts_on_one_row(ui_store, ada):
    first, second = (ui_store.attempt(i) for i in _two_attempts(ui_store, ada))
    text = _text(side_by_side(first, second, ui_store.attempt_checks(first.id), ui_store.attempt_checks(second.id)))
    rows = {" ".join(line.split()[:-2]): line.split()[-2:] for line in text.splitlines()
            if len(line.split()) > 2 and not set(line.strip()) <= set("─")}
    assert rows["status"] == ["passed", "failed"]
    assert rows["score"] == ["100", "30"]
    assert rows["duration s"] == ["0.4", "1.4"]
    assert rows["train_loss"] == ["0.2382", "0.9"]
    assert rows["check optimum"] == ["60/60", "18/60"] and rows["check descent"] == ["15/15", "4.5/15"]


async def test_the_screen_shows_the_table_and_labels_the_axis_with_the_labs_unit(make, ada, ui_store):
    ids = _two_attempts(ui_store, ada)
    app = make()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        from planner.tui.screens.compare import CompareScreen

        app.push_screen(CompareScreen(*ids))
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CompareScreen")
        await pilot.pause()
        shown = _text(app.screen.query_one("#compare-text").content, width=56)
        assert "Hyperparameters that differ" in shown and "check optimum" in shown and "18/60" in shown
        assert app.screen.query_one("#chart")._x_label == "step"  # gd-linear counts steps
        assert not app.screen.query_one("#layer-hist").display


def test_a_recorded_runs_axis_counts_what_its_lab_counts():
    from planner.tui.widgets.recorded_run import unit_of

    assert unit_of("cnn-digits", "explore") == "epoch"  # as the live lab screen labels it
    assert unit_of("cnn-digits", "implement") == "step"  # a build's training check counts steps
    assert unit_of("no-such-lab", "explore") == "step"
