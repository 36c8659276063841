"""The classic-vs-deep build through the real grader: the reference earns 100 (its logistic regression fits
separable clouds and, on two spiral arms, scores what a linear model scores: below the library's network),
the scaffold 0, and each classic mistake costs exactly its check, with a message that names it."""

from __future__ import annotations

import pytest

from labs.implement.checks import classic_vs_deep as checks
from labs.implement.tasks import STRUCTURE, TRAIN
from tests.implement.helpers import graded_reference, assert_costs_exactly, train_reports, by_id, grade_source, scaffold_source, with_mistake

LAB = "classic-vs-deep"
STABLE_SIGMOID = ("e = np.exp(-np.abs(z))  # at most 1, never overflows\n"
                  "    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))")


def test_reference_earns_100_and_a_linear_model_stays_below_the_network_on_spirals(tmp_path):
    result = graded_reference(LAB)
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    m = result.metrics
    assert m["train_accuracy"] >= 0.95
    assert abs(m["spirals_accuracy"] - m["spirals_reference_accuracy"]) <= 0.02
    assert m["spirals_accuracy"] < m["spirals_mlp_accuracy"] - 0.1


def test_untouched_scaffold_scores_zero(tmp_path):
    result = grade_source(tmp_path, LAB, scaffold_source(LAB))
    checks = by_id(result)
    assert result.grade.score == 0
    assert "start with sigmoid" in checks[STRUCTURE].message
    assert checks["gradient:bce_loss"].message == "bce_loss is not written yet"
    assert checks[TRAIN].status == "skipped"


MISTAKES = [
    # (name, line in the reference, the mistake, check it breaks, words the message must contain)
    ("overflowing sigmoid", STABLE_SIGMOID, "return np.exp(z) / (1 + np.exp(z))", "forward:sigmoid",
     ["not finite at z = 800", "exp() overflowed"]),
    ("loss from rounded probabilities", "loss = float(np.mean(np.logaddexp(0.0, z) - y * z))",
     "p = sigmoid(z)\n    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))", "forward:bce_loss",
     ["scores in the hundreds", "rounded to 0 is -inf"]),
    ("squared-error gradient", "err = sigmoid(z) - y", "err = 2 * (sigmoid(z) - y) * sigmoid(z) * (1 - sigmoid(z))",
     "gradient:bce_loss", ["dw", "db", "gradient of the squared error"]),
    ("missing 1/N", "return loss, X.T @ err / len(y), float(err.mean())", "return loss, X.T @ err, float(err.sum())",
     "gradient:bce_loss", ["dw", "factor of the batch size: 6 times too large"]),
    ("mirrored boundary", "return -(b + w[0] * x1) / w[1]", "return (b + w[0] * x1) / w[1]",
     "forward:decision_boundary", ["mirrored"]),
    ("predict returns probabilities", "return (X @ w + b >= 0).astype(np.int64)", "return predict_proba(X, w, b)",
     "forward:predict", ["returns probabilities"]),
]


@pytest.mark.parametrize("line, wrong, broken, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_check(tmp_path, line, wrong, broken, words):
    assert_costs_exactly(grade_source(tmp_path, LAB, with_mistake(LAB, line, wrong)), LAB, {broken: words})


def test_training_reports_its_curve_step_by_step(tmp_path):
    """What the app's live chart draws while the build trains: the steps in order up to the total, each
    with the training loss."""
    fraction, seen = train_reports(tmp_path, LAB, checks)
    assert fraction == 1.0
    keys = [next(iter(m)) for _, _, m in seen]
    assert keys[0] == "train_loss" and keys[-1] == "spirals_train_loss"  # the clouds, then the spiral arms
