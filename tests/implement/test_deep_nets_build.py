"""The deep-nets build through the real grader: the reference earns 100 and its 20-layer net of BatchNorm
and residual blocks trains on the digits (judged in evaluation mode); each classic mistake (BatchNorm
without an evaluation mode, a biased running variance, a residual backward without the skip) costs
exactly its check, with a message that names it. Mistakes in different functions share one grading."""

from __future__ import annotations

from labs.implement.tasks import TRAIN
from tests.implement.helpers import assert_costs_exactly, by_id, grade_source, graded_reference, solution_source

LAB = "deep-nets"


def with_mistakes(*edits: tuple[str, str]) -> str:
    source = solution_source(LAB)
    for line, wrong in edits:
        assert source.count(line) == 1, line
        source = source.replace(line, wrong)
    return source


def test_reference_earns_100_and_its_deep_net_trains_in_evaluation_mode():
    result = graded_reference(LAB)
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    assert result.metrics["test_accuracy"] >= 0.90
    assert "evaluation mode" in by_id(result)[TRAIN].message
    assert "dx" in by_id(result)["gradient:batchnorm_backward"].message  # checked by finite differences


def test_batchnorm_without_eval_mode_and_a_residual_without_its_skip_cost_their_checks(tmp_path):
    source = with_mistakes(("    if training:\n        n = x.shape[0]", "    if True:\n        n = x.shape[0]"),
                           ("dx = ds + da @ W1.T", "dx = da @ W1.T"))
    assert_costs_exactly(grade_source(tmp_path, LAB, source), LAB, {
        "forward:batchnorm_forward": ["(evaluation) y", "still normalises with the batch's own statistics"],
        "gradient:residual_backward": ["dx", "missing the skip"],
    })


def test_a_biased_running_variance_costs_its_check(tmp_path):
    source = with_mistakes(("momentum * var * n / (n - 1)", "momentum * var"))
    assert_costs_exactly(grade_source(tmp_path, LAB, source), LAB, {
        "forward:batchnorm_forward": ["(training) running_var", "the running variance is biased"]})
