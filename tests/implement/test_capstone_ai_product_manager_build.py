"""The capstone-ai-product-manager build through the real grader: the reference estimates earn 100 (the
capstone's proposed GPT and two other sizes, against the built library model, within the capstone's
tolerances), the scaffold 0, and each classic sizing mistake (the MLP's width, one block, the embeddings,
forward-only training compute, seconds for hours or milliseconds, weights-only memory, MiB for MB, training
FLOPs for serving) costs exactly its check, named."""

from __future__ import annotations

import pytest

from labs.implement.tasks import STRUCTURE, TRAIN
from tests.implement.helpers import graded_reference, assert_costs_exactly, by_id, grade_source, scaffold_source, with_mistake

LAB = "capstone-ai-product-manager"


def test_reference_earns_100_within_the_capstone_tolerances(tmp_path):
    result = graded_reference(LAB)
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    assert result.metrics["parameters_error"] <= 0.10
    assert max(result.metrics[k] for k in ("train_flops_error", "train_memory_mb_error", "latency_ms_error")) <= 0.25
    assert "within the capstone's tolerances" in by_id(result)[TRAIN].message


def test_untouched_scaffold_scores_zero(tmp_path):
    result = grade_source(tmp_path, LAB, scaffold_source(LAB))
    checks = by_id(result)
    assert result.grade.score == 0
    assert "start with estimate_parameters" in checks[STRUCTURE].message
    assert checks["forward:serving_latency_ms"].message == "serving_latency_ms is not written yet"
    assert checks[TRAIN].status == "skipped"


BLOCK = "per_block = 4 * dim * dim + 2 * 4 * dim * dim"
LATENCY = "return 2.0 * n_params * tokens_out / flops_per_second * 1000.0"
MEMORY = "return 4 * n_params * bytes_per_number / 1e6"
MISTAKES = [
    # (name, text in the reference, the mistake, check it breaks, words the message must contain)
    ("MLP as wide as the stream", BLOCK, "per_block = 4 * dim * dim + 2 * dim * dim", "forward:estimate_parameters",
     ["the built model has 826,433", "it is 4 x dim wide"]),
    ("MLP missing", BLOCK, "per_block = 4 * dim * dim", "forward:estimate_parameters", ["the MLP is missing"]),
    ("one block", "return int(n_layer * per_block +", "return int(per_block +", "forward:estimate_parameters",
     ["only one block is counted"]),
    ("embeddings and head missing", "+ vocab * dim + context * dim + dim * vocab)", ")",
     "forward:estimate_parameters", ["n_layer=2, dim=64", "the embeddings and the output layer are missing"]),
    ("forward-only compute", "flops = 6.0 * n_params * tokens", "flops = 2.0 * n_params * tokens",
     "forward:training_cost", ["only the forward pass", "6 per parameter per token"]),
    ("seconds for hours", "hours = flops / flops_per_second / 3600.0", "hours = flops / flops_per_second",
     "forward:training_cost", ["the hours are seconds"]),
    ("weights-only memory", MEMORY, "return n_params * bytes_per_number / 1e6", "forward:training_memory_mb",
     ["the weights alone"]),
    ("MiB for MB", MEMORY, "return 4 * n_params * bytes_per_number / 2 ** 20", "forward:training_memory_mb",
     ["MiB (2**20 bytes)"]),
    ("training FLOPs for serving", LATENCY, LATENCY.replace("2.0", "6.0"), "forward:serving_latency_ms",
     ["serving runs the forward pass only"]),
    ("latency in seconds", LATENCY, LATENCY.replace(" * 1000.0", ""), "forward:serving_latency_ms",
     ["in seconds", "milliseconds"]),
]


@pytest.mark.parametrize("text, wrong, broken, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_check(tmp_path, text, wrong, broken, words):
    assert_costs_exactly(grade_source(tmp_path, LAB, with_mistake(LAB, text, wrong)), LAB, {broken: words})
