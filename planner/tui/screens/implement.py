"""Write it yourself: implement mode for a lab. The learner writes the network's functions in their own
editor (`o` opens it in $VISUAL / $EDITOR, the app suspended meanwhile); this screen writes the scaffold,
grades the file in the sandbox (the same grade view as a run, first failure first), draws the learner's
own network training live (the lab screen's loss chart and progress bar; ctrl+x cancels), reveals hints
one at a time (counted per learner), watches the file to grade again on every save, and shows the
reference solution once their own code has passed. The file is the learner's own
(`planner.implement.learner_workspace`), its path on screen.

Grading belongs to the app (`PathLabApp.start_grading`, one at a time, on its own thread and database
connection), so leaving this screen does not lose a result. Watching belongs to this screen: it stops
when the learner leaves.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Header, ProgressBar, Static
from textual.worker import get_current_worker

from planner.store import StoreError
from planner.tui.implement_job import file_hash
from planner.tui.messages import FileChanged, ImplementGraded
from planner.tui.symbols import format_duration
from planner.tui.widgets.grade_view import outcome_markup

DATABASE_ERRORS = (StoreError, sqlite3.Error)
"""what reading the learner's records can raise (a locked, vanished or damaged database)"""
WATCH_POLL_S = 0.5
"""how often the watched file's content hash is read: a save is graded within this long"""
OUTPUT_LINES = 12
"""lines of the learner's own prints shown under the grade"""
ROOM_FOR_CURVE = 32
"""terminal rows from which the curve and the grade are shown together; below (80x24) the curve has the
room while the network trains, and the grade takes it back when grading ends"""


def editor_command(path: Path, environ: Mapping[str, str] = os.environ) -> list[str] | None:
    """The command that opens `path` in the learner's editor: $VISUAL, else $EDITOR, split as a shell
    would (`code --wait`, `emacs -nw`); None when neither is set (or neither parses)."""
    for name in ("VISUAL", "EDITOR"):
        try:
            words = shlex.split(environ.get(name, ""))
        except ValueError:  # an unbalanced quote: try the next one
            continue
        if words:
            return [*words, str(path)]
    return None


def grading_status(live, seconds: float) -> str:
    """'Grading … · training step 300/660 · loss 0.41 · 3s' while the learner's network trains."""
    head = "[b]Cancelling[/] the grading" if live is not None and live.cancelling else "[b]Grading[/] in the sandbox"
    if live is None or not live.total_steps:
        return f"{head}: structure, values, gradients, then training · {format_duration(seconds)}"
    loss = live.series.get("train_loss")
    name, points = ("loss", loss) if loss else next(iter(live.series.items()), ("", []))
    shown = f" · {name} {points[-1][1]:.4g}" if points else ""
    return (f"{head}: your network is training · {live.position_text()}{shown} · "
            f"{format_duration(seconds)} [dim](ctrl+x cancels)[/]")


def printed_markup(output: str) -> str:
    """What the learner's code printed, its last OUTPUT_LINES lines, to go under the grade ('' if none)."""
    lines = output.strip().splitlines()
    if not lines:
        return ""
    shown = lines[-OUTPUT_LINES:]
    cut = f" [dim](last {len(shown)} of {len(lines)} lines)[/]" if len(lines) > len(shown) else ""
    return "\n\n[b]Your code printed[/]" + cut + "\n" + "\n".join(f"[dim]│[/] {escape(line)}" for line in shown)


