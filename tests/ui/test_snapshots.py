"""Screen snapshots at a fixed size over the UI fixture curriculum, a fixed 'today' and scripted runs,
so every pixel is deterministic. Update with `pytest tests/ui --snapshot-update` after a deliberate
change, and look at the SVGs before committing them.
"""

from __future__ import annotations

from .helpers import SIZE, passed_quiz, wait_for
from .scripted import ScriptedRun


def _settle(app):
    async def run_before(pilot):
        await pilot.pause()
        app.screen.set_focus(None)  # no blinking cursor in the picture
        await pilot.pause()

    return run_before


def test_dashboard(snap_compare, make, ada):
    app = make()

    async def run_before(pilot):
        passed_quiz(app)
        app.invalidate_progress()
        await _settle(app)(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_node_lesson(snap_compare, make, ada):
    app = make()

    async def run_before(pilot):
        app.open_node("large-models")
        await _settle(app)(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_finished_lab(snap_compare, make, ada):
    app = make(runner=ScriptedRun)

    async def run_before(pilot):
        passed_quiz(app)
        app.open_lab("gd-linear")
        await pilot.pause()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.live is not None and not app.live.running)
        app.clear_notifications()
        await _settle(app)(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_plan(snap_compare, make, ada):
    app = make()

    async def run_before(pilot):
        passed_quiz(app)
        app.invalidate_progress()
        await pilot.press("p")
        await _settle(app)(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
