"""Digit labs and capstones at tiny configurations: the cheap ones at their good settings (a real pass),
the expensive ones cut down so they must fail, each for the reason the grade names."""

from __future__ import annotations

import numpy as np

from labrun import check, good, train
from labs.catalog._digits import random_shifts
from labs.catalog.capstone_data_scientist import wilson_interval
from labs.catalog.capstone_research_scientist import ArmSummary, effect_and_error


def test_ffnn_digits_passes_at_its_good_settings_and_emits_per_epoch_curves():
    finished, events = good("ffnn-digits", seed=1)
    assert finished.status == "passed" and finished.metrics["test_accuracy"] >= 0.965
    names = {n for e in events if e.type == "progress" for n in e.metrics}
    assert {"train_loss", "val_loss", "val_accuracy", "test_accuracy"} <= names


def test_ffnn_digits_one_epoch_of_sgd_fails_with_partial_or_no_credit():
    finished, _ = good("ffnn-digits", epochs=1, optimizer="sgd", lr=0.01)
    assert finished.status == "failed"
    assert check(finished, "test_accuracy").status == "failed"
    assert "not judged" in check(finished, "generalisation").message


def test_cnn_digits_cut_short_fails_and_still_compares_with_the_mlp():
    finished, events = train("cnn-digits", filters1=4, filters2=0, hidden=0, epochs=1, lr=0.0005)
    assert finished.status == "failed" and finished.metrics["test_accuracy"] < 0.97
    assert "mlp_shifted_accuracy" in finished.metrics
    assert any(e.type == "sample" and "shifted" in e.text for e in events)


def test_ml_engineer_capstone_rejects_an_mlp_below_the_bar():
    finished, _ = train("capstone-ml-engineer", model="mlp", hidden=32, epochs=3)
    assert finished.status == "failed"
    assert check(finished, "time_budget").status == "passed"
    assert check(finished, "test_accuracy").status != "passed"


def test_cv_engineer_capstone_with_a_token_convnet_fails():
    finished, _ = train("capstone-cv-engineer", filters1=2, filters2=0, hidden=0, epochs=1, augment=False)
    assert finished.status == "failed" and check(finished, "test_accuracy").status != "passed"


def test_random_shifts_only_translate():
    rng = np.random.default_rng(0)
    x = np.zeros((50, 64), dtype=np.float32)
    x[:, 27] = 1.0  # one lit pixel in the middle of every image
    out = random_shifts(x, rng)
    assert np.all(out.sum(axis=1) == 1.0)
    moved = np.flatnonzero(out.argmax(axis=1) != 27)
    assert 0 < len(moved) < 50 and set(out.argmax(axis=1)) <= {27, 26, 28, 19, 35}


def test_research_capstone_needs_replication():
    one, _ = train("capstone-research-scientist", seeds=1, epochs=2)
    assert one.status == "failed" and check(one, "replicated").status == "failed"
    three, _ = train("capstone-research-scientist", seeds=3, epochs=8, factor="width")
    assert check(three, "replicated").status == "passed"
    assert "mean +- std" in three.feedback and three.metrics["effect"] > 0  # 128 units beat 16


def test_effect_standard_error_is_welch():
    on, off = ArmSummary(name="on", accuracies=[0.9, 0.92, 0.94]), ArmSummary(name="off", accuracies=[0.9, 0.9, 0.9])
    effect, se = effect_and_error(on, off)
    assert abs(effect - 0.02) < 1e-12
    assert abs(se - 0.02 / np.sqrt(3)) < 1e-12


def test_data_scientist_capstone_demands_a_big_enough_holdout():
    passed, _ = good("capstone-data-scientist")
    assert passed.status == "passed"
    assert passed.metrics["val_accuracy_low"] > passed.metrics["linear_val_accuracy_high"]
    small, _ = good("capstone-data-scientist", val_fraction=0.05)
    assert small.status == "failed" and check(small, "precise").status == "failed"


def test_wilson_interval_is_sane_at_the_edges():
    lo, hi = wilson_interval(30, 30)
    assert hi == 1.0 and 0.85 < lo < 0.9
    lo, hi = wilson_interval(50, 100)
    assert abs((lo + hi) / 2 - 0.5) < 1e-12 and 0.19 < hi - lo < 0.2


def test_mlops_capstone_passes_reproducibility_round_trip_and_latency():
    finished, _ = good("capstone-mlops-engineer", epochs=10)
    for check_id in ("reproducible", "round_trip", "latency"):
        assert check(finished, check_id).status == "passed", check_id
