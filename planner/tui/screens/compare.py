"""Two attempts side by side: their curves overlaid (#a, #b in the legend) and a hyperparameter diff."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from planner.tui.widgets.metric_chart import MetricChart, is_loss


def params_diff(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(name, value in a, value in b) for every hyperparameter whose values differ; missing is None."""
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def compare_markup(a: Any, b: Any) -> str:
    def score(x: Any) -> str:
        return "—" if x.score is None else f"{x.score:.0f}"

    lines = [f"[b]#{a.id}[/] {a.lab_id} · {a.status} · {score(a)}",
             f"[b]#{b.id}[/] {b.lab_id} · {b.status} · {score(b)}", "", "[b]Hyperparameters that differ[/]"]
    diff = params_diff(a.params, b.params)
    lines += [f"  {k}: {va if va is not None else 'default'} → {vb if vb is not None else 'default'}"
              for k, va, vb in diff] or ["  none: the same hyperparameters"]
    if a.seed != b.seed:
        lines.append(f"  seed: {a.seed} → {b.seed}")
    return "\n".join(lines)


class CompareScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, first: int, second: int) -> None:
        super().__init__()
        self.ids = (first, second)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="lab-body"):
            with VerticalScroll(id="lab-form"):
                yield Static(id="compare-text")
            with Vertical(id="lab-live"):
                yield MetricChart("Loss", is_loss, id="chart")
                yield MetricChart("Metrics", lambda n: not is_loss(n), id="metric-chart")
        yield Footer()

    def on_mount(self) -> None:
        store = self.app.store  # type: ignore[attr-defined]
        try:
            a, b = (store.attempt(i) for i in self.ids)
            series = [store.metric_series(i) for i in self.ids]
        except Exception as exc:
            self.notify(f"Could not read the attempts: {exc}", severity="error")
            return
        self.query_one("#compare-text", Static).update(compare_markup(a, b))
        for chart in self.query(MetricChart):
            chart.clear()
            chart.add(series[0], prefix=f"#{a.id} ")
            chart.add(series[1], prefix=f"#{b.id} ", offset=3)
        self.query_one("#metric-chart").display = any(not is_loss(n) for s in series for n in s)
