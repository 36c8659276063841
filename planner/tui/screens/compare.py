"""Two attempts side by side: their curves overlaid (#a, #b in the legend) and a hyperparameter diff."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header

from planner.records import Attempt
from planner.tui.screens.base import PathLabScreen
from planner.tui.widgets.recorded_run import RecordedRunView


def params_diff(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(name, value in a, value in b) for every hyperparameter whose values differ; missing is None."""
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


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
            self.query_one(RecordedRunView).show(compare_markup(a, b), runs)
