"""decoding-sweep build (issue 15): top-k and top-p filters, sampling, rotary positions, cached attention and
the cached step through the real grader. Classic mistakes are edited into ONE copy of the reference, each in
a different function, so one grading shows each costing exactly its own check (cached_step is judged with
the learner's own rotation and attention, so their mistakes do not reach it); more are judged by the same
checks on the file run in-process (tests/implement/inprocess.py), each failing only its own. The reference's 100 and the
scaffold's 0 are test_implement_grading.py's; the reference's generation is read from graded_reference."""

from __future__ import annotations

import numpy as np
import pytest

from labs.implement.checks import decoding_sweep as checks
from labs.implement.checks.common import CheckFailed
from labs.implement.solutions import decoding_sweep as ref
from labs.implement.tasks import TRAIN
from labs.nn import decoding
from labs.nn.modern import apply_rope, rope_angles
from tests.implement.helpers import assert_costs_exactly, by_id, grade_source, graded_reference, solution_source
from tests.implement.inprocess import InProcess

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


EXACTLY_K = """

def top_k_filter(logits, k):
    logits = np.asarray(logits, dtype=np.float64)
    order = np.argsort(-logits, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(logits.shape, dtype=bool)
    np.put_along_axis(keep, order, True, axis=-1)
    return np.where(keep, logits, -np.inf)
"""
SORTED_NUCLEUS = """

def top_p_filter(logits, p):
    logits = np.asarray(logits, dtype=np.float64)
    if p >= 1:
        return logits.copy()
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    order = np.argsort(-probs, axis=-1, kind="stable")
    ranked = np.take_along_axis(probs, order, axis=-1)
    keep = np.zeros(logits.shape, dtype=bool)
    np.put_along_axis(keep, order, np.cumsum(ranked, axis=-1) - ranked < p, axis=-1)
    return np.where(keep, logits, -np.inf)
"""
HALVES = """

def rope_rotate(x, positions, theta):
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[-1]
    angle = np.asarray(positions, dtype=np.float64)[:, None] * theta ** (-np.arange(0, d, 2) / d)
    first, second = x[..., : d // 2], x[..., d // 2:]
    return np.concatenate([first * np.cos(angle) - second * np.sin(angle),
                           first * np.sin(angle) + second * np.cos(angle)], axis=-1)
"""
IN_PROCESS = [
    # (what, (line, replacement) or an appended redefinition, the check, words its message must contain)
    ("filtered logits set to 0", ("return np.where(logits >= kth, logits, -np.inf)",
                                  "return np.where(logits >= kth, logits, 0.0)"),
     "top_k_filter", ["excluded logits are 0", "-inf"]),
    ("exactly k on a tie", EXACTLY_K, "top_k_filter", ["tie at the boundary", "kept or dropped together"]),
    ("the nucleus split between tied tokens", SORTED_NUCLEUS, "top_p_filter", ["tied tokens are split"]),
    ("top-p ignored", ("z = top_p_filter(z, top_p)", "z = z"), "sample_token", ["top_p is ignored"]),
    ("top-k ignored", ("        z = top_k_filter(z, top_k)\n", "        pass\n"), "sample_token", ["top_k is ignored"]),
    ("pairs as halves", HALVES, "rope_rotate", ["HALVES", "neighbours (2i, 2i+1)"]),
    ("positions ignored", ("angle = np.asarray(positions, dtype=np.float64)[:, None] * freq",
                           "angle = np.arange(x.shape[-2], dtype=np.float64)[:, None] * freq"),
     "rope_rotate", ["positions are ignored"]),
    ("no scaling", ("scores = q @ keys.transpose(0, 2, 1) / np.sqrt(q.shape[-1])",
                    "scores = q @ keys.transpose(0, 2, 1)"), "cached_attention", ["not scaled", "sqrt(d)"]),
    ("no causal mask", ("scores = np.where(allowed, scores, -np.inf)", "scores = scores"), "cached_attention",
     ["no causal mask"]),
    ("new keys before the cache",
     ("keys = np.concatenate([k_cache, k], axis=1)", "keys = np.concatenate([k, k_cache], axis=1)"),
     "cached_attention", ["BEFORE the cached ones"]),
]


@pytest.mark.parametrize("what, edit, function, words", IN_PROCESS, ids=[m[0] for m in IN_PROCESS])
def test_more_classic_mistakes_are_named_by_their_check(what, edit, function, words):
    source = edited(edit) if isinstance(edit, tuple) else solution_source(LAB) + edit
    with pytest.raises(CheckFailed) as failed:
        checks.CHECKS[f"forward:{function}"](InProcess(source))
    assert all(word in failed.value.message for word in words), failed.value.message
    for other in (fn for fn in checks.CHECKS if fn != f"forward:{function}"):
        checks.CHECKS[other](InProcess(source))  # cached_step is judged with the file's own pieces


def test_the_reference_follows_the_librarys_decoding_rules():
    """Filters and rotation equal labs.nn.decoding's and labs.nn.modern's on the checker's fixtures."""
    for k in (1, 3, 5):
        assert np.array_equal(ref.top_k_filter(checks.ROWS, k), decoding.top_k_filter(checks.ROWS, k))
    for p in checks.NUCLEUS_PS:
        assert np.array_equal(ref.top_p_filter(checks.NUCLEUS, p), decoding.top_p_filter(checks.NUCLEUS, p))
    x, positions = np.random.default_rng(0).normal(size=(2, 5, 8)), np.arange(3, 8)
    assert np.allclose(ref.rope_rotate(x, positions, 100.0), apply_rope(x, *rope_angles(positions, 8, 100.0)),
                       rtol=0, atol=1e-12)
