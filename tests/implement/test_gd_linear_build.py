"""The gd-linear build through the real grader: the reference earns 100, the scaffold 0, and each classic
mistake (in the MSE gradient, the update, the stopping rule) costs exactly its check, with a message that
names it."""

from __future__ import annotations

import pytest

from labs.implement.checks import gd_linear as checks
from labs.implement.tasks import STRUCTURE, TRAIN
from tests.implement.helpers import graded_reference, assert_costs_exactly, train_reports, by_id, grade_source, scaffold_source, with_mistake

LAB = "gd-linear"


def test_reference_earns_100_and_fits_within_one_percent_of_least_squares(tmp_path):
    result = graded_reference(LAB)
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    assert result.metrics["loss_gap"] <= 0.01
    assert "converged" in by_id(result)[TRAIN].message


def test_untouched_scaffold_scores_zero(tmp_path):
    result = grade_source(tmp_path, LAB, scaffold_source(LAB))
    checks = by_id(result)
    assert result.grade.score == 0
    assert "start with mse_loss" in checks[STRUCTURE].message
    assert checks["gradient:mse_gradient"].message == "mse_gradient is not written yet"
    assert checks[TRAIN].status == "skipped"


MISTAKES = [
    # (name, line in the reference, the mistake, check it breaks, words the message must contain)
    ("missing 2", "dw = 2.0 * X.T @ residual / n", "dw = X.T @ residual / n", "gradient:mse_gradient",
     ["mse_gradient: dw", "the factor 2 is missing"]),
    ("missing 1/N", "dw = 2.0 * X.T @ residual / n", "dw = 2.0 * X.T @ residual", "gradient:mse_gradient",
     ["dw", "the 1/N of the mean is missing"]),
    ("residual sign", "residual = X @ w + b - y", "residual = y - (X @ w + b)", "gradient:mse_gradient",
     ["dw", "db", "opposite sign"]),
    ("transposed X", "dw = 2.0 * X.T @ residual / n", "dw = 2.0 * X @ residual / n", "gradient:mse_gradient",
     ["X is used where its transpose belongs"]),
    ("update goes up", "return w - lr * dw, float(b - lr * db)", "return w + lr * dw, float(b + lr * db)",
     "forward:gd_step", ["gd_step's w", "goes UP the gradient"]),
    ("no tolerance stop", "if abs(losses[-1] - losses[-2]) < tol:", "if False:", "forward:gradient_descent",
     ["lr=0.1, tol=1e-06 stopped after 10000 steps saying 'max_steps'", "'converged'", "should have stopped"]),
    ("no divergence stop", "if not np.isfinite(losses[-1]) or losses[-1] > BLOW_UP * losses[0]:", "if False:",
     "forward:gradient_descent", ["lr=20", "saying 'max_steps'", "'diverged'"]),
    ("ignores max_steps", "for _ in range(max_steps):", "while True:", "forward:gradient_descent",
     ["with max_steps=5 took", "must stop after max_steps steps"]),
]


@pytest.mark.parametrize("line, wrong, broken, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_check(tmp_path, line, wrong, broken, words):
    assert_costs_exactly(grade_source(tmp_path, LAB, with_mistake(LAB, line, wrong)), LAB, {broken: words})


def test_training_reports_its_curve_step_by_step(tmp_path):
    """What the app's live chart draws while the build trains: the steps in order up to the total, each
    with the training loss."""
    fraction, seen = train_reports(tmp_path, LAB, checks)
    assert fraction == 1.0
    losses = [m["train_loss"] for _, _, m in seen]
    assert all(a >= b for a, b in zip(losses, losses[1:]))  # the learner's descent, drawn as it goes
