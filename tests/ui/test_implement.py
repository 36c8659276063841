"""Implement mode in the app, by keys: write the scaffold, grade it, replace it with the reference
solution, grade again; watch mode; asking before a file is replaced; the solution only after a pass.
Grading is real (the sandboxed child, under a second for ffnn-digits); the database says what was recorded.
"""

from __future__ import annotations

from pathlib import Path

from labs.implement import get_task, solution_source

from .helpers import SIZE, wait_for

LAB, NODE = "ffnn-digits", "ffnn"
SLOW_EPOCHS = """

_reference_train_epoch = train_epoch


def train_epoch(params, x, y, batch_size, perm, lr, state):
    import time

    time.sleep(1.0)
    return _reference_train_epoch(params, x, y, batch_size, perm, lr, state)
"""


def _app(make, tmp_path: Path):
    app = make()
    app.workspace = tmp_path / "workspace"
    return app


async def _open(app, pilot) -> None:
    """From the node's Lab tab, the way a learner gets there."""
    await pilot.pause()
    app.open_node(NODE)
    await pilot.pause()
    await pilot.press("3", "w")
    await pilot.pause()
    assert type(app.screen).__name__ == "ImplementScreen"


def _result(app) -> str:
    return str(app.screen.query_one("#impl-result-text").render())


async def _grade(app, pilot) -> None:
    await pilot.press("g")
    await pilot.pause()
    await wait_for(pilot, lambda: app.grading is None, timeout=30)


async def test_scaffold_fails_clearly_then_the_reference_passes_and_masters_the_node(make, ada, ui_store,
                                                                                      tmp_path):
    app = _app(make, tmp_path)
    file = tmp_path / "workspace" / get_task(LAB).filename
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        assert str(file) in str(app.screen.query_one("#impl-head").render())
        await pilot.press("w")
        await pilot.pause()
        assert "def linear_forward" in file.read_text()

        await _grade(app, pilot)
        first = _result(app)
        assert "Not passed" in first and "0/100" in first
        assert first.index("✗") < first.index("none of the 13 functions is written yet")

        file.write_text(solution_source(LAB))
        await _grade(app, pilot)
        assert "Passed" in _result(app) and "100/100" in _result(app)
        assert app.progress()[NODE].mastery == "proficient"  # a build pass; mastered needs an experiment too

        await pilot.press("s")
        await pilot.pause()
        assert type(app.screen).__name__ == "SolutionScreen"
    failed, passed = sorted(ui_store.attempts(ada.id, lab_id=LAB), key=lambda a: a.id)
    assert (failed.mode, failed.status, failed.score) == ("implement", "failed", 0)
    assert (passed.mode, passed.status, passed.passed) == ("implement", "passed", True)
    assert failed.code_hash != passed.code_hash


async def test_replacing_an_existing_file_asks_and_keeps_a_backup(make, ada, tmp_path):
    app = _app(make, tmp_path)
    file = tmp_path / "workspace" / get_task(LAB).filename
    file.parent.mkdir()
    file.write_text("# my own work\n")
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        await pilot.press("w")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")  # keep mine
        await pilot.pause()
        assert file.read_text() == "# my own work\n"
        await pilot.press("w", "y")
        await pilot.pause()
    [backup] = file.parent.glob(f"{file.name}.*.bak")
    assert backup.read_text() == "# my own work\n"
    assert "def linear_forward" in file.read_text()


