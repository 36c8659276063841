"""The staged grader on real learner files: the reference earns full marks, the scaffold earns nothing,
and each typical mistake costs exactly the check it breaks (plus the training stage, which waits until
every earlier check passes), with a message that names the problem."""

from __future__ import annotations

import pytest

from labs.implement import TASKS, get_task
from labs.implement.tasks import STRUCTURE, TRAIN
from tests.implement.helpers import graded_reference, by_id, grade_source, scaffold_source, solution_source, with_mistake


@pytest.mark.parametrize("lab_id", list(TASKS))
def test_reference_solution_earns_full_marks_and_trains_to_target(tmp_path, lab_id):
    result = graded_reference(lab_id)
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    assert all(c.status == "passed" for c in result.grade.checks)
    metric = {"digits": "test_accuracy", "text": "val_loss"}.get(get_task(lab_id).dataset)
    if metric:  # builds on other data assert their own training metrics in their test_<module>_build.py
        assert metric in result.metrics


@pytest.mark.parametrize("lab_id", list(TASKS))
def test_untouched_scaffold_scores_zero_and_says_what_to_write(tmp_path, lab_id):
    result = grade_source(tmp_path, lab_id, scaffold_source(lab_id))
    task = get_task(lab_id)
    assert result.status == "failed"
    assert result.grade.score == 0
    checks = by_id(result)
    assert f"start with {task.functions[0].name}" in checks[STRUCTURE].message
    for fn in task.functions:
        for prefix in ("forward", "gradient"):
            if f"{prefix}:{fn.name}" in checks:
                assert checks[f"{prefix}:{fn.name}"].message == f"{fn.name} is not written yet"
    assert checks[TRAIN].status == "skipped"


MISTAKES = [
    # (lab, line in the reference, the mistake, check it breaks, words the message must contain)
    ("ffnn-digits", "dW = x.T @ dout", "dW = (x.T @ dout).T", "gradient:linear_backward",
     ["dW has shape (3, 5), expected (5, 3)", "transpose"]),
    ("ffnn-digits", "return dout * (x > 0)", "return dout", "gradient:relu_backward",
     ["dx equals dout", "mask"]),
    ("ffnn-digits", "db = dout.sum(axis=0)", "db = dout", "gradient:linear_backward",
     ["db has shape (4, 3), expected (3,)", "sum it over the batch"]),
    ("ffnn-digits", "db = dout.sum(axis=0)", "db = dout.sum(axis=0) / len(dout)", "gradient:linear_backward",
     ["db", "factor of the batch size", "4 times too small"]),
    ("ffnn-digits", "return param - lr * grad", "return param + lr * grad", "forward:sgd_update",
     ["goes UP the gradient"]),
    ("rnn-chars", "dhs[:, t] + dh_next,", "dhs[:, t],", "gradient:rnn_backward",
     ["dWh", "stops after one step"]),
    ("cnn-digits", "edge = k - 1 - pad", "edge = k - 2", "gradient:conv2d_backward",  # pad=1 hard-coded
     ["with pad=0", "dx has shape"]),
    ("cnn-digits", "return x.reshape(n, c, h // size, size, w // size, size).max(axis=(3, 5))",
     "return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))", "forward:maxpool_forward",
     ["with size=3", "shape"]),
    ("cnn-digits", "blocks = x.reshape(n, c, ho, size, wo, size)", "blocks = x.reshape(n, c, ho, 2, wo, 2)",
     "gradient:maxpool_backward", ["with size=3"]),
    # transformer-chars' missing 1/sqrt(d) also costs the block built on the learner's attention_backward:
    # it is in test_transformer_chars_build.MISTAKES, with the same check and words
]


@pytest.mark.parametrize("lab_id, line, wrong, broken, words", MISTAKES,
                         ids=[f"{m[0]}:{m[2]}" for m in MISTAKES])
def test_a_typical_mistake_costs_exactly_its_check(tmp_path, lab_id, line, wrong, broken, words):
    result = grade_source(tmp_path, lab_id, with_mistake(lab_id, line, wrong))
    checks = by_id(result)
    task = get_task(lab_id)
    assert result.status == "failed"
    assert checks[broken].status == "failed" and checks[broken].points == 0
    for word in words:
        assert word in checks[broken].message
    others = [c for c in checks.values() if c.id not in (broken, TRAIN)]
    assert all(c.status == "passed" and c.points == c.max_points for c in others)
    assert checks[TRAIN].status == "skipped" and broken in checks[TRAIN].message
    lost = task.check(broken).points + task.check(TRAIN).points
    assert result.grade.score == pytest.approx(100 - lost)


def test_a_wrong_signature_blocks_only_that_function(tmp_path):
    source = with_mistake("ffnn-digits", "def relu_backward(dout, x):", "def relu_backward(dout):")
    checks = by_id(grade_source(tmp_path, "ffnn-digits", source))
    assert checks[STRUCTURE].status == "partial"
    assert "relu_backward cannot be called as relu_backward(dout, x)" in checks[STRUCTURE].message
    assert checks["gradient:relu_backward"].status == "failed"
    assert checks["gradient:linear_backward"].status == "passed"


def test_half_finished_file_earns_the_written_functions(tmp_path):
    """The learner's progress shows before everything works: written functions are graded."""
    scaffold = scaffold_source("ffnn-digits")
    reference = solution_source("ffnn-digits")
    todo = 'raise NotImplementedError("linear_forward: not written yet")'
    source = scaffold.replace(todo, "return x @ W + b")
    checks = by_id(grade_source(tmp_path, "ffnn-digits", source))
    assert checks["forward:linear_forward"].status == "passed"
    assert checks[STRUCTURE].points == pytest.approx(10 / 13, abs=1e-3)  # points are kept to 4 decimals
    assert "return x @ W + b" in reference  # the edit is the reference's own line


def test_attention_that_sees_the_future_is_named(tmp_path):
    source = with_mistake("transformer-chars", "future = np.triu(np.ones((steps, steps), dtype=bool), k=1)",
                          "future = np.zeros((steps, steps), dtype=bool)")
    checks = by_id(grade_source(tmp_path, "transformer-chars", source))
    assert checks["forward:attention_forward"].status == "failed"
    assert "the future is visible" in checks["forward:attention_forward"].message
