"""Delete a learner (the learners dialog's `d`): asks first, and offers to export their history before.

Dismisses with the deleted learner's name, or None when nothing was deleted. The export is the same file
`pathlab export-progress` writes (and `import-progress` reads back), written atomically; a file that
cannot be written stops the deletion, with the reason, so nothing is lost.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import Button, Footer, Input, Static

from planner.records import Learner
from planner.tui.screens.base import PathLabModal


def default_export_path(learner: Learner, today: date, folder: Path | None = None) -> Path:
    """Where the export dialog would put a report, with the date: ~/pathlab-<name>-<date>.json."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in learner.name).strip("-") or "learner"
    return (folder or Path.home()) / f"pathlab-{safe}-{today.isoformat()}.json"


class DeleteLearnerScreen(PathLabModal[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="delete.cancel")]

    def __init__(self, learner: Learner) -> None:
        super().__init__()
        self.learner = learner

    def compose(self) -> ComposeResult:
        app = self.app
        attempts = 0
        with app.database_errors_shown("count the learner's attempts"):
            attempts = app.service.attempt_count(self.learner)
        path = default_export_path(self.learner, app.today())
        with Vertical(classes="dialog", id="delete-dialog"):
            yield Static(f"Delete [b]{escape(self.learner.name)}[/] and all their history ({attempts} lab "
                         "attempts, their quizzes and builds' grades)? This cannot be undone.",
                         id="delete-question")
            yield Static("Export their history first, to this file:")
            yield Input(str(path), id="delete-export")
            with Horizontal(classes="actions"):
                yield Button("Export, then delete", id="export-delete", variant="warning")
                yield Button("Delete", id="delete", variant="error")
                yield Button("Cancel", id="cancel", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()  # the safe answer is the default

    @on(Button.Pressed)
    def _answer(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
            return
        app = self.app
        if event.button.id == "export-delete" and not self._export():
            return
        with app.database_errors_shown(f"delete {self.learner.name}"):
            app.service.delete_learner(self.learner.name)
            self.dismiss(self.learner.name)

    def _export(self) -> bool:
        from planner.reports import ReportError, write_atomic

        app = self.app
        raw = self.query_one("#delete-export", Input).value.strip()
        if not raw:
            app.notify("Give a file to export to, or choose Delete", severity="warning")
            return False
        target = Path(raw).expanduser()
        try:
            data = app.service.export_progress(self.learner)
            app.service.check_output_path(target)
            write_atomic(target, data.model_dump_json(indent=2) + "\n")
        except (ReportError, ValueError, OSError) as exc:
            app.notify(f"Not deleted: could not export to {target}: {exc}", severity="error", markup=False)
            return False
        app.notify(f"Exported {self.learner.name} to {target}", markup=False)
        return True
