"""The HTML report draws a scaling-laws run's final loss against parameters, log-log, with the fitted law
(issue 14, point 5): inline SVG, no script."""

from __future__ import annotations

import re

import numpy as np

from labs.catalog import get_lab
from labs.catalog._fit import ScalingPicture
from planner.reports import render_report
from planner.reports.svg import scaling_chart

TINY = {"widths": "8,12,16", "layers": 1, "steps": 15, "lr": 0.01}
PICTURE = ScalingPicture(n_params=[2_000.0, 8_000.0, 32_000.0], losses=[3.0, 2.6, 2.3], E=1.5, A=20.0, alpha=0.3)


def _circles(svg: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r'<circle class="measured" cx="([\d.]+)" cy="([\d.]+)"', svg)]


def test_the_chart_places_points_on_log_log_axes_with_the_fitted_curve():
    svg = scaling_chart(PICTURE)
    (x1, y1), (x2, y2), (x3, y3) = _circles(svg)
    # N quadruples each time: equal steps on a log axis; loss falls: each point higher on the page
    assert abs((x2 - x1) - (x3 - x2)) < 0.2 and y1 < y2 < y3
    fit = re.search(r'<polyline class="fit" points="([^"]+)"', svg).group(1).split()
    assert len(fit) == 60
    assert "alpha = 0.30" in svg and "E = 1.50" in svg and "log scale" in svg
    assert ">2k<" in svg and ">10k<" in svg  # round-value ticks labelled with N, not log10 N


def test_a_recorded_scaling_run_gets_its_picture_in_the_html_report(store, full_graph):
    lab = get_lab("scaling-laws")
    finished = lab.train(lab.validate_params(TINY), 0, lambda e: None)
    ada = store.add_learner("Ada", target_role="research-scientist", hours_per_week=3)
    attempt_id = store.start_attempt(ada.id, "scaling-laws", "scaling", mode="practice", params=TINY, seed=0,
                                     pid=None, app_version="test")
    store.finish_attempt(attempt_id, status=finished.status, score=finished.grade.score,
                         passed=finished.status == "passed", metrics=finished.metrics, feedback=finished.feedback,
                         checks=finished.grade.checks, duration_s=finished.duration_s)
    picture = ScalingPicture.from_metrics(finished.metrics)
    html = render_report(store, full_graph, ada, "html")
    assert "<script" not in html.lower()
    figure = re.search(r'<svg class="chart scaling".*?</svg>', html).group(0)
    assert len(_circles(figure)) == 3 and picture.caption() in figure
    assert np.isclose(picture.alpha, finished.metrics["alpha"])


def test_other_labs_get_no_scaling_picture(store, full_graph):
    ada = store.add_learner("Ada", target_role="data-scientist", hours_per_week=3)
    attempt_id = store.start_attempt(ada.id, "gd-linear", "gradient-descent", mode="practice", params={}, seed=0,
                                     pid=None, app_version="test")
    store.finish_attempt(attempt_id, status="passed", score=100.0, passed=True, metrics={"train_loss": 0.24},
                         feedback="", checks=[], duration_s=1.0)
    assert 'class="chart scaling"' not in render_report(store, full_graph, ada, "html")
