"""The dashboard: the skill map, overall progress, next up with its reason, and the target role's
readiness with a projected date. The learner's home; `m` returns here from anywhere.
"""

from __future__ import annotations

from datetime import date

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Header, Label, OptionList, ProgressBar, Static

from planner import plan
from planner.curriculum import Curriculum
from planner.plan import Recommendation
from planner.progress import NodeProgress
from planner.records import Learner
from planner.tui.screens.base import PathLabScreen
from planner.tui.symbols import STATE_LABEL, legend_markup, mastery_bar, state_markup
from planner.tui.widgets.skill_graph import SkillGraph
from planner.tui.widgets.skill_map import SkillMap


def node_details(curriculum: Curriculum, node_id: str, entry: NodeProgress | None) -> str:
    """The side panel's text for one node: what it is, where the learner stands, what is missing."""
    node = curriculum.node(node_id)
    state = entry.state if entry is not None else "locked"
    lines = [f"[b]{node.title}[/] [dim]· {node.kind} · {node.hours:g} h[/]",
             f"{state_markup(state)} {STATE_LABEL.get(state, state)}"]
    if entry is not None and entry.mastery != "none":
        best = f" · best {entry.best_score:.0f}/100" if entry.best_score is not None else ""
        lines[-1] += f" · {mastery_bar(entry.mastery)} {entry.mastery}{best}"
    if state == "locked":
        missing = [curriculum.node(m).title if m in curriculum.nodes else m
                   for m in (getattr(entry, "missing", None) or plan.prerequisites(node))]
        lines.append(f"[$warning]Needs first:[/] {', '.join(missing)}")
    elif node.summary:
        lines.append(f"[dim]{node.summary}[/]")
    return "\n".join(lines)


def next_up_text(recommendations: list[Recommendation]) -> str:
    if not recommendations:
        return "Nothing is open right now: everything on the map is done or locked."
    return "\n".join(f"[b]{i}.[/] {r.title} [dim]({r.hours:g} h): {r.reason}[/]"
                     for i, r in enumerate(recommendations, 1))


def reviews_text(curriculum: Curriculum, due: list) -> str:
    if not due:
        return ""
    titles = [curriculum.node(r.node_id).title if r.node_id in curriculum.nodes else r.node_id for r in due]
    shown = ", ".join(titles[:3]) + (f" and {len(titles) - 3} more" if len(titles) > 3 else "")
    return f"[b]{len(due)} review{'s' if len(due) != 1 else ''} due[/]: {shown}\n[dim]Press r to start one.[/]"


def role_text(curriculum: Curriculum, progress: dict[str, NodeProgress], learner: Learner, today: date) -> str:
    """Readiness, hours left and the projected date for the learner's target role."""
    if not learner.target_role:
        return "No target role yet: press p to choose one."
    projection = plan.projection(curriculum, progress, learner.target_role, learner.hours_per_week, today)
    path, finish = projection.path, projection.finish
    text = (f"[b]{path.title}[/]\nReadiness {path.readiness:.0%} · {len(path.steps)} nodes, "
            f"{path.remaining_hours:g} h left")
    if learner.hours_per_week and finish:
        text += f"\nAt {learner.hours_per_week:g} h/week: [b]{finish:%d %b %Y}[/]"
    return text


