"""transformer-chars build (issue 13 §2): causal attention, multi-head split/merge (and merge as split's
backward), and the pre-norm block, forward and backward. Each classic mistake, edited into a copy of the
reference solution and graded by the real grader, costs the checks it breaks (and the training stage,
which waits for every earlier check) with a message that names it. The block is built from the learner's
own attention and heads, so a mistake in one of those also costs the block's checks, whose messages then
say which piece to fix first. The reference scoring 100 and the scaffold 0 are the parametrized tests of
test_implement_grading.py (they cover every task)."""

from __future__ import annotations

import types

import numpy as np
import pytest

from labs.implement import get_task
from labs.implement.checks import transformer_chars as checks
from labs.implement.solutions import transformer_chars as ref
from tests.implement.helpers import assert_costs_exactly, grade_source, solution_source

LAB = "transformer-chars"
FORWARD = """    o = _attention_heads(_layer_norm(x), Wq, Wk, Wv, n_heads)[3]
    h = x + merge_heads(o.reshape(n, n_heads, steps, -1)) @ Wo
    return h + np.maximum(_layer_norm(h) @ W1, 0) @ W2
"""
POST_NORM = """    o = _attention_heads(x, Wq, Wk, Wv, n_heads)[3]
    h = _layer_norm(x + merge_heads(o.reshape(n, n_heads, steps, -1)) @ Wo)
    return _layer_norm(h + np.maximum(h @ W1, 0) @ W2)
"""
BLOCK = ("forward:block_forward", "gradient:block_backward")

MISTAKES = [
    # (what, line in the reference, the mistake, {check it breaks: words its message must contain})
    ("split without the transpose",
     "return x.reshape(n, steps, n_heads, width // n_heads).transpose(0, 2, 1, 3)",
     "return x.reshape(n, n_heads, steps, width // n_heads)",
     {"forward:split_heads": ["heads mix features of different positions", "then swap the T and H axes"],
      "forward:block_forward": ["heads mix positions", "your split_heads fails its own check"],
      "gradient:block_backward": ["your split_heads fails its own check", "fix that first"]}),
    ("merge without the transpose",
     "return x.transpose(0, 2, 1, 3).reshape(n, steps, heads * width)",
     "return x.reshape(n, steps, heads * width)",
     {"forward:merge_heads": ["reshaped without moving the head axis back", "features of different positions mix"],
      "forward:block_forward": ["your merge_heads fails its own check"],
      "gradient:block_backward": ["your merge_heads fails its own check"]}),
    ("post-norm instead of pre-norm", FORWARD, POST_NORM,
     {"forward:block_forward": ["post-norm block", "h = x + attn(LN(x)), y = h + mlp(LN(h))"]}),
    ("the MLP residual missing from the backward",
     "dh = dout + _layer_norm_backward(dm, h)", "dh = _layer_norm_backward(dm, h)",
     {"gradient:block_backward": ["dx, dWq, dWk, dWv, dWo are off", "MLP residual's gradient is missing"]}),
    ("the attention residual missing from the backward",
     "dx = dh + _layer_norm_backward(da, x)", "dx = _layer_norm_backward(da, x)",
     {"gradient:block_backward": ["dx is off", "attention residual's gradient is missing"]}),
    ("both residuals missing from the backward",
     "dh = dout + _layer_norm_backward(dm, h)\n"
     "    da, dWq, dWk, dWv, dWo = _attention_backward(dh, _layer_norm(x), Wq, Wk, Wv, Wo, n_heads)\n"
     "    dx = dh + _layer_norm_backward(da, x)",
     "dh = _layer_norm_backward(dm, h)\n"
     "    da, dWq, dWk, dWv, dWo = _attention_backward(dh, _layer_norm(x), Wq, Wk, Wv, Wo, n_heads)\n"
     "    dx = _layer_norm_backward(da, x)",
     {"gradient:block_backward": ["residuals are missing from the backward", "straight to x AND through f"]}),
    # issue 13's existing mistake, now also costing the block built on it (it was in
    # test_implement_grading.MISTAKES; same check, same words)
    ("the 1/sqrt(d) missing from attention_backward",
     "dscores = dscores / np.sqrt(q.shape[2])", "dscores = dscores",
     {"gradient:attention_backward": ["dq", "dk", "1/sqrt(d) of the scores is missing"],
      "gradient:block_backward": ["your attention_backward fails its own check"]}),
]


@pytest.mark.parametrize("what, line, wrong, broken", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_its_checks(tmp_path, what, line, wrong, broken):
    source = solution_source(LAB)
    assert source.count(line) == 1, f"{line!r} should appear exactly once in the {LAB} solution"
    assert_costs_exactly(grade_source(tmp_path, LAB, source.replace(line, wrong)), LAB, broken)


def test_points_add_to_100_and_the_new_pieces_have_their_checks():
    task = get_task(LAB)
    assert sum(c.points for c in task.checks) == 100
    assert {"forward:split_heads", "forward:merge_heads", *BLOCK} <= {c.id for c in task.checks}


def test_the_reference_attention_is_causal_and_the_block_pre_norm():
    r = np.random.default_rng(1)
    q, k, v = (r.standard_normal((1, 4, 3)) for _ in range(3))
    later = v.copy()
    later[:, -1] += 5.0
    assert np.allclose(ref.attention_forward(q, k, v)[:, :-1], ref.attention_forward(q, k, later)[:, :-1])
    x, params = checks._block_inputs()
    y = ref.block_forward(x, params, checks.HEADS)
    assert not np.allclose(y.std(axis=-1), 1.0)  # no LayerNorm after the last residual sum: pre-norm


def test_training_runs_the_learners_block_and_says_which_pieces_were_theirs(monkeypatch):
    monkeypatch.setattr(checks, "STEPS", 2)
    calls = {"block_forward": 0, "block_backward": 0}

    def counted(name):
        def fn(*args):
            calls[name] += 1
            return getattr(ref, name)(*args)
        return fn

    learner = types.SimpleNamespace(**{n: counted(n) for n in calls})
    _, message, metrics = checks.train(learner, 60.0)
    assert calls == {"block_forward": 3, "block_backward": 2}  # 2 steps, then the validation pass
    assert "your block_forward and block_backward" in message and "the grader's" in message
    assert np.isfinite(metrics["val_loss"])
