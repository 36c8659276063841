"""modern-lm build (issue 15): RMSNorm, SwiGLU and rotary positions, forward and backward, and attention with
rotary positions. Each classic mistake, edited into a copy of the reference solution, costs the checks it
breaks with a message in the learner's terms, and every other check still passes. Two go through the real
grader (so the training stage is seen to wait for them); the others run the task's check functions on the
edited module directly, which is what the grader's checker does, without a process per mistake. The
reference scoring 100 and the scaffold 0 are the parametrized tests of test_implement_grading.py."""

from __future__ import annotations

import types

import numpy as np
import pytest

from labs.implement import get_task
from labs.implement.checks import modern_lm as checks
from labs.implement.checks.common import CheckFailed
from labs.implement.solutions import modern_lm as ref
from tests.implement.helpers import assert_costs_exactly, grade_source, with_mistake

LAB = "modern-lm"
ROTATE = """    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out
"""
HALVES = """    half = x.shape[-1] // 2
    first, second = x[..., :half], x[..., half:]
    return np.concatenate([first * cos - second * sin, first * sin + second * cos], axis=-1)
"""

MISTAKES = [
    # (what, line in the reference, the mistake, {check it breaks: words its message must contain})
    ("eps outside the square root",
     "return 1.0 / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps)",
     "return 1.0 / (np.sqrt((x * x).mean(axis=-1, keepdims=True)) + eps)",
     {"forward:rmsnorm_forward": ["eps is outside the square root"], "gradient:rmsnorm_backward": ["dx", "dg"]}),
    ("the normaliser treated as a constant in the backward",
     "dx = r * (g_hat - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True))", "dx = r * g_hat",
     {"gradient:rmsnorm_backward": ["normaliser's own gradient is missing", "depends on x"]}),
    ("SiLU's derivative taken as the sigmoid",
     "da = dh * b * s * (1 + a * (1 - s))", "da = dh * b * s",
     {"gradient:swiglu_backward": ["dx", "dW1", "SiLU's derivative is not the sigmoid"]}),
    ("the halves rotated instead of adjacent pairs", ROTATE, HALVES,
     {"forward:rope_forward": ["paired as the two HALVES", "neighbours (2i, 2i+1)"],
      "gradient:rope_backward": ["dx"],
      "forward:rope_attention": ["your rope_forward fails its own check", "fix that first"]}),
    ("the frequencies theta^(-i/d)",
     "freqs = theta ** (-np.arange(0, d, 2) / d)", "freqs = theta ** (-np.arange(d // 2) / d)",
     {"forward:rope_forward": ["theta^(-i/d)"], "gradient:rope_backward": ["dx"],
      "forward:rope_attention": ["your rope_forward fails its own check"]}),
    ("the forward rotation reused backward",
     "return _rotate(dout, cos.astype(dout.dtype), -sin.astype(dout.dtype))",
     "return _rotate(dout, cos.astype(dout.dtype), sin.astype(dout.dtype))",
     {"gradient:rope_backward": ["rotates dout forward again", "inverse"]}),
]
GRADED = [
    ("the gate missing", "return (a * _sigmoid(a) * (x @ W3)) @ W2", "return (a * _sigmoid(a)) @ W2",
     {"forward:swiglu_forward": ["the gate is missing", "x W3"]}),
    ("RoPE on the values",
     "q, k = rope_forward(q, positions, theta), rope_forward(k, positions, theta)",
     "q, k, v = rope_forward(q, positions, theta), rope_forward(k, positions, theta), "
     "rope_forward(v, positions, theta)",
     {"forward:rope_attention": ["values are rotated too", "stay as they are"]}),
]


def _module(source: str) -> types.SimpleNamespace:
    namespace: dict = {}
    exec(compile(source, "modern_lm.py", "exec"), namespace)  # noqa: S102 - the reference with one edit
    return types.SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("__")})


@pytest.mark.parametrize("what, line, wrong, broken", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_checks(what, line, wrong, broken):
    learner = _module(with_mistake(LAB, line, wrong))
    for check_id, check in checks.CHECKS.items():
        if check_id in broken:
            with pytest.raises(CheckFailed) as failed:
                check(learner)
            for word in broken[check_id]:
                assert word in failed.value.message, (check_id, failed.value.message)
        else:
            check(learner)  # passes: raises nothing


@pytest.mark.parametrize("what, line, wrong, broken", GRADED, ids=[m[0] for m in GRADED])
def test_through_the_grader_a_mistake_costs_its_check_and_training_waits(tmp_path, what, line, wrong, broken):
    assert_costs_exactly(grade_source(tmp_path, LAB, with_mistake(LAB, line, wrong)), LAB, broken)


def test_every_function_has_its_check_and_points_add_to_100():
    task = get_task(LAB)
    assert sum(c.points for c in task.checks) == 100
    assert {c.id for c in task.checks} - {"structure", "train"} == set(checks.CHECKS)


def test_the_reference_pieces_are_what_the_lesson_says():
    r = np.random.default_rng(0)
    x = r.standard_normal((3, 8))
    y = ref.rmsnorm_forward(x, np.ones(8), 0.0)
    assert np.allclose((y * y).mean(axis=-1), 1.0)  # unit root mean square, no centring
    assert not np.allclose(y.mean(axis=-1), 0.0)
    q, k = r.standard_normal((1, 1, 8)), r.standard_normal((1, 1, 8))
    score = lambda t, s: float(ref.rope_forward(q, np.array([t]), 10000.0)[0, 0]  # noqa: E731
                               @ ref.rope_forward(k, np.array([s]), 10000.0)[0, 0])
    assert np.isclose(score(3, 1), score(12, 10)) and not np.isclose(score(3, 1), score(3, 2))  # only t - s


def test_training_runs_the_learners_pieces_and_says_which_were_theirs(monkeypatch):
    monkeypatch.setattr(checks, "STEPS", 2)
    names = ("rmsnorm_forward", "rmsnorm_backward", "swiglu_forward", "swiglu_backward", "rope_forward",
             "rope_backward", "rope_attention")
    calls = dict.fromkeys(names, 0)

    def counted(name):
        def fn(*args):
            calls[name] += 1
            return getattr(ref, name)(*args)
        return fn

    _, message, metrics = checks.train(types.SimpleNamespace(**{n: counted(n) for n in names}), 60.0)
    assert all(calls[n] > 0 for n in names), calls
    assert calls["rope_attention"] == calls["swiglu_forward"] and calls["swiglu_backward"] == 2
    assert "your rmsnorm, swiglu and rope" in message and "the grader's" in message
    assert np.isfinite(metrics["val_loss"])
