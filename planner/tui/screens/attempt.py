"""One recorded attempt: its curves, its grade check by check, its hyperparameters and samples."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.widgets import Footer, Header

from labs.catalog._fit import ScalingPicture
from labs.catalog._layerstats import decode as decode_layer_stats
from labs.catalog._layerstats import is_layer_stats
from labs.grading import CheckResult
from planner.records import Attempt, SampleRow
from planner.tui.screens.base import PathLabScreen
from planner.tui.symbols import format_duration
from planner.tui.widgets.grade_view import checks_markup
from planner.tui.widgets.recorded_run import RecordedRunView, unit_of


def attempt_markup(attempt: Attempt, checks: list[CheckResult], samples: list[SampleRow]) -> str:
    score = "—" if attempt.score is None else f"{attempt.score:.0f}/100"
    lines = [f"[b]#{attempt.id} {attempt.lab_id}[/] · {attempt.status} · {score}",
             f"[dim]{attempt.started_at.astimezone():%Y-%m-%d %H:%M} · {format_duration(attempt.duration_s)}"
             f" · seed {attempt.seed} · {attempt.mode}[/]", "", "[b]Hyperparameters[/]"]
    lines += [f"  {k} = {escape(str(v))}" for k, v in sorted(attempt.params.items())] or ["  (defaults)"]
    if checks:
        lines += ["", "[b]Grade[/]", checks_markup(checks)]
    if attempt.feedback:
        lines += ["", escape(attempt.feedback)]  # a traceback may hold [ ]
    picture = ScalingPicture.from_metrics(attempt.metrics)
    if picture is not None:
        lines += ["", "[b]Scaling law[/]", escape(picture.caption())]
    texts = [s for s in samples if not is_layer_stats(s.text)]  # deep-nets' histograms are drawn, not printed
    if texts:
        lines += ["", "[b]Last sample[/]", escape(texts[-1].text)]
    return "\n".join(lines)


class AttemptScreen(PathLabScreen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="attempt.back"),
                Binding("left_square_bracket", "layers(-1)", "Earlier layers", show=False, id="attempt.layers_earlier"),
                Binding("right_square_bracket", "layers(1)", "Later layers", show=False, id="attempt.layers_later")]

    def __init__(self, attempt_id: int) -> None:
        super().__init__()
        self.attempt_id = attempt_id

    def compose(self) -> ComposeResult:
        yield Header()
        yield RecordedRunView("attempt-text")
        yield Footer()

    def on_mount(self) -> None:
        service = self.app.service
        with self.app.database_errors_shown(f"read attempt #{self.attempt_id}"):
            attempt = service.attempt(self.attempt_id)
            samples = service.attempt_samples(self.attempt_id)
            text = attempt_markup(attempt, service.attempt_checks(self.attempt_id), samples)
            picture = ScalingPicture.from_metrics(attempt.metrics)  # None unless a scaling-laws run
            self.query_one(RecordedRunView).show(text, [("", service.metric_series(self.attempt_id))], picture,
                                                 x_label=unit_of(attempt.lab_id, attempt.mode))
            snapshots = [snap for s in samples if (snap := decode_layer_stats(s.text)) is not None]
            self.query_one(RecordedRunView).show_layers(snapshots)  # deep-nets: [ and ] step through them

    def action_layers(self, delta: int) -> None:
        """Step the per-layer histograms to an earlier or later epoch (a deep-nets attempt)."""
        from planner.tui.widgets.layer_histograms import LayerHistograms

        self.query_one(LayerHistograms).step(delta)
