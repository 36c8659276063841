"""The backprop-spirals build through the real grader: the reference earns 100 (its network trains on the
spirals with its own gradients), the scaffold 0, and each classic mistake in the backward pass or in the
learner's gradient checker costs exactly its check, with a message that names it."""

from __future__ import annotations

import pytest

from labs.implement.checks import backprop_spirals as checks
from labs.implement.tasks import STRUCTURE, TRAIN
from tests.implement.helpers import graded_reference, assert_costs_exactly, train_reports, by_id, grade_source, scaffold_source, with_mistake

LAB = "backprop-spirals"


def test_reference_earns_100_and_trains_to_the_labs_accuracy(tmp_path):
    result = graded_reference(LAB)
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    assert result.metrics["train_accuracy"] >= 0.95


def test_untouched_scaffold_scores_zero(tmp_path):
    result = grade_source(tmp_path, LAB, scaffold_source(LAB))
    checks = by_id(result)
    assert result.grade.score == 0
    assert "start with forward" in checks[STRUCTURE].message
    assert checks["forward:grad_check"].message == "grad_check is not written yet"
    assert checks[TRAIN].status == "skipped"


MISTAKES = [
    # (name, line in the reference, the mistake, check it breaks, words the message must contain)
    ("no tanh derivative", "dpre = (dlogits @ W2.T) * (1.0 - h**2)", "dpre = dlogits @ W2.T", "gradient:backward",
     ["dW1", "db1", "the tanh's derivative is missing"]),
    ("tanh applied twice", "dpre = (dlogits @ W2.T) * (1.0 - h**2)", "dpre = (dlogits @ W2.T) * (1.0 - np.tanh(h)**2)",
     "gradient:backward", ["dW1", "h is already tanh's output"]),
    ("missing 1/N", "dlogits = p / n", "dlogits = p", "gradient:backward",
     ["dW2", "factor of the batch size: 5 times too large"]),
    ("db not summed", "db1 = dpre.sum(axis=0)", "db1 = dpre", "gradient:backward",
     ["db1 has shape (5, 4), expected (4,)", "sum it over the batch"]),
    ("forward differences", "numeric[i] = (up - down) / (2 * eps)", "numeric[i] = (up - f(x)) / eps",
     "forward:grad_check", ["eps=0.001", "forward differences", "central differences"]),
    ("x left perturbed", "        x[i] = old\n        numeric", "        numeric", "forward:grad_check",
     ["grad_check leaves x changed", "put each entry back"]),
    ("step not halved", "numeric[i] = (up - down) / (2 * eps)", "numeric[i] = (up - down) / eps",
     "forward:grad_check", ["divided by eps"]),
    ("absolute error", "return float(diff / max(np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-12))",
     "return float(diff)", "forward:grad_check", ["for a wrong gradient", "RELATIVE"]),
]


@pytest.mark.parametrize("line, wrong, broken, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_check(tmp_path, line, wrong, broken, words):
    assert_costs_exactly(grade_source(tmp_path, LAB, with_mistake(LAB, line, wrong)), LAB, {broken: words})


def test_training_reports_its_curve_step_by_step(tmp_path):
    """What the app's live chart draws while the build trains: the steps in order up to the total, each
    with the training loss."""
    fraction, seen = train_reports(tmp_path, LAB, checks)
    assert fraction == 1.0
    assert all("train_accuracy" in m for _, _, m in seen)
    assert seen[-1][2]["train_accuracy"] >= 0.95
