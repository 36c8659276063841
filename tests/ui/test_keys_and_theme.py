"""Textual conventions (issue 19), by Pilot: a keymap file moves keys by binding id and the help shows the
keys as they are; a learner's theme survives a restart and does not follow another learner; the palette
lists the app's commands before anything is typed; a screenshot lands where the user can write."""

from __future__ import annotations

import os

import pytest
from textual.binding import Binding

from planner.tui.keymap import known_bindings
from tests.ui.helpers import wait_for


def test_every_binding_of_every_screen_has_an_id():
    import pkgutil
    import importlib

    from planner.tui import screens, widgets
    from planner.tui.app import PathLabApp

    missing = []
    for package in (screens, widgets):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for cls in [v for v in vars(module).values()
                        if isinstance(v, type) and v.__module__ == module.__name__ and "BINDINGS" in vars(v)]:
                missing += [f"{cls.__name__}: {b.key}" for b in vars(cls)["BINDINGS"]
                            if isinstance(b, Binding) and not b.id]
    missing += [b.key for b in PathLabApp.BINDINGS if not b.id]
    assert missing == []
    assert {"app.dashboard", "app.history", "lab.run", "build.grade", "quiz.leave"} <= set(known_bindings())


def _messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_a_keymap_file_moves_a_key_and_the_help_shows_it(make, ada, tmp_path, monkeypatch):
    keymap = tmp_path / "keymap.toml"
    keymap.write_text('[keys]\n"app.history" = "y"\n"app.nope" = "z"\n"lab.run" = 3\n')
    monkeypatch.setenv("PATHLAB_KEYMAP", str(keymap))
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("h")
        await pilot.pause()
        assert type(app.screen).__name__ == "DashboardScreen"  # h no longer opens the history
        await pilot.press("y")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HistoryScreen")
        await wait_for(pilot, lambda: any("'app.nope' is no binding's id" in m for m in _messages(app)))
        assert any(f"{keymap}: [keys] 'lab.run' must be a key" in m for m in _messages(app))
        await pilot.press("escape", "question_mark")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        from textual.widgets import Markdown

        text = app.screen.query_one(Markdown).source
        assert "| `y` | history of lab attempts |" in text and str(keymap) in text
        assert "| `app.history` | `y` | History |" in text


async def test_a_broken_keymap_file_is_one_line_and_the_app_opens(make, ada, tmp_path, monkeypatch):
    keymap = tmp_path / "keymap.toml"
    keymap.write_text("[keys\n")
    monkeypatch.setenv("PATHLAB_KEYMAP", str(keymap))
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "DashboardScreen"
        assert any(m.startswith(f"{keymap}: not valid TOML") for m in _messages(app))


async def test_the_theme_is_the_learners_and_survives_a_restart(make, ada, ui_store):
    bob = ui_store.add_learner("Bob")
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.theme = "nord"
        await pilot.pause()
    again = make()
    async with again.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert again.theme == "nord" and again.learner.name == "Ada"
        again.set_learner(bob)
        await pilot.pause()
        assert again.theme == again.DEFAULT_THEME
        again.set_learner(ui_store.get_learner("Ada"))
        await pilot.pause()
        assert again.theme == "nord"


async def test_the_palette_lists_the_apps_commands_before_typing(make, ada):
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        from textual.command import CommandList

        await wait_for(pilot, lambda: bool(app.screen.query(CommandList))
                       and app.screen.query_one(CommandList).option_count >= 6)
        prompts = [str(app.screen.query_one(CommandList).get_option_at_index(i).prompt)
                   for i in range(app.screen.query_one(CommandList).option_count)]
        assert any("Skill map (dashboard)" in p for p in prompts)
        assert any("Export a report" in p for p in prompts)


async def test_a_screenshot_goes_where_the_user_can_write_and_says_where(make, ada, tmp_path, monkeypatch):
    home = tmp_path / "home"  # no Downloads folder here
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("PATHLAB_SCREENSHOTS", raising=False)
    monkeypatch.chdir(tmp_path)
    app = make()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        saved = app.deliver_screenshot()
        await pilot.pause()
    assert saved and os.path.dirname(os.path.abspath(saved)) == str(tmp_path)
    assert open(saved).read().startswith("<svg")
    assert any(f"Screenshot saved to {saved}" in m for m in _messages(app))
