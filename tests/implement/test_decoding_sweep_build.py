"""decoding-sweep build (issue 15): top-k and top-p filters, sampling, rotary positions, cached attention and
the cached step through the real grader. Classic mistakes are edited into ONE copy of the reference, each in
a different function, so one grading shows each costing exactly its own check (cached_step is judged with
the learner's own rotation and attention, so their mistakes do not reach it). The reference's 100 and the
scaffold's 0 are test_implement_grading.py's; the reference's generation is read from graded_reference."""

from __future__ import annotations

import numpy as np

from labs.implement.checks import decoding_sweep as checks
from labs.implement.solutions import decoding_sweep as ref
from labs.implement.tasks import TRAIN
from labs.nn import decoding
from labs.nn.modern import apply_rope, rope_angles
from tests.implement.helpers import assert_costs_exactly, by_id, grade_source, graded_reference, solution_source

LAB = "decoding-sweep"


def edited(*edits: tuple[str, str]) -> str:
    source = solution_source(LAB)
    for line, wrong in edits:
        assert source.count(line) == 1, line
        source = source.replace(line, wrong)
    return source


def test_the_reference_decodes_through_its_cache_exactly():
    result = graded_reference(LAB)
    assert result.status == "passed" and result.grade.score == 100
    assert result.metrics["max_logit_error"] <= checks.LOGIT_TOL and result.metrics["val_loss"] < 4.0
    assert "through your cache" in by_id(result)[TRAIN].message


def test_six_classic_mistakes_each_cost_their_own_check(tmp_path):
    source = edited(
        ("kth = np.sort(logits, axis=-1)[..., -k, None]", "kth = np.sort(logits, axis=-1)[..., -k - 1, None]"),
        ("return np.where(mass_before < p, logits, -np.inf)",
         "return np.where(mass_before + probs < p, logits, -np.inf)"),
        ("z = logits / temperature", "z = logits * temperature"),
        ("freq = theta ** (-np.arange(0, d, 2) / d)", "freq = theta ** (-np.arange(d // 2) / d)"),
        ("allowed = np.arange(length + new)[None, :] <= (length + np.arange(new))[:, None]",
         "allowed = np.arange(length + new)[None, :] <= np.arange(new)[:, None]"),
        ("positions = np.arange(length, length + q.shape[1])", "positions = np.arange(q.shape[1])"),
    )
    assert_costs_exactly(grade_source(tmp_path, LAB, source), LAB, {
        "forward:top_k_filter": ["k + 1 tokens"],
        "forward:top_p_filter": ["one token too few", "the token that reaches p is kept"],
        "forward:sample_token": ["MULTIPLIED by the temperature"],
        "forward:rope_rotate": ["theta^(-i/d)", "theta^(-2i/d)"],
        "forward:cached_attention": ["not offset by the cache", "L + i"],
        "forward:cached_step": ["restart at 0", "CONTINUE the cache"],
    })


def test_zeros_for_minus_infinity_and_an_ignored_nucleus_cost_their_own_checks(tmp_path):
    source = edited(
        ("return np.where(logits >= kth, logits, -np.inf)", "return np.where(logits >= kth, logits, 0.0)"),
        ("z = top_p_filter(z, top_p)", "z = z"),
        ("scores = q @ keys.transpose(0, 2, 1) / np.sqrt(q.shape[-1])", "scores = q @ keys.transpose(0, 2, 1)"),
    )
    assert_costs_exactly(grade_source(tmp_path, LAB, source), LAB, {
        "forward:top_k_filter": ["excluded logits are 0", "-inf"],
        "forward:sample_token": ["top_p is ignored"],
        "forward:cached_attention": ["not scaled", "sqrt(d)"],
    })


def test_the_reference_follows_the_librarys_decoding_rules():
    """Filters and rotation equal labs.nn.decoding's and labs.nn.modern's on the checker's fixtures."""
    for k in (1, 3, 5):
        assert np.array_equal(ref.top_k_filter(checks.ROWS, k), decoding.top_k_filter(checks.ROWS, k))
    for p in checks.NUCLEUS_PS:
        assert np.array_equal(ref.top_p_filter(checks.NUCLEUS, p), decoding.top_p_filter(checks.NUCLEUS, p))
    x, positions = np.random.default_rng(0).normal(size=(2, 5, 8)), np.arange(3, 8)
    assert np.allclose(ref.rope_rotate(x, positions, 100.0), apply_rope(x, *rope_angles(positions, 8, 100.0)),
                       rtol=0, atol=1e-12)
