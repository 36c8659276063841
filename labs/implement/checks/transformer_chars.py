"""transformer-chars in the checker: fixed-input checks of causal attention (values, the mask, gradients),
then training a one-block attention character model around the learner's two functions."""

from __future__ import annotations

import numpy as np

from labs.datasets import load_text
from labs.implement.checks import charlm
from labs.implement.checks.common import CheckFailed, call, expect_array, expect_gradients, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import transformer_chars as ref

N, T, D = 2, 5, 4
NAMES = ("q", "k", "v")


def _qkv() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = np.random.default_rng(2024)
    return r.standard_normal((N, T, D)), r.standard_normal((N, T, D)), r.standard_normal((N, T, D))


def _unmasked(q, k, v):
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[2])
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True) @ v


def check_attention_forward(m: Learner) -> str:
    q, k, v = _qkv()
    got = call(m, "attention_forward", q, k, v)
    want = ref.attention_forward(q, k, v)
    unscaled = ref.attention_forward(q * np.sqrt(D), k, v)
    expect_array("attention_forward output", got, want, mistakes={
        "the future is visible: mask the scores of positions s > t to -infinity before the softmax":
            _unmasked(q, k, v),
        "the scores are not scaled: divide q @ k^T by sqrt(d)": unscaled,
    })
    later = v.copy()
    later[:, -1] += 10.0  # changing the last position's value must not change any earlier output
    moved = np.asarray(call(m, "attention_forward", q, k, later))
    if not np.allclose(moved[:, :-1], got[:, :-1]):
        raise CheckFailed("attention_forward: earlier outputs changed when only the last position's value did; "
                          "position t may only attend to positions 0..t")
    return f"out has shape {want.shape}, the right values, and no position sees the future"


def check_attention_backward(m: Learner) -> str:
    q, k, v = _qkv()
    dout = np.random.default_rng(5).standard_normal((N, T, D))
    got = unpack("attention_backward", call(m, "attention_backward", dout, q, k, v), ("dq", "dk", "dv"))
    want = ref.attention_backward(dout, q, k, v)
    unscaled = "the 1/sqrt(d) of the scores is missing from the backward pass"
    return expect_gradients(  # no `batch`: attention takes no mean over the batch, so N is no suspect
        "attention_backward", lambda q, k, v: float(np.sum(ref.attention_forward(q, k, v) * dout)),
        {"q": q, "k": k, "v": v}, dict(zip(NAMES, got)), dict(zip(NAMES, want)),
        mistakes={"q": {unscaled: want[0] * np.sqrt(D)}, "k": {unscaled: want[1] * np.sqrt(D)}},
    )


CHECKS = {
    "forward:attention_forward": check_attention_forward,
    "gradient:attention_backward": check_attention_backward,
}

# -- training ------------------------------------------------------------------------------------------
TARGET = 2.40
"""validation loss in nats per character (the reference reaches 2.25; without attention the model is a
bigram, about 2.5)"""
WIDTH, STEPS, BATCH, LENGTH, LR = 48, 300, 32, 16, 0.01


def train(m: Learner, budget_s: float, report=None) -> tuple[float, str, dict[str, float]]:
    """x = token + position embeddings; h = x + attention(x Wq, x Wk, x Wv) Wo; logits = h W_out + b_out."""
    vocab = load_text(charlm.N_CHARS).vocab_size
    rng = np.random.default_rng(0)
    s = np.sqrt(1 / WIDTH)
    params = [rng.normal(0, 0.1, (vocab, WIDTH)), rng.normal(0, 0.1, (LENGTH, WIDTH))]
    params += [rng.normal(0, s, (WIDTH, WIDTH)) for _ in range(4)]  # Wq, Wk, Wv, Wo
    params += [rng.normal(0, s, (WIDTH, vocab)), np.zeros(vocab)]

    def forward(inputs):
        emb, pos, wq, wk, wv, wo = params[:6]
        x = emb[inputs] + pos[None, : inputs.shape[1]]
        q, k, v = x @ wq, x @ wk, x @ wv
        a = m.attention_forward(q, k, v)
        return x + a @ wo, (x, q, k, v, a)

    def step(inputs, targets):
        emb, pos, wq, wk, wv, wo, w_out, b_out = params
        h, (x, q, k, v, a) = forward(inputs)
        loss, dh, dw_out, db_out = charlm.readout(h, w_out, b_out, targets)
        da = dh @ wo.T
        dq, dk, dv = m.attention_backward(da, q, k, v)
        dx = dh + dq @ wq.T + dk @ wk.T + dv @ wv.T
        demb = np.zeros_like(emb)
        np.add.at(demb, inputs, dx)
        flat = lambda t: t.reshape(-1, t.shape[-1])  # noqa: E731
        grads = [demb, dx.sum(axis=0), flat(x).T @ flat(dq), flat(x).T @ flat(dk), flat(x).T @ flat(dv),
                 flat(a).T @ flat(dh), dw_out, db_out]
        return loss, grads

    def evaluate(inputs, targets):
        return charlm.readout(forward(inputs)[0], params[6], params[7], targets)[0]

    return charlm.train_char_model(step, evaluate, params, target=TARGET, lr=LR, steps=STEPS, batch=BATCH,
                                   length=LENGTH, budget_s=budget_s, report=report)
