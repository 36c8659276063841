"""Experiments start from a beginner's mistake (issue 14 §1): every experiment lab's defaults differ from
its good settings and name the mistake; it declares its failure modes; and a failed run's diagnosis,
read from the run's evidence, is one of them. Real runs only for the fast labs; the 10-seed figures are
in benchmarks/CALIBRATION.md (benchmarks/calibrate_labs.py)."""

from __future__ import annotations

import math

import pytest

from labs.catalog import all_labs, get_lab
from labs.catalog.base import FailureMode
from labs.events import Progress
from labrun import good, train

ANSWER_LABS = {"model-size", "capstone-ai-product-manager"}  # estimates: the defaults are blank answers
LABS = all_labs()


def _experiment(lab) -> bool:
    return lab.id not in ANSWER_LABS


@pytest.mark.parametrize("lab", LABS, ids=[lab.id for lab in LABS])
def test_every_lab_declares_its_naive_defaults_and_failure_modes(lab):
    ids = [m.id for m in lab.failure_modes]
    assert lab.naive and all(isinstance(m, FailureMode) and m.label and m.explanation for m in lab.failure_modes)
    assert len(ids) >= 3 and len(set(ids)) == len(ids), ids
    if _experiment(lab):
        assert lab.good_settings and lab.good_params() != lab.default_params()
        assert set(lab.good_settings) <= set(lab.Params.model_fields)


@pytest.mark.parametrize(("lab_id", "raw", "mode"), [
    ("gd-linear", {}, "lr-too-large"),
    ("classic-vs-deep", {}, "too-few-hidden-units"),
    ("ffnn-digits", {"epochs": 3}, "vanishing-gradients"),  # the defaults, cut to 3 of their 30 epochs
    ("model-size", {}, "no-estimate"),
    ("capstone-ai-product-manager", {}, "no-estimate")])
def test_the_defaults_fail_and_the_diagnosis_names_the_mistake(lab_id, raw, mode):
    finished, _ = train(lab_id, **raw)
    lab = get_lab(lab_id)
    assert finished.status == "failed" and finished.diagnosis == mode
    assert mode in {m.id for m in lab.failure_modes}


@pytest.mark.parametrize("lab_id", ["gd-linear", "classic-vs-deep", "ffnn-digits"])
def test_the_good_settings_pass_without_a_diagnosis(lab_id):
    finished, _ = good(lab_id)
    assert finished.status == "passed" and finished.diagnosis is None


@pytest.mark.parametrize(("lab_id", "raw", "mode"), [
    ("gd-linear", {"lr": 0.05, "steps": 10}, "too-few-steps"),  # still falling: the evidence
    ("gd-linear", {"lr": 0.001}, "lr-too-small"),
    ("classic-vs-deep", {"hidden": 32, "steps": 100}, "too-few-steps"),
    ("ffnn-digits", {"epochs": 1}, "undertrained"),  # over the good settings: ReLU, Adam
    ("ffnn-digits", {"lr": 10.0}, "lr-too-large"),  # diverges
    ("model-size", {"parameters": 17024, "flops": 34048, "memory_kb": 68.904}, "forgot-biases"),
])
def test_other_mistakes_get_their_own_diagnosis(lab_id, raw, mode):
    lab = get_lab(lab_id)
    finished, _ = train(lab_id, **({**lab.good_settings, **raw}))
    assert finished.status == "failed" and finished.diagnosis == mode, finished.feedback


def test_the_naive_gd_linear_rate_diverges_with_its_curve_and_advice_that_works():
    finished, events = train("gd-linear")
    stop = int(finished.metrics["diverged_at_step"])
    points = [e for e in events if isinstance(e, Progress)]
    assert points[-1].step == stop and all(math.isfinite(p.metrics["train_loss"]) for p in points)
    assert f"at step {stop}" in finished.feedback and "try a smaller one, lr=0.1 (below" in finished.feedback
    again, _ = train("gd-linear", lr=0.1)  # the advice trains: the naive rate was 5x the stable bound
    assert again.status == "passed"


def test_a_diverging_language_lab_draws_its_curve_up_to_the_stop():
    lab = get_lab("transformer-chars")
    raw = {"layers": 1, "width": 16, "heads": 2, "context": 16, "steps": 40, "lr": 10.0}
    events: list = []
    finished = lab.train(lab.validate_params(raw), 0, events.append)
    stop = int(finished.metrics["diverged_at_step"])
    train_points = [e for e in events if isinstance(e, Progress) and "train_loss" in e.metrics]
    assert finished.diagnosis == "lr-too-large" and f"at step {stop}" in finished.feedback
    assert train_points and train_points[-1].step == stop
