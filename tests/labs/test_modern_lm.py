"""modern-lm: GPT-2-style against modern blocks on the same BPE batches. The naive defaults (SwiGLU at GPT-2's
4C width) are refused as unequal compute whatever the losses; LLaMA's 8C/3 width is equal compute. Short
runs only; the 10-seed figures are in benchmarks/CALIBRATION.md."""

from __future__ import annotations

from labs.catalog import get_lab
from labs.catalog import modern_lm
from labs.nn.attention import TransformerBlock
from labs.nn.modern import ModernBlock, default_ffn_dim

LAB = get_lab("modern-lm")


def test_equal_compute_is_swiglus_eight_thirds_width():
    gpt2, modern = modern_lm.block_parameters(default_ffn_dim(modern_lm.WIDTH))
    assert gpt2 == TransformerBlock.count_parameters(modern_lm.WIDTH)
    assert abs(modern / gpt2 - 1) <= modern_lm.COMPUTE_TOLERANCE
    gpt2, naive = modern_lm.block_parameters(LAB.default_params().ffn_dim)
    assert naive == ModernBlock.count_parameters(modern_lm.WIDTH, 4 * modern_lm.WIDTH) and naive / gpt2 > 1.3


def test_a_short_naive_run_fails_as_unequal_compute_and_reports_both_models():
    finished = LAB.train(LAB.validate_params({"steps": 10}), 0, lambda event: None)
    assert finished.status == "failed" and finished.diagnosis == "unequal-compute"
    m = finished.metrics
    assert {c.id for c in finished.grade.checks} == {c.id for c in LAB.checks}
    assert m["bits_per_char"] > 0 and m["gpt2_bits_per_char"] > 0 and m["block_ratio"] > 1.3
    equal = next(c for c in finished.grade.checks if c.id == "equal-compute")
    assert equal.status == "failed" and "3CF = 8C^2" in equal.message
