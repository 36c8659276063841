"""One recorded attempt: its curves, its grade check by check, its hyperparameters and samples."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from planner.tui.symbols import format_duration
from planner.tui.widgets.grade_view import checks_markup
from planner.tui.widgets.metric_chart import MetricChart, is_loss


def attempt_markup(attempt: Any, checks: list[Any], samples: list[Any]) -> str:
    score = "—" if attempt.score is None else f"{attempt.score:.0f}/100"
    lines = [f"[b]#{attempt.id} {attempt.lab_id}[/] · {attempt.status} · {score}",
             f"[dim]{attempt.started_at.astimezone():%Y-%m-%d %H:%M} · {format_duration(attempt.duration_s)}"
             f" · seed {attempt.seed} · {attempt.mode}[/]", "", "[b]Hyperparameters[/]"]
    lines += [f"  {k} = {v}" for k, v in sorted(attempt.params.items())] or ["  (defaults)"]
    if checks:
        lines += ["", "[b]Grade[/]", checks_markup(checks)]
    if attempt.feedback:
        lines += ["", attempt.feedback]
    if samples:
        lines += ["", "[b]Last sample[/]", samples[-1].text]
    return "\n".join(lines)


class AttemptScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, attempt_id: int) -> None:
        super().__init__()
        self.attempt_id = attempt_id

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="lab-body"):
            with VerticalScroll(id="lab-form"):
                yield Static(id="attempt-text")
            with Vertical(id="lab-live"):
                yield MetricChart("Loss", is_loss, id="chart")
                yield MetricChart("Metrics", lambda n: not is_loss(n), id="metric-chart")
        yield Footer()

    def on_mount(self) -> None:
        store = self.app.store  # type: ignore[attr-defined]
        try:
            attempt = store.attempt(self.attempt_id)
            series = store.metric_series(self.attempt_id)
            text = attempt_markup(attempt, store.attempt_checks(self.attempt_id), store.samples(self.attempt_id))
        except Exception as exc:
            self.notify(f"Could not read attempt #{self.attempt_id}: {exc}", severity="error")
            return
        self.query_one("#attempt-text", Static).update(text)
        self.query_one("#chart", MetricChart).show(series)
        metric_chart = self.query_one("#metric-chart", MetricChart)
        metric_chart.display = any(not is_loss(n) for n in series)
        metric_chart.show(series)
