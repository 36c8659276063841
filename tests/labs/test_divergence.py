"""A diverging run shows its curve up to the stop, names the step, and advises a rate known to be stable
(issue 14, point 2)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from labs.catalog import get_lab
from labs.catalog.gd_linear import DATA_SEED, round_down, step_size_bound
from labs.datasets import make_linear
from labs.events import Progress
from planner.service import Service
from labrun import good, train


def advised_rate(feedback: str) -> float:
    return float(re.search(r"try a smaller one, lr=([0-9.e+-]+) ", feedback).group(1))


def test_the_step_bound_is_two_over_the_largest_hessian_eigenvalue():
    x = make_linear(n=200, n_features=3, noise=0.5, seed=DATA_SEED).x
    bound = step_size_bound(x)
    # Power iteration on the Hessian (2/N)[x 1]^T[x 1], independent of eigvalsh.
    design = np.column_stack([x, np.ones(len(x))])
    h, v = 2 * design.T @ design / len(x), np.ones(4)
    for _ in range(500):
        v = h @ v / np.linalg.norm(h @ v)
    assert bound == pytest.approx(2 / (v @ h @ v), rel=1e-9)
    assert 0.05 < bound < 0.2  # this data: lambda_max ~ 17


def test_round_down_keeps_two_significant_figures_below_the_value():
    assert round_down(0.10479) == 0.1 and round_down(0.1187) == 0.11 and round_down(2.349) == 2.3
    assert round_down(0.09999) == 0.099


@pytest.mark.parametrize("lr", [5.0, 0.2])
def test_a_diverging_gd_linear_run_emits_its_curve_up_to_the_stop(lr):
    finished, events = train("gd-linear", lr=lr)
    points = [(e.step, e.metrics["train_loss"]) for e in events if isinstance(e, Progress)]
    stop = int(finished.metrics["diverged_at_step"])
    assert finished.status == "failed"
    assert len(points) >= 3 and points[0] == (0, pytest.approx(points[0][1]))
    assert all(math.isfinite(v) for _, v in points)
    assert points[-1][0] == stop  # the point where it stopped is drawn
    assert points[-1][1] > 1e6 * points[0][1]  # and it is large: the curve shows the explosion
    assert f"at step {stop}" in finished.feedback


def test_the_advice_is_below_the_bound_and_a_real_run_at_it_does_not_diverge():
    finished, _ = train("gd-linear", lr=5.0)
    rate = advised_rate(finished.feedback)
    bound = step_size_bound(make_linear(n=200, n_features=3, noise=0.5, seed=DATA_SEED).x)
    assert rate == round_down(0.9 * bound) and "2/lambda_max" in finished.feedback
    assert "lr=0.5" not in finished.feedback  # the old "divide by 10", which diverges too
    again, events = train("gd-linear", lr=rate)
    assert "diverged_at_step" not in again.metrics and again.status == "passed", again.feedback
    assert len([e for e in events if isinstance(e, Progress)]) > 50


def test_a_generic_lab_advises_its_calibrated_good_rate():
    lab = get_lab("ffnn-digits")  # its defaults are a mistake (sigmoids and SGD): the good settings' rate
    finished, _ = good("ffnn-digits", lr=10.0)
    assert finished.status == "failed" and "diverged" in finished.feedback
    assert advised_rate(finished.feedback) == lab.good_settings["lr"] and "calibrated" in finished.feedback


def test_the_service_records_the_diverged_curve(store, curriculum):
    graph = curriculum
    ada = store.add_learner("Ada", target_role="data-scientist", hours_per_week=3)
    outcome = Service(store, graph).start_lab(ada, "gd-linear", {"lr": 5}, seed=0, practice=True).wait()
    attempt = store.attempts(ada.id)[0]
    series = store.metric_series(attempt.id)["train_loss"]
    assert attempt.status == "failed" and "at step 2" in attempt.feedback, outcome
    assert [s for s, _ in series] == [0, 1, 2] and series[-1][1] > 1e6


def test_the_live_status_shows_the_step_where_it_stopped():
    from planner.tui.live_run import LiveRun

    finished, events = train("gd-linear", lr=5.0)
    live = LiveRun(lab_id="gd-linear")
    for event in events + [finished]:
        live.apply(event)
    assert live.position_text() == f"step {int(finished.metrics['diverged_at_step'])}/300"
    assert len(live.series["train_loss"]) >= 3


def test_a_diverging_classifier_run_draws_its_last_epoch_and_the_advised_rate_trains():
    finished, events = good("ffnn-digits", lr=10.0)
    points = [e for e in events if isinstance(e, Progress)]
    assert finished.status == "failed" and "diverged_at_step" in finished.metrics
    assert [(p.epoch, p.split) for p in points] == [(1, "train")]  # the epoch it stopped in, drawn
    assert math.isfinite(points[0].metrics["train_loss"]) and points[0].metrics["train_loss"] > 100  # chance: 2.3
    again, _ = good("ffnn-digits", lr=advised_rate(finished.feedback))
    assert "diverged_at_step" not in again.metrics and again.status == "passed", again.feedback
