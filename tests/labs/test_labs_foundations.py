"""The foundation labs pass at their good settings and fail, with the right explanation, when set badly
(their defaults are a beginner's mistake: tests/labs/test_naive_defaults.py)."""

from __future__ import annotations

import pytest

from labs.catalog import get_lab
from labs.catalog.gd_linear import least_squares, mse, mse_grad
from labs.datasets import make_linear
from labrun import check, good, train


def test_gd_linear_reaches_the_closed_form_optimum_at_its_good_settings():
    finished, _ = good("gd-linear")
    assert finished.status == "passed" and finished.grade.score == 100
    assert finished.metrics["loss_gap"] <= 0.01


def test_gd_linear_gradient_matches_finite_differences():
    import numpy as np
    d = make_linear(n=20, seed=5)
    w, b, h = np.array([0.3, -0.2, 0.1]), 0.4, 1e-6
    gw, gb = mse_grad(d.x, d.y, w, b)
    numeric = [(mse(d.x, d.y, w + h * e, b) - mse(d.x, d.y, w - h * e, b)) / (2 * h) for e in np.eye(3)]
    assert np.allclose(gw, numeric, rtol=1e-5)
    assert gb == pytest.approx((mse(d.x, d.y, w, b + h) - mse(d.x, d.y, w, b - h)) / (2 * h), rel=1e-5)
    w_opt, b_opt = least_squares(d.x, d.y)
    assert np.allclose(mse_grad(d.x, d.y, w_opt, b_opt)[0], 0, atol=1e-10)


@pytest.mark.parametrize("lr", ["0.2", "5"])
def test_a_diverging_rate_fails_early_and_says_why(lr):
    finished, events = train("gd-linear", lr=lr)
    assert finished.status == "failed" and finished.grade.score == 0
    assert "diverged" in finished.feedback and f"lr={float(lr):g} is too large" in finished.feedback
    assert finished.metrics["diverged_at_step"] < 300  # stopped, did not run all the steps
    assert all("nan" not in str(e) for e in events)


def test_a_rate_too_small_to_learn_fails_with_advice():
    finished, _ = train("gd-linear", lr="0.0001")
    assert finished.status == "failed"
    assert "still falling" in check(finished, "optimum").message


def test_backprop_spirals_checks_gradients_then_learns():
    finished, events = good("backprop-spirals")
    assert finished.status == "passed"
    assert finished.metrics["gradcheck_normwise"] < 1e-6 and finished.metrics["train_accuracy"] >= 0.95
    assert any(e.type == "sample" and "normwise" in e.text for e in events)


@pytest.mark.parametrize("raw", [{"hidden": 2}, {"steps": 20}])
def test_backprop_spirals_fails_when_the_net_cannot_fit(raw):
    finished, _ = good("backprop-spirals", **raw)
    assert finished.status == "failed" and check(finished, "gradcheck").status == "passed"
    assert check(finished, "train_accuracy").status == "partial"


def test_classic_vs_deep_shows_the_linear_model_failing_and_the_network_succeeding():
    finished, _ = good("classic-vs-deep")
    assert finished.status == "passed"
    assert finished.metrics["linear_val_accuracy"] < 0.7 <= 0.9 <= finished.metrics["val_accuracy"]
    short, _ = good("classic-vs-deep", steps=10)
    assert short.status == "failed"


def test_model_size_grades_estimates_against_the_built_network():
    right, _ = train("model-size", parameters=17226, flops=34048, memory_kb=68.9)
    assert right.status == "passed" and right.grade.score == 100
    wrong, _ = train("model-size", parameters=16000, flops=34048, memory_kb=68.9)
    assert wrong.status == "failed" and "too low" in check(wrong, "parameters").message
    assert "17226" not in wrong.feedback.replace(",", "")  # the answer is not given away


def test_ai_product_manager_estimates_use_the_library_count():
    from labs.nn.language_models import TinyGPT
    n = TinyGPT.count_parameters(65, 128, 4, 128)
    good, _ = train("capstone-ai-product-manager", parameters=n, train_flops=6 * n * 1e7,
                    train_memory_mb=16 * n / 1e6)
    assert good.status == "passed"
    bad, _ = train("capstone-ai-product-manager", parameters=n, train_flops=2 * n * 1e7,
                   train_memory_mb=4 * n / 1e6)
    assert bad.status == "failed" and 0 < bad.grade.score < 70
    assert check(bad, "train_flops").status != "passed" and check(bad, "train_memory_mb").status != "passed"


def test_a_check_left_unevaluated_counts_as_skipped():
    lab = get_lab("gd-linear")
    from labs.catalog.base import Outcome, RunContext
    ctx = RunContext(lab, lab.default_params(), 0, lambda e: None)
    finished = ctx.finish(Outcome(results=[ctx.check("optimum", True, "ok")]))
    assert {c.id: c.status for c in finished.grade.checks} == {"optimum": "passed", "weights": "skipped",
                                                              "descent": "skipped"}