class ImplementScreen(Screen[None]):
    DEFAULT_CSS = """
    #impl-live { height: 12; display: none; }
    #impl-live MetricChart { height: 1fr; min-height: 6; }
    #impl-bar { margin: 0 1; }
    """
    BINDINGS = [  # the buttons under the file name show w o g n t s: the footer would repeat them (and at
        # 80 columns cut itself off), so it keeps back, cancel and the app's keys
        Binding("escape", "app.pop_screen", "Back", id="build.back"),
        Binding("w", "write", "Write scaffold", show=False, id="build.write"),
        Binding("o", "edit", "Edit", show=False, id="build.edit"),
        Binding("g", "grade", "Grade", show=False, id="build.grade"),
        Binding("n", "hint", "Hint", show=False, id="build.hint"),
        Binding("t", "watch", "Watch", show=False, id="build.watch"),
        Binding("s", "solution", "Solution", show=False, id="build.solution"),
        Binding("ctrl+x", "cancel_grading", "Cancel", priority=True, id="build.cancel-grading"),
    ]

    def __init__(self, lab_id: str, node_id: str) -> None:
        super().__init__()
        from labs.catalog import get_lab
        from labs.implement import get_task

        self.implement_task = get_task(lab_id)
        self.title_text = get_lab(lab_id).title
        self.lab_id, self.node_id = lab_id, node_id
        self.hints: dict[int, str] = {}
        self.watching = False
        self._drawn: tuple[int, int] | None = None  # (steps, points) of the curve last drawn

    @property
    def workspace(self) -> Path:
        """The learner's own folder (or the app's `workspace` when one was given)."""
        from planner.implement import workspace_of

        app: Any = self.app
        return workspace_of(app.service, app.current_learner, app.workspace)

    @property
    def path(self) -> Path:
        from planner.implement import learner_file

        return learner_file(self.lab_id, self.workspace)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="impl-head")
        with Horizontal(id="impl-actions"):
            yield Button("Scaffold w", id="write", variant="primary", compact=True)
            yield Button("Edit o", id="edit", compact=True)
            yield Button("Grade g", id="grade", compact=True)
            yield Button("Hint n", id="hint", compact=True)
            yield Button("Watch t: off", id="watch", compact=True)
            yield Button("Solution s", id="solution", compact=True)
        yield Static(id="impl-status")
        with Vertical(id="impl-live"):
            from planner.tui.widgets.metric_chart import MetricChart, is_loss

            yield ProgressBar(id="impl-bar", show_eta=False, show_percentage=True)
            yield MetricChart("Your network's training loss", is_loss, x_label="step", id="impl-chart")
        with VerticalScroll(id="impl-hints", classes="panel"):
            yield Static(id="impl-hints-text")
        with VerticalScroll(id="impl-result", classes="panel"):
            yield Static("No grade yet: write the functions, then press g.", id="impl-result-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#impl-hints").border_title = "Hints"
        self.query_one("#impl-hints").display = False
        self.query_one("#impl-result").border_title = "Grade"
        self.refresh_data()
        self.set_interval(0.25, self._show_status)
        self._show_status()

    # ---- what the screen shows ------------------------------------------------------------------

    def refresh_data(self) -> None:
        """The head: the file and its state, the functions to write, and a note if the node is locked."""
        app: Any = self.app
        exists = self.path.exists()
        state = "[$success]written[/]" if exists else "[$warning]not written yet: press w[/]"
        lines = [f"[b]Write it yourself · {escape(self.title_text)}[/]",
                 f"Your file: [b]{escape(str(self.path))}[/] ({state}); o opens it in your editor",
                 f"Write: {', '.join(f.name for f in self.implement_task.functions)} "
                 "[dim]· every check must pass; with the quiz, a pass completes the node[/]"]
        entry = app.progress().get(self.node_id)
        if entry is not None and entry.state == "locked":
            lines.append("[$warning]This node is still locked:[/] your grade is recorded all the same.")
        self.query_one("#impl-head", Static).update("\n".join(lines))

    def _show_status(self) -> None:
        app: Any = self.app
        live = app.grading_live if app.grading_live is not None and app.grading_live.lab_id == self.lab_id else None
        self._show_curve(live)
        if app.grading is not None and app.grading[0] == self.lab_id:
            text = grading_status(live, time.monotonic() - app.grading_started)
        elif self.watching:
            text = f"[b]Watching[/] {escape(self.path.name)}: every save is graded (t stops)."
        else:
            text = ""
        status = self.query_one("#impl-status", Static)
        status.update(text)
        status.display = bool(text)

    def _show_curve(self, live) -> None:
        """The learner's network training: the progress bar and the loss chart of the lab screen, drawn
        again only when new points came (the chart is the costly part)."""
        from planner.tui.widgets.metric_chart import MetricChart, is_loss

        area = self.query_one("#impl-live")
        app: Any = self.app
        grading = app.grading is not None and app.grading[0] == self.lab_id
        short = self.size.height < ROOM_FOR_CURVE
        has_loss = live is not None and any(is_loss(name) for name in live.series)  # counting tasks have none
        self.query_one("#impl-result").display = not (grading and short and has_loss)
        if live is None or not live.series or (not grading and short):
            area.display = False
            self._drawn = None
            return
        area.display = True
        area.styles.height = ("1fr" if short else 12) if has_loss else "auto"
        self.query_one("#impl-bar").display = grading  # a full bar after the grade says nothing
        drawn = (live.step, sum(len(v) for v in live.series.values()))
        if drawn == self._drawn:
            return
        self._drawn = drawn
        total = max(1, live.total_steps)
        self.query_one("#impl-bar", ProgressBar).update(total=total, progress=live.fraction * total)
        chart = self.query_one("#impl-chart", MetricChart)
        chart.display = has_loss
        if has_loss:
            chart.show(live.series)

    def show_graded(self, message: ImplementGraded) -> None:
        """Draw a finished grading in the grade view a lab run uses; the app calls this."""
        if message.lab_id != self.lab_id:
            return
        try:
            self.refresh_data()
        except DATABASE_ERRORS as exc:  # the grade is recorded and shown; only the head could not be redrawn
            self.notify(f"Could not refresh the view: {exc}", title="Database", severity="error", timeout=10,
                        markup=False)
        self._show_status()
        result_text = self.query_one("#impl-result-text", Static)
        if message.error:
            result_text.update(f"[$error]Could not grade:[/] {escape(message.error)}")
            return
        text = outcome_markup(message.result.outcome, self.app.curriculum)  # type: ignore[attr-defined]
        result_text.update(text + printed_markup(message.result.output))
        self.query_one("#impl-result", VerticalScroll).scroll_home(animate=False)

    # ---- actions --------------------------------------------------------------------------------

    @on(Button.Pressed, "#write")
    def action_write(self) -> None:
        """Write the scaffold; over an existing file only after asking (the old one is kept as .bak)."""
        path = self.path
        if not path.exists():
            self._write(force=False)
            return
        from planner.tui.screens.confirm import ConfirmScreen

        question = (f"[b]{escape(str(path))}[/] already exists.\n\nReplace it with a fresh scaffold? "
                    f"Your file is kept beside it as {escape(path.name)}.<date-time>.bak.")
        self.app.push_screen(ConfirmScreen(question, yes="Replace", no="Keep mine"),
                             lambda replace: self._write(force=True) if replace else None)

    def _write(self, *, force: bool) -> None:
        from planner.implement import WorkspaceError, default_workspace, start

        app: Any = self.app
        try:
            started = start(self.lab_id, self.workspace, force=force,
                            legacy=default_workspace() if app.workspace is None else None)
        except (WorkspaceError, OSError) as exc:  # e.g. the old file could not be moved to its .bak
            self.notify(str(exc), title="Scaffold", severity="error", timeout=8, markup=False)
            return
        if started.copied_from:
            self.notify(f"Copied your file from the old shared workspace ({started.copied_from}) to your own: "
                        f"{started.path}.", title="Your file", timeout=10, markup=False)
        else:
            from planner.implement import record_build_moment  # the scaffold's moment, for the build's study time

            record_build_moment(app.service, app.current_learner, self.lab_id, self.node_id, started.path, "scaffold")
            kept = f"\nYour previous file is kept as {started.backup.name}." if started.backup else ""
            self.notify(f"Wrote {started.path}.{kept}", title="Scaffold", timeout=6, markup=False)
        self.refresh_data()

    @on(Button.Pressed, "#edit")
    def action_edit(self) -> None:
        """Open the file in $VISUAL / $EDITOR, the app suspended until the editor exits; without either,
        say which file to open. Watching (t) grades every save, as with any editor."""
        path = self.path
        if not path.exists():
            self.notify("There is no file yet: press w to write the scaffold, then o to edit it.",
                        severity="warning")
            return
        command = editor_command(path)
        if command is None:
            self.notify(f"No editor is set ($VISUAL or $EDITOR): open {path} in yours. "
                        "Press t to grade every save.", title="Edit", timeout=10, markup=False)
            return
        try:
            code = self.run_editor(command)
        except SuspendNotSupported:
            self.notify(f"This terminal cannot hand the screen to an editor: open {path} in yours.",
                        title="Edit", severity="warning", timeout=10, markup=False)
            return
        except OSError as exc:  # the editor named in the variable does not exist
            self.notify(f"Could not start {command[0]}: {exc.strerror or exc}. Open {path} in your editor.",
                        title="Edit", severity="error", timeout=10, markup=False)
            return
        if code:
            self.notify(f"{command[0]} exited with status {code}.", title="Edit", severity="warning")
        self.refresh_data()

    def run_editor(self, command: list[str]) -> int:
        """Run the editor with the terminal to itself (App.suspend), and come back when it exits."""
        with self.app.suspend():
            return subprocess.run(command, check=False).returncode

    def action_cancel_grading(self) -> None:
        app: Any = self.app
        if app.live is not None and app.live.running:  # ctrl+x stops a lab run first, as everywhere
            app.action_cancel_run()
        elif app.cancel_grading():
            self._show_status()
        else:
            self.notify("Nothing is being graded.")

    @on(Button.Pressed, "#grade")
    def action_grade(self) -> None:
        if not self.path.exists():
            self.notify("There is no file to grade yet: press w to write the scaffold.", severity="warning")
            return
        self._start_grading(again_if_busy=False)

    def _start_grading(self, *, again_if_busy: bool) -> None:
        app: Any = self.app
        if app.start_grading(self.lab_id, self.node_id, again_if_busy=again_if_busy):
            self._show_status()

    @on(Button.Pressed, "#hint")
    def action_hint(self) -> None:
        from planner.implement import learner_hint

        app: Any = self.app
        try:
            hint = learner_hint(app.service, app.current_learner, self.lab_id, app.workspace)
        except DATABASE_ERRORS as exc:
            self.notify(f"Could not read your hints: {exc}", title="Database", severity="error", markup=False)
            return
        if hint.number in self.hints and hint.number == hint.total:
            self.notify(f"That was the last hint ({hint.total} of {hint.total}).")
        self.hints[hint.number] = hint.text
        panel = self.query_one("#impl-hints", VerticalScroll)
        panel.display = True
        panel.border_title = f"Hints · {max(self.hints)} of {hint.total}"
        self.query_one("#impl-hints-text", Static).update(
            "\n".join(f"[b]{n}.[/] {escape(text)}" for n, text in sorted(self.hints.items())))
        panel.scroll_end(animate=False)

    @on(Button.Pressed, "#watch")
    def action_watch(self) -> None:
        """Toggle watching: on grades once now (if there is a file), then on every change of its content."""
        self.watching = not self.watching
        self.query_one("#watch", Button).label = f"Watch t: {'on' if self.watching else 'off'}"
        if self.watching:
            self._watch(self.path, file_hash(self.path))
            if self.path.exists():
                self._start_grading(again_if_busy=True)
        else:
            self.workers.cancel_group(self, "watch")
        self._show_status()

    @work(thread=True, exclusive=True, group="watch", exit_on_error=False, name="watch file")
    def _watch(self, path: Path, last: str | None) -> None:
        """Worker thread: read the file's hash every WATCH_POLL_S; post `FileChanged` when it differs."""
        worker = get_current_worker()
        while not worker.is_cancelled:
            time.sleep(WATCH_POLL_S)
            current = file_hash(path)
            if current is not None and current != last:  # None: gone or mid-save; look again next time
                last = current
                self.post_message(FileChanged(current))

    def on_file_changed(self, message: FileChanged) -> None:
        if self.watching:
            self.refresh_data()
            self._start_grading(again_if_busy=True)

    @on(Button.Pressed, "#solution")
    def action_solution(self) -> None:
        from planner.implement import SolutionLocked

        app: Any = self.app
        try:
            source = app.service.reference_solution(app.learner, self.lab_id)
        except DATABASE_ERRORS as exc:
            self.notify(f"Could not read your attempts: {exc}", title="Database", severity="error", timeout=10,
                        markup=False)
            return
        except SolutionLocked:
            self.notify("The reference solution opens once your own file passes every check. "
                        "Stuck? n reveals a hint.", title="Solution", severity="warning", timeout=6)
            return
        app.push_screen(SolutionScreen(self.lab_id, source))


class SolutionScreen(ModalScreen[None]):
    """The reference solution, highlighted and scrollable, to compare with the learner's own."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", key_display="esc", id="solution.close")]

    def __init__(self, lab_id: str, source: str) -> None:
        super().__init__()
        self.lab_id, self.source = lab_id, source

    def compose(self) -> ComposeResult:
        from rich.syntax import Syntax

        with VerticalScroll(id="solution-body"):
            yield Static(Syntax(self.source, "python", line_numbers=True, word_wrap=True,
                                background_color="default"))
        yield Footer()

    def on_mount(self) -> None:
        body = self.query_one("#solution-body")
        body.border_title = f"Reference solution · {self.lab_id}"
        body.focus()
