"""The model-size build task through the real grader: the reference earns 100, the scaffold 0, and each
classic counting mistake costs exactly the checks it breaks (a function the reference reuses carries its
mistake into its callers: those checks are named too), with a message that names the mistake."""

from __future__ import annotations

import pytest

from labs.events import Progress
from labs.implement.checks import model_size as checks
from labs.implement.tasks import STRUCTURE, TRAIN
from labs.nn import TinyGPT
from tests.implement.helpers import assert_costs_exactly, by_id, grade_source, scaffold_source, solution_source, with_mistake

LAB = "model-size"


def test_reference_solution_scores_100_and_counts_the_labs_networks(tmp_path):
    events = []
    result = grade_source(tmp_path, LAB, solution_source(LAB), on_event=events.append)
    progress = [e for e in events if isinstance(e, Progress)]  # the final stage's live curve, 3 steps
    assert progress and progress[-1].step == 3 and "gpt_parameters_error" in progress[-1].metrics
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    train = by_id(result)[TRAIN]
    assert "3 of 3 networks counted right" in train.message
    assert "17,226 parameters (library 17,226)" in train.message  # the model-size lab's MLP
    assert result.metrics["networks_counted"] == 3
    assert result.metrics["mlp_memory_error"] == 0


def test_untouched_scaffold_scores_zero(tmp_path):
    result = grade_source(tmp_path, LAB, scaffold_source(LAB))
    checks_ = by_id(result)
    assert result.grade.score == 0
    assert "start with linear_parameters" in checks_[STRUCTURE].message
    assert all(c.status == "failed" for c in checks_.values() if c.id not in (STRUCTURE, TRAIN))
    assert checks_[TRAIN].status == "skipped"


MISTAKES = [
    # (what the learner did, line in the reference, the mistake, checks it loses, {check: words in its message})
    ("forgot the conv bias", "return c_out * c_in * kernel * kernel + (c_out if bias else 0)",
     "return c_out * c_in * kernel * kernel", {"forward:conv2d_parameters"},
     {"forward:conv2d_parameters": ["conv2d_parameters(1, 8, 3, True) returned 72, expected 80",
                                    "the bias is missing"]}),
    ("forgot the linear bias, which attention and the transformer reuse",
     "return d_in * d_out + (d_out if bias else 0)", "return d_in * d_out",
     {"forward:linear_parameters", "forward:attention_parameters", "forward:transformer_parameters",
      "forward:transformer_flops_per_token"},
     {"forward:linear_parameters": ["returned 8,192, expected 8,320", "the bias is missing"],
      "forward:attention_parameters": ["the biases of the two Linear layers are missing"],
      "forward:transformer_parameters": ["the biases are missing"],
      "forward:transformer_flops_per_token": ["False)", "their biases and LayerNorms too"]}),
    ("counted the tied embedding twice",
     "head = (vocab if bias else 0) if tied else linear_parameters(dim, vocab, bias)",
     "head = linear_parameters(dim, vocab, bias)", {"forward:transformer_parameters"},
     {"forward:transformer_parameters": ["transformer_parameters(50, 16, 2, 32, True, True)", "count it once"]}),
    ("multiplied attention's parameters by the heads",
     "return linear_parameters(dim, 3 * dim, bias) + linear_parameters(dim, dim, bias)",
     "return n_heads * (linear_parameters(dim, 3 * dim, bias) + linear_parameters(dim, dim, bias))",
     {"forward:attention_parameters"},
     {"forward:attention_parameters": ["attention_parameters(64, 4, True)", "the heads split the width"]}),
    ("counted FLOPs as multiply-adds", "return 2 * m * k * n", "return m * k * n",
     {"forward:matmul_flops", "forward:transformer_flops_per_token"},
     {"forward:matmul_flops": ["returned 8,192, expected 16,384", "each multiply-add is 2 FLOPs"],
      "forward:transformer_flops_per_token": ["that is the multiply-adds"]}),
    ("left out attention's context term", "return n_layer * (per_block + attention) + matmul_flops(1, dim, vocab)",
     "return n_layer * per_block + matmul_flops(1, dim, vocab)", {"forward:transformer_flops_per_token"},
     {"forward:transformer_flops_per_token": ["True)", "attention's context term is missing"]}),
    ("put every parameter in the 2 N rule", "return 2 * n_layer * _block_parameters(dim, True)",
     "return 2 * transformer_parameters(vocab, context, n_layer, dim, False, True)",
     {"forward:transformer_flops_per_token"},
     {"forward:transformer_flops_per_token": ["False)", "non-embedding parameters, the blocks only"]}),
    ("took training as twice the forward", "return 3 * flops_per_token * tokens", "return 2 * flops_per_token * tokens",
     {"forward:training_flops"}, {"forward:training_flops": ["the backward pass costs about TWICE the forward"]}),
    ("forgot the ReLUs' activations", "return batch * (sizes[0] + 2 * hidden + sizes[-1])", "return batch * sum(sizes)",
     {"forward:mlp_activations"},
     {"forward:mlp_activations": ["mlp_activations([64, 128, 64, 10], 32)", "the ReLUs' outputs are kept too"]}),
    ("kept one copy of Adam's state",
     "return n_params * size, n_params * size, 2 * n_params * size, n_activations * size",
     "return n_params * size, n_params * size, n_params * size, n_activations * size",
     {"forward:training_memory_bytes"},
     {"forward:training_memory_bytes": ["optimizer", "Adam keeps TWO numbers per weight"]}),
    ("counted bits for bytes", 'sizes = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2}',
     'sizes = {"float64": 64, "float32": 32, "float16": 16, "bfloat16": 16}', {"forward:training_memory_bytes"},
     {"forward:training_memory_bytes": ["weights", "that is bits, not bytes: a float32 number takes 4 bytes"]}),
]


@pytest.mark.parametrize("what, line, wrong, lost, words", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_checks(tmp_path, what, line, wrong, lost, words):
    result = grade_source(tmp_path, LAB, with_mistake(LAB, line, wrong))
    assert_costs_exactly(result, LAB, {check_id: list(words.get(check_id, ())) for check_id in lost})


def test_a_count_returned_as_float_is_refused_with_its_fix(tmp_path):
    source = with_mistake(LAB, "return vocab * dim", "return vocab * dim / 1")
    got = by_id(grade_source(tmp_path, LAB, source))
    assert got["forward:embedding_parameters"].status == "failed"
    assert "returned a float (2080.0); a count is a whole number" in got["forward:embedding_parameters"].message


def test_the_library_counts_the_checker_uses_are_the_library_models():
    """The tied and bias-free transformers are TinyGPT with parameters removed: untied with biases they are
    TinyGPT itself, and its own closed form agrees."""
    assert checks.library_transformer(65, 128, 4, 128, tied=False, bias=True).num_parameters() \
        == TinyGPT.count_parameters(65, 128, 4, 128)
    tied = checks.library_transformer(50, 16, 2, 32, tied=True, bias=True).num_parameters()
    assert tied == TinyGPT.count_parameters(50, 16, 2, 32) - 32 * 50
    assert checks.library_training_memory([64, 128, 64, 10], 32, "float32")[:3] == (4 * 17226, 4 * 17226, 8 * 17226)
