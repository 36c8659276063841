"""Switch learner: every learner on this database, plus 'add a learner'; `d` deletes the highlighted one. `l` from anywhere."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from planner.records import Learner
from planner.tui.screens.base import PathLabModal

NEW = "__new__"


class LearnersScreen(PathLabModal[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close", id="learners.close"),
                Binding("d", "delete", "Delete learner", id="learners.delete")]

    def compose(self) -> ComposeResult:
        app = self.app
        current = app.learner.id if app.learner else None
        learners: list[Learner] = []
        with app.database_errors_shown("read the learners"):
            learners = app.service.learners()
        options = []
        for learner in learners:
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
        app = self.app
        self.dismiss()
        if event.option.id == NEW or event.option.id is None:
            from planner.tui.screens.welcome import WelcomeScreen

            app.push_screen(WelcomeScreen(can_go_back=True))
            return
        with app.database_errors_shown("read the learner"):
            learner = app.service.learner(int(event.option.id))
            if learner is not None:
                app.set_learner(learner)

    def action_delete(self) -> None:
        """Delete the highlighted learner, after DeleteLearnerScreen's question (and export)."""
        from planner.tui.screens.delete_learner import DeleteLearnerScreen

        app = self.app
        option = self.query_one("#learner-list", OptionList).highlighted_option
        if option is None or option.id in (None, NEW):
            return
        learner = None
        with app.database_errors_shown("read the learner"):
            learner = app.service.learner(int(option.id))
        if learner is None:
            return

        def done(name: str | None) -> None:
            if name is None:
                return
            app.notify(f"Deleted {name}", markup=False)
            self.dismiss()
            app.after_learner_deleted(learner.id)

        app.push_screen(DeleteLearnerScreen(learner), done)
