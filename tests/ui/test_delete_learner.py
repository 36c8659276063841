"""Deleting a learner in the app (issue 19): `d` in the learners dialog asks first and offers an export;
the export is a real progress file, the learner and every row of theirs go, and the app moves on."""

from __future__ import annotations

from textual.widgets import Button, OptionList

from tests.ui.helpers import wait_for


async def _open_delete_for(app, pilot, name: str) -> None:
    await pilot.press("l")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "LearnersScreen")
    options = app.screen.query_one("#learner-list", OptionList)
    index = next(i for i in range(options.option_count) if name in str(options.get_option_at_index(i).prompt))
    options.highlighted = index
    await pilot.press("d")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "DeleteLearnerScreen")


async def test_cancel_keeps_everything_and_export_then_delete_removes_them(make, ada, ui_store, tmp_path):
    bob = ui_store.add_learner("Bob")
    app = make()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        await _open_delete_for(app, pilot, "Bob")
        assert app.screen.focused.id == "cancel"  # the safe answer is the default
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "LearnersScreen")
        assert ui_store.get_learner("Bob") is not None
        await pilot.press("escape")
        await _open_delete_for(app, pilot, "Bob")
        target = tmp_path / "bob.json"
        app.screen.query_one("#delete-export").value = str(target)
        app.screen.query_one("#export-delete", Button).press()
        await wait_for(pilot, lambda: ui_store.get_learner("Bob") is None)
        assert app.learner.name == "Ada"  # someone else was deleted: nothing moves
    assert target.exists() and '"name": "Bob"' in target.read_text()
    app.service.import_progress_file(target)  # the export is a real progress file: Bob comes back
    assert ui_store.get_learner("Bob") is not None


async def test_an_export_that_cannot_be_written_deletes_nothing(make, ada, ui_store, tmp_path):
    app = make()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        await _open_delete_for(app, pilot, "Ada")
        app.screen.query_one("#delete-export").value = str(tmp_path / "missing" / "folder" / "ada.json")
        app.screen.query_one("#export-delete", Button).press()
        await pilot.pause()
        await pilot.pause()
        assert ui_store.get_learner("Ada") is not None
        assert any("Not deleted: could not export" in str(n.message) for n in app._notifications)


async def test_deleting_the_only_learner_opens_the_welcome_screen(make, ada, ui_store):
    app = make()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        await _open_delete_for(app, pilot, "Ada")
        app.screen.query_one("#delete", Button).press()
        await wait_for(pilot, lambda: type(app.screen).__name__ == "WelcomeScreen")
        assert ui_store.list_learners() == [] and app.learner is None
