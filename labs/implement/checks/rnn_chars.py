"""rnn-chars in the checker: fixed-input checks of one step and of the whole sequence (forward and
backpropagation through time), then training a character model on the learner's recurrence."""

from __future__ import annotations

import numpy as np

from labs.datasets import load_text
from labs.implement.checks import charlm
from labs.implement.checks.common import call, expect_array, expect_gradients, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import rnn_chars as ref

N, T, D, H = 3, 4, 5, 6
STEP_GRADS = ("x", "h_prev", "Wx", "Wh", "b")
SEQ_GRADS = ("x", "h0", "Wx", "Wh", "b")


def _inputs(steps: int | None) -> dict[str, np.ndarray]:
    r = np.random.default_rng(99)
    x = r.standard_normal((N, steps, D) if steps else (N, D))
    return {"x": x, "h": 0.5 * r.standard_normal((N, H)), "Wx": 0.5 * r.standard_normal((D, H)),
            "Wh": 0.5 * r.standard_normal((H, H)), "b": 0.1 * r.standard_normal(H)}


def check_step_forward(m: Learner) -> str:
    a = _inputs(None)
    args = (a["x"], a["h"], a["Wx"], a["Wh"], a["b"])
    want = ref.rnn_step_forward(*args)
    expect_array("rnn_step_forward output", call(m, "rnn_step_forward", *args), want, mistakes={
        "tanh is missing: h = tanh(x @ Wx + h_prev @ Wh + b)": np.arctanh(want),
        "the previous state is ignored: add h_prev @ Wh": np.tanh(a["x"] @ a["Wx"] + a["b"]),
    })
    return f"h has shape {want.shape} and the right values"


def check_sequence_forward(m: Learner) -> str:
    a = _inputs(T)
    args = (a["x"], a["h"], a["Wx"], a["Wh"], a["b"])
    want = ref.rnn_forward(*args)
    expect_array("rnn_forward output hs", call(m, "rnn_forward", *args), want,
                 mistakes={"every step started from h0: each step must start from the previous step's state":
                           np.tanh(a["x"] @ a["Wx"] + (a["h"] @ a["Wh"])[:, None, :] + a["b"])})
    return f"hs has shape {want.shape}; every step feeds the next"


def check_step_backward(m: Learner) -> str:
    a = _inputs(None)
    h = ref.rnn_step_forward(a["x"], a["h"], a["Wx"], a["Wh"], a["b"])
    dh = np.random.default_rng(7).standard_normal(h.shape)
    got = unpack("rnn_step_backward", call(m, "rnn_step_backward", dh, a["x"], a["h"], h, a["Wx"], a["Wh"]),
                 tuple("d" + n for n in STEP_GRADS))
    want = ref.rnn_step_backward(dh, a["x"], a["h"], h, a["Wx"], a["Wh"])
    bare = dh  # what the tanh's derivative would have multiplied: its absence shows in every gradient
    no_tanh = (bare @ a["Wx"].T, bare @ a["Wh"].T, a["x"].T @ bare, a["h"].T @ bare, bare.sum(axis=0))
    tanh_message = "the tanh's derivative (1 - h**2) is missing"
    return expect_gradients(
        "rnn_step_backward",
        lambda x, h_prev, Wx, Wh, b: float(np.sum(ref.rnn_step_forward(x, h_prev, Wx, Wh, b) * dh)),
        {"x": a["x"], "h_prev": a["h"], "Wx": a["Wx"], "Wh": a["Wh"], "b": a["b"]},
        dict(zip(STEP_GRADS, got)), dict(zip(STEP_GRADS, want)), batch=N,
        mistakes={k: {tanh_message: v} for k, v in zip(STEP_GRADS, no_tanh)},
    )


