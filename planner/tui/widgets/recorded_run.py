"""The body the attempt and compare screens share: a text panel on the left (the grade, the
hyperparameters), the loss and metric charts on the right, one or two recorded runs drawn in them,
and for a scaling-laws run the log-log picture of final loss against parameters (`ScalingPlot`)."""

from __future__ import annotations

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from labs.catalog._fit import ScalingPicture
from labs.catalog._layerstats import LayerSnapshot
from planner.tui.widgets.layer_histograms import LayerHistograms
from planner.tui.widgets.metric_chart import MetricChart, is_loss
from planner.tui.widgets.scaling_plot import ScalingPlot

Series = dict[str, list[tuple[int, float]]]


class RecordedRunView(Horizontal):
    """`show(text, [(label, series), ...])` draws the text and every run's curves (labelled by
    `label`, e.g. '#12 ', so two attempts can be told apart in the legend)."""

    def __init__(self, text_id: str) -> None:
        super().__init__(id="lab-body")  # the lab screen's ids: one stylesheet lays out all three
        self.text_id = text_id

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="lab-form"):
            yield Static(id=self.text_id)
        with Vertical(id="lab-live"):
            yield MetricChart("Loss", is_loss, id="chart")
            yield MetricChart("Metrics", lambda n: not is_loss(n), id="metric-chart")
            yield ScalingPlot(id="scaling-plot")
            yield LayerHistograms(id="layer-hist")

    def show(self, text: str | RenderableType, runs: list[tuple[str, Series]],
             picture: ScalingPicture | None = None, x_label: str = "step") -> None:
        """`picture`: the scaling-laws run's loss against size, drawn under the loss chart (else hidden);
        `x_label`: what the curves' x axis counts (the lab's unit, as the live lab screen labels it)."""
        self.query_one(f"#{self.text_id}", Static).update(text)
        for chart in self.query(MetricChart):
            chart.clear()
            chart.set_xlabel(x_label)
            for index, (label, series) in enumerate(runs):
                chart.add(series, prefix=label, offset=3 * index)  # each run its own colours
        self.query_one("#metric-chart").display = any(not is_loss(n) for _, series in runs for n in series)
        plot = self.query_one(ScalingPlot)
        plot.display = picture is not None
        if picture is not None:
            plot.show(picture)

    def show_layers(self, snapshots: list[LayerSnapshot]) -> None:
        """A deep-nets run's per-layer histograms (the newest first shown; hidden when there are none)."""
        hist = self.query_one(LayerHistograms)
        hist.display = bool(snapshots)
        hist.show(snapshots)


def unit_of(lab_id: str, mode: str) -> str:
    """What a recorded attempt's curves count on their x axis: a build's training check counts steps; an
    experiment, its lab's unit (step or epoch)."""
    if mode == "implement":
        return "step"
    from labs.catalog import get_lab

    try:
        return get_lab(lab_id).unit
    except KeyError:  # a lab this version no longer has
        return "step"
