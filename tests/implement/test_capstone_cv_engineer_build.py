"""The capstone-cv-engineer build through the real grader: the reference pipeline earns 100 (a residual
ConvNet with batch normalisation, trained on batches the learner's augmentation moves, reaches 0.98 on the
test digits and 0.95 on shifted ones, read by the learner's per-class metrics), the scaffold 0, and each classic mistake (a shift
that wraps around, swaps or reverses its axes, one shift for the whole batch, choices off by one, a
transposed or undercounted confusion matrix, precision and recall swapped, F1 as a plain mean, NaN for a
class never predicted) costs exactly its check, named."""

from __future__ import annotations

import pytest

from labs.implement.tasks import STRUCTURE, TRAIN
from tests.implement.helpers import graded_reference, assert_costs_exactly, by_id, grade_source, scaffold_source, with_mistake

LAB = "capstone-cv-engineer"


def test_reference_earns_100_and_survives_shifted_digits(tmp_path):
    # the checker's training has its own 90 s wall-clock budget (20 epochs of the residual ConvNet);
    # the wider timeout only keeps a loaded shared machine from killing the run
    result = graded_reference(LAB)
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    assert result.metrics["test_accuracy"] >= 0.98 and result.metrics["shifted_accuracy"] >= 0.95
    assert result.metrics["shifted_accuracy"] - result.metrics["mlp_shifted_accuracy"] >= 0.10
    assert "weakest class" in by_id(result)[TRAIN].message


def test_untouched_scaffold_scores_zero(tmp_path):
    result = grade_source(tmp_path, LAB, scaffold_source(LAB))
    checks = by_id(result)
    assert result.grade.score == 0
    assert "start with shift" in checks[STRUCTURE].message
    assert checks["forward:per_class_metrics"].message == "per_class_metrics is not written yet"
    assert checks[TRAIN].status == "skipped"


MOVE = "out[..., rows_to, cols_to] = images[..., rows_from, cols_from]"
MISTAKES = [
    # (name, text in the reference, the mistake, check it breaks, words the message must contain)
    ("shift wraps around", MOVE + "\n    return out",
     "return np.roll(np.roll(images, dy, axis=-2), dx, axis=-1)", "forward:shift",
     ["shift(dx=1, dy=0)", "np.roll wraps around"]),
    ("dx and dy swapped", MOVE, "out[..., cols_to, rows_to] = images[..., cols_from, rows_from]", "forward:shift",
     ["dx and dy are swapped"]),
    ("shift the wrong way", MOVE, "out[..., rows_from, cols_from] = images[..., rows_to, cols_to]", "forward:shift",
     ["the opposite way"]),
    ("one shift for the batch", "mask = choices == k", "mask = np.full(len(choices), choices[1] == k)",
     "forward:augment_batch", ["every image moved the same way"]),
    ("choices off by one", "for k, (dx, dy) in enumerate(SHIFTS, start=1):", "for k, (dx, dy) in enumerate(SHIFTS):",
     "forward:augment_batch", ["the choices are off by one"]),
    ("transposed confusion matrix", "np.add.at(counts, (y_true, y_pred), 1)",
     "np.add.at(counts, (y_pred, y_true), 1)", "forward:confusion_matrix", ["it is the transpose"]),
    ("repeats counted once", "np.add.at(counts, (y_true, y_pred), 1)", "counts[y_true, y_pred] += 1",
     "forward:confusion_matrix", ["repeated (true, predicted) pairs count once", "np.add.at"]),
    ("precision and recall swapped", "predicted, actual = counts.sum(axis=0), counts.sum(axis=1)",
     "predicted, actual = counts.sum(axis=1), counts.sum(axis=0)", "forward:per_class_metrics",
     ["precision", "swapped"]),
    ("F1 as a plain mean", "f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)",
     "f1 = both / 2", "forward:per_class_metrics", ["f1", "HARMONIC mean"]),
    ("NaN for a class never predicted",
     "precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)",
     "precision = tp / predicted", "forward:per_class_metrics", ["precision contains NaN"]),
]


@pytest.mark.parametrize("text, wrong, broken, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_check(tmp_path, text, wrong, broken, words):
    assert_costs_exactly(grade_source(tmp_path, LAB, with_mistake(LAB, text, wrong)), LAB, {broken: words})
