"""Export a progress report: pick Markdown, HTML, JSON or CSV and a path; the app writes it and says
where. Any error (a folder that does not exist, no permission) is shown in the dialog, never raised.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.widgets import Button, Footer, Input, Label, RadioButton, RadioSet, Static

from planner.tui.screens.base import PathLabModal

FORMATS = (("md", "Markdown"), ("html", "HTML"), ("json", "JSON"), ("csv", "CSV (a row per check)"))


def default_path(learner_name: str, fmt: str, folder: Path | None = None) -> Path:
    """'~/pathlab-ada.md' style: a safe file name from the learner's name."""
    slug = re.sub(r"[^a-z0-9]+", "-", learner_name.lower()).strip("-") or "learner"
    return (folder or Path.home()) / f"pathlab-{slug}.{fmt}"


class ExportScreen(PathLabModal[Path | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Close", id="export.close")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Export a report", classes="title")
            yield Label("Format")
            with RadioSet(id="format"):
                for index, (_fmt, title) in enumerate(FORMATS):
                    yield RadioButton(title, value=index == 0)
            yield Label("Save to")
            yield Input(id="path")
            yield Static(id="export-message")
            with Horizontal(classes="actions"):
                yield Button("Write report", id="write", variant="primary")
                yield Button("Close", id="close")
        yield Footer()  # a dialog's keys too, not the keys of the screen beneath

    def on_mount(self) -> None:
        self.query_one("#path", Input).value = str(default_path(self.app.current_learner.name, "md"))
        self.query_one(RadioSet).focus()

    @property
    def fmt(self) -> str:
        index = self.query_one(RadioSet).pressed_index
        return FORMATS[max(0, index)][0]

    @on(RadioSet.Changed)
    def _format_changed(self) -> None:
        """Keep the path's extension in step with the chosen format."""
        path_input = self.query_one("#path", Input)
        path = Path(path_input.value.strip() or "report")
        if path.suffix.lstrip(".") in {f for f, _ in FORMATS}:
            path_input.value = str(path.with_suffix("." + self.fmt))

    @on(Input.Submitted)
    @on(Button.Pressed, "#write")
    def write(self) -> None:
        from planner.reports import ReportError, write_atomic
        from planner.tui.app import DATABASE_ERRORS

        app = self.app
        message = self.query_one("#export-message", Static)
        raw = self.query_one("#path", Input).value.strip()
        if not raw:
            message.update("[$error]Enter a file path.[/]")
            return
        try:
            text = app.service.report(app.current_learner, self.fmt)
            app.service.check_output_path(Path(raw).expanduser())
            written = write_atomic(Path(raw).expanduser(), text)
        except (ReportError, OSError, ValueError, *DATABASE_ERRORS) as exc:
            message.update(f"[$error]{escape(str(exc))}[/]")  # the path may hold [ ]
            return
        app.notify(f"Report written to {written}", title="Export")
        self.dismiss(written)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)