def truncated_bptt(dhs, x, h0, hs, Wx, Wh):
    """What rnn_backward returns when the gradient is not carried back from step t + 1 to step t."""
    grads = [np.zeros_like(x), np.zeros_like(h0), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])]
    for t in range(x.shape[1]):
        h_prev = hs[:, t - 1] if t > 0 else h0
        dx, dh_prev, dWx, dWh, db = ref.rnn_step_backward(dhs[:, t], x[:, t], h_prev, hs[:, t], Wx, Wh)
        grads[0][:, t] = dx
        if t == 0:
            grads[1] = dh_prev
        for acc, g in zip(grads[2:], (dWx, dWh, db)):
            acc += g
    return grads


def check_sequence_backward(m: Learner) -> str:
    a = _inputs(T)
    hs = ref.rnn_forward(a["x"], a["h"], a["Wx"], a["Wh"], a["b"])
    dhs = np.random.default_rng(8).standard_normal(hs.shape)
    args = (dhs, a["x"], a["h"], hs, a["Wx"], a["Wh"])
    got = unpack("rnn_backward", call(m, "rnn_backward", *args), tuple("d" + n for n in SEQ_GRADS))
    truncated = truncated_bptt(*args)
    message = ("the gradient stops after one step: add the dh_prev of step t + 1 to dhs[:, t] before "
               "backpropagating step t (backpropagation THROUGH time)")
    return expect_gradients(
        "rnn_backward",
        lambda x, h0, Wx, Wh, b: float(np.sum(ref.rnn_forward(x, h0, Wx, Wh, b) * dhs)),
        {"x": a["x"], "h0": a["h"], "Wx": a["Wx"], "Wh": a["Wh"], "b": a["b"]},
        dict(zip(SEQ_GRADS, got)), dict(zip(SEQ_GRADS, ref.rnn_backward(*args))), batch=N,
        mistakes={k: {message: v} for k, v in zip(SEQ_GRADS, truncated)},
    )


CHECKS = {
    "forward:rnn_step_forward": check_step_forward,
    "forward:rnn_forward": check_sequence_forward,
    "gradient:rnn_step_backward": check_step_backward,
    "gradient:rnn_backward": check_sequence_backward,
}

# -- training ------------------------------------------------------------------------------------------
TARGET = 2.30
"""validation loss in nats per character (the reference reaches 2.08)"""
HIDDEN, STEPS, BATCH, LENGTH, LR = 64, 300, 32, 16, 0.01


def train(m: Learner, budget_s: float, report=None) -> tuple[float, str, dict[str, float]]:
    vocab = load_text(charlm.N_CHARS).vocab_size
    rng = np.random.default_rng(0)
    params = [rng.normal(0, np.sqrt(1 / vocab), (vocab, HIDDEN)),  # Wx, Wh, b, then the readout
              rng.normal(0, np.sqrt(1 / HIDDEN), (HIDDEN, HIDDEN)), np.zeros(HIDDEN),
              rng.normal(0, np.sqrt(1 / HIDDEN), (HIDDEN, vocab)), np.zeros(vocab)]
    eye = np.eye(vocab)

    def hidden_states(inputs):
        wx, wh, b = params[:3]
        x, h0 = eye[inputs], np.zeros((len(inputs), HIDDEN))
        return x, h0, m.rnn_forward(x, h0, wx, wh, b)

    def step(inputs, targets):
        wx, wh, _, w_out, b_out = params
        x, h0, hs = hidden_states(inputs)
        loss, dhs, dw_out, db_out = charlm.readout(hs, w_out, b_out, targets)
        _, _, dwx, dwh, db = m.rnn_backward(dhs, x, h0, hs, wx, wh)
        return loss, [np.clip(g, -5, 5) for g in (dwx, dwh, db, dw_out, db_out)]

    def evaluate(inputs, targets):
        return charlm.readout(hidden_states(inputs)[2], params[3], params[4], targets)[0]

    return charlm.train_char_model(step, evaluate, params, target=TARGET, lr=LR, steps=STEPS, batch=BATCH,
                                   length=LENGTH, budget_s=budget_s, report=report)
