"""Every screen at 80x24, the smallest terminal PathLab supports (issue 19: no text clipped there). The
pictures are deterministic: the UI fixture curriculum, a fixed 'today', attempts with fixed times and
values. Update with `pytest tests/ui/test_snapshots_80x24.py --snapshot-update` after a deliberate change,
and look at every SVG before committing it (footers, forms and samples must read whole)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import passed_quiz, two_attempts as _two_attempts, wait_for
from .scripted import ScriptedRun

SMALL = (80, 24)


def _settle(app):
    async def run_before(pilot):
        await pilot.pause()
        app.clear_notifications()
        app.screen.set_focus(None)  # no blinking cursor in the picture
        await pilot.pause()

    return run_before


async def _open(app, pilot, opener) -> None:
    await pilot.pause()
    opener()
    await pilot.pause()
    await pilot.pause()


SCREENS = {
    "dashboard": lambda app, ids: None,
    "dashboard_list": lambda app, ids: app.screen.action_toggle_view(),
    "node_lesson": lambda app, ids: app.open_node("large-models"),
    "lab_form": lambda app, ids: app.open_lab("gd-linear"),
    "plan": lambda app, ids: app.action_plan(),
    "history": lambda app, ids: app.action_history(),
    "attempt": lambda app, ids: app.push_screen(_screen("attempt", "AttemptScreen")(ids[0])),
    "compare": lambda app, ids: app.push_screen(_screen("compare", "CompareScreen")(*ids)),
    "help": lambda app, ids: app.action_help(),
    "export": lambda app, ids: app.action_export(),
    "learners": lambda app, ids: app.action_learners(),
    "quiz": lambda app, ids: app.push_screen(_screen("quiz", "QuizScreen")("large-models", seed=1)),
    "build": lambda app, ids: app.open_implement("gd-linear", "gradient-descent"),
    "confirm": lambda app, ids: app.push_screen(_screen("confirm", "ConfirmScreen")(
        "A lab is training. Quit anyway? Yes cancels it and records it so.")),
    "delete_learner": lambda app, ids: app.push_screen(_screen("delete_learner", "DeleteLearnerScreen")(
        app.current_learner)),
}


def _screen(module: str, name: str):
    import importlib

    return getattr(importlib.import_module(f"planner.tui.screens.{module}"), name)


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_screen_at_80x24(name, snap_compare, make, ada, ui_store, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", "/home/learner")  # the export and delete dialogs suggest files there
    app = make(runner=ScriptedRun)
    app.workspace = Path("/home/learner/pathlab-workspace")  # shown, not written: a stable picture
    ids = _two_attempts(ui_store, ada)

    async def run_before(pilot):
        passed_quiz(app)
        app.invalidate_progress()
        await _open(app, pilot, lambda: SCREENS[name](app, ids))
        if name == "lab_form":  # before a run the bar pulses (indeterminate): freeze it for the picture
            app.screen.query_one("#run-bar").update(total=100, progress=0)
        await _settle(app)(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)


def test_welcome_at_80x24(snap_compare, make):
    app = make()  # no learner yet: the first start's questions
    assert snap_compare(app, terminal_size=SMALL, run_before=_settle(app))


def test_finished_lab_at_80x24(snap_compare, make, ada):
    app = make(runner=ScriptedRun)

    async def run_before(pilot):
        passed_quiz(app)
        app.open_lab("gd-linear")
        await pilot.pause()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.live is not None and not app.live.running)
        await _settle(app)(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)
