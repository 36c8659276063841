"""Roles and plan: every role with readiness; for the target role the remaining path with hours and a
projected date. The target role and hours per week change here, in place.
"""

from __future__ import annotations

from datetime import date

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Select, Static

from planner import plan
from planner.curriculum import Curriculum
from planner.progress import NodeProgress
from planner.records import Learner
from planner.tui.screens.base import PathLabScreen
from planner.tui.screens.welcome import parse_hours
from planner.tui.symbols import STATE_LABEL, state_markup


def readiness_bar(readiness: float, width: int = 10) -> str:
    filled = round(readiness * width)
    return "█" * filled + "░" * (width - filled) + f" {readiness:>4.0%}"


def path_markup(curriculum: Curriculum, progress: dict[str, NodeProgress], learner: Learner, today: date) -> str:
    """The target role's remaining steps in order, with hours, what each still needs, and the date."""
    if learner.target_role is None:
        return "Choose a target role above."
    projection = plan.projection(curriculum, progress, learner.target_role, learner.hours_per_week, today)
    path, pace, finish = projection.path, projection.pace, projection.finish
    lines = [f"[b]Path to {path.title}[/] · readiness {path.readiness:.0%} · {path.remaining_hours:g} h left"]
    if learner.hours_per_week and finish:
        basis = f"your measured pace ×{pace:.2f}" if pace else "the estimates"
        lines.append(f"Projected: [b]{finish:%d %b %Y}[/] at {learner.hours_per_week:g} h/week ({basis})")
    lines.append("")
    for number, step in enumerate(path.steps, 1):
        needs = f"  [dim]needs {', '.join(step.missing)}[/]" if step.missing and step.state == "locked" else ""
        lines.append(f"{number:>2}. {state_markup(step.state)} {step.title} [dim]({step.hours:g} h, "
                     f"{STATE_LABEL.get(step.state, step.state)})[/]{needs}")
    if not path.steps:
        lines.append("[$success]Every node on this path is complete.[/]")
    return "\n".join(lines)


class PlanScreen(PathLabScreen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="plan.back"), Binding("ctrl+s", "save", "Save", priority=True, id="plan.save")]

    def compose(self) -> ComposeResult:
        app = self.app
        learner = app.current_learner
        roles = [(role.title, role.id) for role in app.curriculum.roles]
        yield Header()
        with Horizontal(id="plan-controls"):
            yield Label("Target ")
            yield Select(roles, id="target", allow_blank=False, compact=True,
                         value=learner.target_role or roles[0][1])
            yield Label(" h/week ")
            yield Input(f"{learner.hours_per_week or 5:g}", id="hours", compact=True)
            yield Button("Save ^s", id="save", compact=True)
        yield DataTable(id="roles-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="plan-path", classes="panel"):
            yield Static(id="path-text")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Role", "Readiness", "Hours left", "Capstone")
        self.query_one("#plan-path").border_title = "Your path"
        with self.app.database_errors_shown("read your progress"):
            self.refresh_data()
        table.focus()

    def refresh_data(self) -> None:
        app = self.app
        learner = app.current_learner
        progress = app.progress()
        table = self.query_one(DataTable)
        table.clear()
        for role in plan.roles_overview(app.curriculum, progress):
            target = " ◀ target" if role.role_id == learner.target_role else ""
            table.add_row(role.title + target, readiness_bar(role.readiness), f"{role.remaining_hours:g}",
                          f"{state_markup(role.state)} {STATE_LABEL.get(role.state, role.state)}",
                          key=role.role_id)
        self.query_one("#path-text", Static).update(path_markup(app.curriculum, progress, learner, app.today()))

    @on(DataTable.RowSelected)
    def _role_chosen(self, event: DataTable.RowSelected) -> None:
        """Enter on a role makes it the choice in the target box (saved with ctrl+s)."""
        if event.row_key.value is not None:
            self.query_one("#target", Select).value = event.row_key.value

    @on(Input.Submitted, "#hours")
    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        app = self.app
        try:
            hours = parse_hours(self.query_one("#hours", Input).value)
            role = str(self.query_one("#target", Select).value)  # allow_blank=False: always a role id
            app.service.set_goal(app.current_learner, target_role=role, hours_per_week=hours)
        except ValueError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        except Exception as exc:  # a busy or read-only database: say so, keep the form as typed
            self.notify(f"Could not save: {exc}", severity="error", markup=False)
            return
        app.reload_learner()
        self.notify(f"Target {app.curriculum.node(role).title}, {hours:g} h/week saved.")