class DashboardScreen(PathLabScreen[None]):
    BINDINGS = [
        Binding("enter", "open_node", "Open node", show=True, id="map.open-node"),
        Binding("n", "next_up", "Next up", id="map.next-up"),
        Binding("v", "toggle_view", "Graph/list", id="map.toggle-view"),
        Binding("r", "review", "Review", id="map.review"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._recommendations: list[Recommendation] = []
        self._reviews_due: list = []  # planner.review.ReviewDue, most overdue first

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="overall"):
            yield Label("Overall", id="overall-label")
            yield ProgressBar(id="overall-bar", show_eta=False)
            yield Label(id="overall-count")
        with Horizontal(id="dash-body"):
            with Vertical(id="map-pane"):
                yield SkillGraph(self.app.curriculum, id="skill-graph")
                yield SkillMap(self.app.curriculum, id="skill-map")
                yield Static(id="node-detail")
                yield Static(legend_markup(), id="legend")
            with VerticalScroll(id="side"):
                yield Static(id="reviews", classes="panel")
                yield Static(id="role", classes="panel")
                yield Static(id="next-up", classes="panel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#next-up").border_title = "Next up"
        self.query_one("#role").border_title = "Target role"
        self.query_one("#reviews").border_title = "Reviews"
        self.query_one("#reviews").display = False  # until refresh_data finds one due
        self.refresh_data()
        self._show_view()

    @property
    def _map(self) -> SkillGraph | SkillMap:
        """The skill map the learner chose: the graph (the default) or the list."""
        return self.query_one(SkillGraph) if self.app.map_view == "graph" else self.query_one(SkillMap)

    def _show_view(self) -> None:
        graph = self.app.map_view == "graph"
        self.query_one(SkillGraph).display = graph
        self.query_one(SkillMap).display = not graph
        self._map.focus()

    def action_toggle_view(self) -> None:
        """Switch between the graph and the list, on the same node; remembered for the session."""
        node = self._map.highlighted_node
        self.app.map_view = "list" if self.app.map_view == "graph" else "graph"
        self._map.select_node(node)
        self._show_view()
        self._show_node(node)

    def refresh_data(self) -> None:
        """Redraw from the learner's current progress (called by the app after anything is recorded)."""
        app = self.app
        if app.learner is None:
            return
        try:
            progress = app.progress()
        except Exception as exc:
            self.notify(f"Could not read progress: {exc}", severity="error", markup=False)
            return
        curriculum = app.curriculum
        skills = [n.id for n in curriculum.skills]
        done = sum(1 for n in skills if getattr(progress.get(n), "state", "") == "completed")
        self.query_one("#overall-bar", ProgressBar).update(total=len(skills), progress=done)
        self.query_one("#overall-count", Label).update(f"{done}/{len(skills)} skills")
        self.query_one(SkillMap).show(progress)
        self.query_one(SkillGraph).show(progress)
        self._recommendations = plan.next_up(curriculum, progress, app.learner.target_role)
        self.query_one("#next-up", Static).update(next_up_text(self._recommendations))
        self.query_one("#role", Static).update(role_text(curriculum, progress, app.learner, app.today()))
        self._show_reviews(progress)
        self._show_node(self._map.highlighted_node)

    @on(OptionList.OptionHighlighted, "#skill-map")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_node(event.option.id)

    def _show_node(self, node_id: str | None) -> None:
        app = self.app
        if node_id is None or node_id not in app.curriculum.nodes:
            return
        entry = None
        with app.database_errors_shown("read your progress"):
            entry = app.progress().get(node_id)
        self.query_one("#node-detail", Static).update(node_details(app.curriculum, node_id, entry))

    @on(SkillGraph.NodeHighlighted)
    def _graph_highlighted(self, event: SkillGraph.NodeHighlighted) -> None:
        self._show_node(event.node_id)

    @on(SkillGraph.NodeSelected)
    def _graph_selected(self, event: SkillGraph.NodeSelected) -> None:
        self.app.open_node(event.node_id)

    @on(OptionList.OptionSelected, "#skill-map")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None and event.option.id in self.app.curriculum.nodes:
            self.app.open_node(event.option.id)

    def action_open_node(self) -> None:
        node_id = self._map.highlighted_node
        if node_id:
            self.app.open_node(node_id)

    def _show_reviews(self, progress: dict[str, NodeProgress]) -> None:
        """'2 reviews due: Gradient descent, ...  r to start'; hidden when none is due."""
        self._reviews_due = []
        with self.app.database_errors_shown("read your reviews"):
            self._reviews_due = self.app.service.reviews_due(self.app.learner, progress=progress)
        panel = self.query_one("#reviews", Static)
        panel.display = bool(self._reviews_due)
        panel.update(reviews_text(self.app.curriculum, self._reviews_due))

    def action_review(self) -> None:
        """Start the most overdue review (the quiz screen, asking the review's short draw)."""
        if not self._reviews_due:
            self.notify("No review due: completed nodes come back for review a few days after.")
            return
        from planner.tui.screens.review import ReviewScreen

        self.app.push_screen(ReviewScreen(self._reviews_due[0].node_id))

    def action_next_up(self) -> None:
        if self._recommendations:
            self.app.open_node(self._recommendations[0].node_id)
        else:
            self.notify("Nothing is open right now.")
