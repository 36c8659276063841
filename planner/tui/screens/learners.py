"""Switch learner: every learner on this database, plus 'add a learner'. One key (`l`) from anywhere."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

NEW = "__new__"


class LearnersScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        app: Any = self.app
        current = app.learner.id if app.learner else None
        options = []
        for learner in app.store.list_learners():
            role = app.curriculum.nodes.get(learner.target_role) if learner.target_role else None
            mark = "● " if learner.id == current else "  "
            options.append(Option(f"{mark}{escape(learner.name)}  [dim]{role.title if role else 'no target role'}[/]",
                                  id=str(learner.id)))
        options.append(Option("+ Add a learner", id=NEW))
        with Vertical(classes="dialog"):
            yield Static("Switch learner", classes="title")
            yield OptionList(*options, id="learner-list")
        yield Footer()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        app: Any = self.app
        self.dismiss()
        if event.option.id == NEW:
            from planner.tui.screens.welcome import WelcomeScreen

            app.push_screen(WelcomeScreen(can_go_back=True))
            return
        learner = app.store.learner_by_id(int(event.option.id))
        if learner is not None:
            app.set_learner(learner)