async def test_the_solution_stays_closed_before_a_pass_and_hints_come_one_at_a_time(make, ada, tmp_path):
    app = _app(make, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        assert type(app.screen).__name__ == "ImplementScreen"
        assert any("passes every check" in n.message for n in app._notifications)
        await pilot.press("n", "n")
        await pilot.pause()
        hints = str(app.screen.query_one("#impl-hints-text").render())
        assert "1." in hints and "2." in hints and "3." not in hints


async def test_watch_grades_again_when_the_file_changes(make, ada, ui_store, tmp_path):
    app = _app(make, tmp_path)
    file = tmp_path / "workspace" / get_task(LAB).filename
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        await pilot.press("w", "t")  # write, then watch: grades once at once
        await pilot.pause()
        await wait_for(pilot, lambda: app.grading is None and len(ui_store.attempts(ada.id)) == 1, timeout=30)
        file.write_text(solution_source(LAB))
        await wait_for(pilot, lambda: app.grading is None and len(ui_store.attempts(ada.id)) == 2, timeout=30)
        assert "Passed" in _result(app)
        await pilot.press("t")  # stop watching: a further change is not graded
        await pilot.pause(0.1)
        file.write_text(file.read_text() + "\n# a comment\n")
        await pilot.pause(1.2)
        assert len(ui_store.attempts(ada.id)) == 2
        assert not [w for w in app.screen.workers if w.group == "watch" and not w.is_finished]


async def test_a_database_error_while_redrawing_after_grading_is_a_notification_and_the_app_stays_up(
        make, ada, ui_store, tmp_path, monkeypatch):
    """Grading records over its own connection; if reading the progress back then fails (a locked or
    damaged database), the grade is still shown, the error is one notification, and the app goes on."""
    from planner.store import StoreError

    app = _app(make, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        await pilot.press("w")
        await pilot.pause()

        def locked():
            raise StoreError("database is locked")

        monkeypatch.setattr(app, "progress", locked)
        await _grade(app, pilot)
        await pilot.pause()
        assert type(app.screen).__name__ == "ImplementScreen" and app.is_running
        assert "0/100" in _result(app)
        assert any("database is locked" in n.message for n in app._notifications)
        await pilot.press("g")  # still answering keys
        await pilot.pause()
        await wait_for(pilot, lambda: app.grading is None, timeout=30)
    assert len(ui_store.attempts(ada.id, lab_id=LAB)) == 2


async def test_the_learners_network_trains_live_on_the_build_screen(make, ada, ui_store, tmp_path):
    """While grading, the build screen draws the training loss of the learner's own network (the lab
    screen's chart) and its progress; the curve stays after the grade and is the one recorded."""
    app = _app(make, tmp_path)
    file = tmp_path / "workspace" / get_task(LAB).filename
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        await pilot.press("w")
        file.write_text(solution_source(LAB))
        await pilot.press("g")
        status = app.screen.query_one("#impl-status")
        # Seen while it trains (about a second for this network, so it is watched for, not paused into).
        live = app.screen.query_one("#impl-live")
        await wait_for(pilot, lambda: app.grading_live is not None and app.grading_live.series
                       and "training" in str(status.render()) and live.display, timeout=30)
        await wait_for(pilot, lambda: app.grading is None, timeout=30)
        await pilot.pause(0.3)
        chart = app.screen.query_one("#impl-chart")
        assert chart.display and app.screen.query_one("#impl-live").display
        bar = app.screen.query_one("#impl-bar")
        assert bar.progress == bar.total  # the curve ends where training did
    [attempt] = ui_store.attempts(ada.id, lab_id=LAB)
    assert attempt.status == "passed"
    recorded = ui_store.metric_series(attempt.id)["train_loss"]
    assert recorded == app.grading_live.series["train_loss"]


async def test_ctrl_x_cancels_a_grading_and_records_the_points_earned(make, ada, ui_store, tmp_path):
    app = _app(make, tmp_path)
    file = tmp_path / "workspace" / get_task(LAB).filename
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        await pilot.press("w")
        # the reference, each epoch a little slower, so the training is still running when ctrl+x lands
        # (a whole run takes about a second: on a fast machine it could end between two key presses)
        file.write_text(solution_source(LAB) + SLOW_EPOCHS)
        await pilot.press("g")
        await wait_for(pilot, lambda: app.grading_live is not None and app.grading_live.series, timeout=30)
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: app.grading is None, timeout=10)
        assert "Cancelled" in _result(app) or "cancelled" in _result(app)
    [attempt] = ui_store.attempts(ada.id, lab_id=LAB)
    assert (attempt.status, attempt.score) == ("cancelled", 80)  # all but the training check


async def test_o_opens_the_file_in_the_editor_and_the_app_resumes(make, ada, tmp_path, monkeypatch):
    """$EDITOR is a script that appends a line to the file it is given; the app suspends around it (the
    headless test driver cannot suspend, so App.suspend is replaced by a recording stand-in)."""
    from contextlib import contextmanager

    from planner.tui.screens.implement import editor_command

    app = _app(make, tmp_path)
    file = tmp_path / "workspace" / get_task(LAB).filename
    suspended = []

    @contextmanager
    def fake_suspend():
        suspended.append("in")
        yield
        suspended.append("out")

    monkeypatch.setattr(app, "suspend", fake_suspend)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", """sh -c 'echo "# edited" >> "$1"' --""")
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        assert file.read_text().endswith("# edited\n")
        assert suspended == ["in", "out"]
        assert type(app.screen).__name__ == "ImplementScreen" and app.is_running
        monkeypatch.delenv("EDITOR")
        await pilot.press("o")  # no editor: a message that names the file
        await pilot.pause()
        assert any(str(file) in n.message and "$EDITOR" in n.message for n in app._notifications)
    assert editor_command(file, {"VISUAL": "code --wait", "EDITOR": "vi"}) == ["code", "--wait", str(file)]
    assert editor_command(file, {"EDITOR": "'my editor' -n"}) == ["my editor", "-n", str(file)]
    assert editor_command(file, {"VISUAL": "'unbalanced", "EDITOR": ""}) is None


async def test_without_a_workspace_the_file_is_the_learners_own_beside_the_database(make, ada, ui_store):
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await _open(app, pilot)
        await pilot.press("w")
        await pilot.pause()
        mine = ui_store.path.parent / f"{ui_store.path.name}.workspaces" / str(ada.id) / get_task(LAB).filename
        assert mine.exists()
        assert str(mine) in str(app.screen.query_one("#impl-head").render())


async def test_the_lab_screen_says_which_network_trains_and_whether_the_build_passed(make, ada):
    from datetime import datetime

    from planner.tui.screens.lab import build_markup

    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.open_lab(LAB, NODE)
        await pilot.pause()
        text = str(app.screen.query_one("#lab-build").render())
        assert "Experiments here train" in text and "library" in text and "build is still to do" in text
    passed = build_markup(LAB, "Feed-forward networks", datetime(2026, 1, 5, 10, 0))
    assert "your build passed" in passed and "05 Jan 2026" in passed
    assert build_markup("no-such-lab", "x", None) == ""
