"""The welcome: on a fresh database (or from the learner switcher) ask a name, a target role and
hours per week, then open the dashboard. Nothing else is needed to start learning.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static

from planner.plan import role_path
from planner.tui.screens.base import PathLabScreen

MIN_HOURS, MAX_HOURS = 0.5, 80.0
READINESS_HELP = (
    "Readiness is the share of the role's skill hours you have completed; it starts at 0% "
    "and the plan screen (p) shows it rising."
)


def parse_hours(text: str) -> float:
    """Hours per week from the form, or ValueError with a message the learner can act on."""
    try:
        hours = float(text.strip())
    except ValueError:
        raise ValueError(f"hours per week must be a number, got {text.strip()!r}") from None
    if not MIN_HOURS <= hours <= MAX_HOURS:
        raise ValueError(f"hours per week must be between {MIN_HOURS:g} and {MAX_HOURS:g}, got {hours:g}")
    return hours


class WelcomeScreen(PathLabScreen[None]):
    BINDINGS = [Binding("ctrl+s", "create", "Start learning", id="welcome.create")]

    def __init__(self, can_go_back: bool = False) -> None:
        super().__init__()
        self.can_go_back = can_go_back

    def compose(self) -> ComposeResult:
        roles = [(role.title, role.id) for role in self.app.curriculum.roles]
        yield Header()
        with VerticalScroll(id="welcome"):
            yield Static("Welcome to PathLab", classes="title")
            yield Static("Learn AI from first principles: read, answer, and train real networks. "
                         "Three answers and you are in.", classes="muted")
            yield Label("Your name")
            yield Input(placeholder="e.g. Ada", id="name", compact=True)
            yield Label("Target role")
            yield Select(roles, id="role", allow_blank=False, value=roles[0][1], compact=True)
            yield Static(id="role-help")
            yield Label("Hours per week")
            yield Input("5", id="hours", type="number", compact=True)
            yield Static(id="welcome-error")
            yield Button("Start learning", id="create", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        if self.can_go_back:
            self._bindings.bind("escape", "app.pop_screen", "Back")
        self._describe_role(self.query_one("#role", Select).value)
        self.query_one("#name", Input).focus()

    @on(Select.Changed, "#role")
    def _role_changed(self, event: Select.Changed) -> None:
        self._describe_role(event.value)

    def _describe_role(self, role_id: object) -> None:
        curriculum = self.app.curriculum
        if not isinstance(role_id, str):
            return
        role = curriculum.node(role_id)
        path = role_path(curriculum, {}, role_id)
        self.query_one("#role-help", Static).update(
            f"{role.summary or role.description}\n"
            f"Path: {len(path.steps)} nodes, about {path.remaining_hours:g} hours. {READINESS_HELP}"
        )

    @on(Input.Submitted)
    @on(Button.Pressed, "#create")
    def action_create(self) -> None:
        error = self.query_one("#welcome-error", Static)
        name = self.query_one("#name", Input).value.strip()
        try:
            if not name:
                raise ValueError("please enter a name")
            hours = parse_hours(self.query_one("#hours", Input).value)
            role = str(self.query_one("#role", Select).value)  # allow_blank=False: always a role id
            learner = self.app.service.add_learner(name, target_role=role, hours_per_week=hours)
        except ValueError as exc:  # the message quotes what was typed, which may hold [ ]
            error.update(escape(str(exc)))
            return
        except Exception as exc:  # e.g. the name is taken, or the database is read-only
            error.update(f"Could not create the learner: {escape(str(exc))}")
            return
        self.app.set_learner(learner)
