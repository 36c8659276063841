"""Two attempts side by side: their curves overlaid (#a, #b in the legend), a hyperparameter diff, and a
table of their final metrics, per-check points and durations in two columns."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header

from planner.records import Attempt
from planner.tui.screens.base import PathLabScreen
from labs.grading import CheckResult
from planner.tui.widgets.recorded_run import RecordedRunView, unit_of


def params_diff(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(name, value in a, value in b) for every hyperparameter whose values differ; missing is None."""
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def side_by_side(a: Attempt, b: Attempt, checks_a: list[CheckResult], checks_b: list[CheckResult]) -> Table:
    """The two attempts in two columns: status, score, duration, every final metric, every check's points."""
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, expand=True)
    table.add_column("", style="dim", overflow="fold", ratio=3)
    table.add_column(f"#{a.id}", justify="right", overflow="fold", ratio=2)
    table.add_column(f"#{b.id}", justify="right", overflow="fold", ratio=2)
    table.add_row("status", a.status, b.status)
    table.add_row("score", _number(a.score and round(a.score, 1)), _number(b.score and round(b.score, 1)))
    table.add_row("duration s", _number(a.duration_s), _number(b.duration_s))
    for name in sorted(set(a.metrics) | set(b.metrics)):
        table.add_row(name, _number(a.metrics.get(name)), _number(b.metrics.get(name)))
    by_id_a, by_id_b = {c.id: c for c in checks_a}, {c.id: c for c in checks_b}
    for check_id in [*by_id_a, *(i for i in by_id_b if i not in by_id_a)]:
        cells = [f"{c.points:g}/{c.max_points:g}" if c else "—" for c in (by_id_a.get(check_id), by_id_b.get(check_id))]
        table.add_row(f"check {check_id}", *cells)
    return table


def compare_markup(a: Attempt, b: Attempt) -> str:
    def score(x: Attempt) -> str:
        return "—" if x.score is None else f"{x.score:.0f}"

    lines = [f"[b]#{a.id}[/] {a.lab_id} · {a.status} · {score(a)}",
             f"[b]#{b.id}[/] {b.lab_id} · {b.status} · {score(b)}", "", "[b]Hyperparameters that differ[/]"]
    diff = params_diff(a.params, b.params)
    lines += [f"  {k}: {va if va is not None else 'default'} → {vb if vb is not None else 'default'}"
              for k, va, vb in diff] or ["  none: the same hyperparameters"]
    if a.seed != b.seed:
        lines.append(f"  seed: {a.seed} → {b.seed}")
    return "\n".join(lines)


class CompareScreen(PathLabScreen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="compare.back")]

    def __init__(self, first: int, second: int) -> None:
        super().__init__()
        self.ids = (first, second)

    def compose(self) -> ComposeResult:
        yield Header()
        yield RecordedRunView("compare-text")
        yield Footer()

    def on_mount(self) -> None:
        service = self.app.service
        with self.app.database_errors_shown("read the attempts"):
            a, b = (service.attempt(i) for i in self.ids)
            runs = [(f"#{attempt.id} ", service.metric_series(attempt.id)) for attempt in (a, b)]
            table = side_by_side(a, b, service.attempt_checks(a.id), service.attempt_checks(b.id))
            body = Group(Text.from_markup(compare_markup(a, b)), Text(""), table)
            view = self.query_one(RecordedRunView)
            view.show(body, runs, x_label=unit_of(a.lab_id, a.mode))
            view.show_layers([])  # the per-layer histograms are an attempt view's, one run at a time
