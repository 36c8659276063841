"""The cnn-digits build's classifier head (issue 13 §2) through the real grader: the flatten and the linear
head each cost exactly their check for a classic mistake, with a message that names it; the reference
(100, trained from the learner's six functions) and the scaffold (0) are in test_implement_grading.py, and
the convolution's and pooling's classic mistakes too."""

from __future__ import annotations

import pytest

from labs.implement import get_task
from labs.implement.tasks import TRAIN
from tests.implement.helpers import graded_reference, assert_costs_exactly, grade_source, with_mistake

LAB = "cnn-digits"


def test_reference_trains_through_the_learners_head(tmp_path):
    result = graded_reference(LAB)
    assert result.status == "passed" and result.grade.score == 100, result.feedback
    assert result.metrics["test_accuracy"] >= 0.90
    assert "flatten and head" in get_task(LAB).check(TRAIN).title


MISTAKES = [
    # (name, line in the reference, the mistake, check it breaks, words the message must contain)
    ("flatten: channel-last order", "    return x.reshape(len(x), -1)",
     "    return x.transpose(0, 2, 3, 1).reshape(len(x), -1)", "forward:flatten_forward",
     ["flatten_forward output", "channel-last order", "C order"]),
    ("flatten: the batch axis too", "    return x.reshape(len(x), -1)", "    return x.reshape(-1)",
     "forward:flatten_forward", ["shape (80,), expected (2, 40)", "keep one row per image"]),
    ("flatten backward: no reshape", "    return dout.reshape(x.shape)", "    return dout",
     "gradient:flatten_backward", ["dx has the shape of dout (2, 40)", "reshape it back to the shape of x"]),
    ("head: bias missing", "    return feats @ W + b", "    return feats @ W", "forward:head_forward",
     ["head_forward logits", "the bias b is missing"]),
    ("head: dW transposed", "    dW = feats.T @ dout", "    dW = (feats.T @ dout).T", "gradient:head_backward",
     ["dW has shape (3, 7), expected (7, 3)", "transpose"]),
    ("head: db not summed", "    db = dout.sum(axis=0)\n    return dfeats", "    db = dout\n    return dfeats",
     "gradient:head_backward", ["db has shape (4, 3), expected (3,)", "sum it over the batch"]),
]


@pytest.mark.parametrize("line, wrong, broken, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_check(tmp_path, line, wrong, broken, words):
    assert_costs_exactly(grade_source(tmp_path, LAB, with_mistake(LAB, line, wrong)), LAB, {broken: words})
