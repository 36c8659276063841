"""The scaling-laws picture in the TUI (issue 14, point 5): the attempt view and the live lab, once the
run has finished, draw final loss against parameters on log-log axes with the fitted law as the caption.

The run is real (the lab trains in this process, at tiny settings) and is replayed to the app and the
service in place of a worker process, so the recorded attempt is the one a real run leaves."""

from __future__ import annotations

from typing import Any

import numpy as np

from labs.catalog import get_lab
from labs.catalog._fit import ScalingPicture
from planner.service import Service
from planner.tui.widgets.scaling_plot import Log10Ticks, ScalingPlot
from tests.reports.factory import full_curriculum
from .helpers import SIZE, wait_for

TINY = {"widths": "8,12,16", "layers": 1, "steps": 15, "lr": 0.01}
_EVENTS: list[Any] = []


def real_tiny_run() -> list[Any]:
    """The events of one real scaling-laws run (trained once per test session)."""
    if not _EVENTS:
        lab = get_lab("scaling-laws")
        finished = lab.train(lab.validate_params(TINY), 0, _EVENTS.append)
        _EVENTS.append(finished)
    return list(_EVENTS)


class ReplayRun:
    """Same shape as labs.runner.LabProcess; replays the real tiny run whatever the form asked for."""

    def __init__(self, lab_id: str, params: Any, seed: int) -> None:
        self._events, self.result, self.pid = real_tiny_run(), None, 0

    def start(self) -> "ReplayRun":
        return self

    @property
    def done(self) -> bool:
        return self.result is not None

    def events(self, timeout: float | None = None) -> Any:
        while self._events and self.result is None:
            event = self._events.pop(0)
            if event.type in ("finished", "failed"):
                self.result = event
            yield event

    def cancel(self, wait_s: float = 1.0) -> Any:
        return self.result


def test_log_ticks_sit_on_round_values_and_are_labelled_with_them():
    ticks = Log10Ticks()
    positions = ticks.get_ticks(np.log10(800), np.log10(30_000))
    assert ticks.get_labels_for_ticks(positions) == ["1k", "2k", "5k", "10k", "20k"]
    narrow = ticks.get_ticks(np.log10(1.9), np.log10(2.6))
    assert all(1.9 <= 10**t <= 2.6 for t in narrow) and len(narrow) >= 2


async def test_the_attempt_view_draws_the_scaling_picture(ui_store, ada):
    from planner.tui import make_app
    from planner.tui.screens.attempt import AttemptScreen

    graph = full_curriculum()
    outcome = Service(ui_store, graph, runner_factory=ReplayRun).start_lab(ada, "scaling-laws", {}, practice=True).wait()
    attempt = ui_store.attempt(outcome.attempt_id)
    picture = ScalingPicture.from_metrics(attempt.metrics)
    assert picture is not None and len(picture.n_params) == 3
    app = make_app(ui_store, graph, runner=ReplayRun)
    app.prewarm_labs = False
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(AttemptScreen(outcome.attempt_id))
        await pilot.pause()
        plot = app.screen.query_one(ScalingPlot)
        assert plot.display and plot.border_subtitle == picture.caption()
        assert f"alpha = {picture.alpha:.2f}" in plot.border_subtitle
        assert picture.caption() in str(app.screen.query_one("#attempt-text").render())
        # what it drew: the fitted curve and the measured points, in log10 coordinates
        curve, points = plot._datasets
        assert np.allclose(points.x, np.log10(picture.n_params)) and np.allclose(points.y, np.log10(picture.losses))
        assert np.allclose(10**curve.y, picture.predict(10**curve.x))


async def test_a_gd_linear_attempt_has_no_scaling_picture(ui_store, ada):
    from planner.tui import make_app
    from planner.tui.screens.attempt import AttemptScreen

    graph = full_curriculum()
    outcome = Service(ui_store, graph).start_lab(ada, "gd-linear", {"steps": 20}, practice=True).wait()
    app = make_app(ui_store, graph)
    app.prewarm_labs = False
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(AttemptScreen(outcome.attempt_id))
        await pilot.pause()
        assert not app.screen.query_one(ScalingPlot).display


async def test_the_live_lab_draws_the_picture_when_the_run_finishes(ui_store, ada):
    from planner.tui import make_app

    app = make_app(ui_store, full_curriculum(), runner=ReplayRun)
    app.prewarm_labs = False
    async with app.run_test(size=SIZE) as pilot:
        app.open_lab("scaling-laws")
        await pilot.pause()
        plot = app.screen.query_one(ScalingPlot)
        assert not plot.display  # nothing to draw before a run
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.live is not None and not app.live.running)
        await pilot.pause()
        picture = ScalingPicture.from_metrics(app.live.finished.metrics)
        assert plot.display and plot.border_subtitle == picture.caption()

