"""rnn-chars in the checker: fixed-input checks of one step and of the whole sequence (forward and
backpropagation through time), of gradient clipping by global norm and of sampling with temperature,
then training a character model on the learner's recurrence, clipped by the learner's clipping, and
writing a sample with the learner's step and sampling."""

from __future__ import annotations

import numpy as np

from labs.datasets import load_text
from labs.implement.checks import charlm
from labs.implement.checks.common import CheckFailed, call, expect_array, expect_gradients, unpack
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


def _clip_inputs() -> list[np.ndarray]:
    r = np.random.default_rng(31)
    return [r.standard_normal((D, H)), r.standard_normal((H, H)), r.standard_normal(H)]


def _clip_result(result: object, grads: list[np.ndarray], max_norm: float) -> tuple[list, object]:
    """The learner's (clipped, total_norm), with the mistake of returning the arrays alone named."""
    shapes = [g.shape for g in grads]
    if isinstance(result, (list, tuple)) and [getattr(a, "shape", None) for a in result] == shapes:
        raise CheckFailed(f"clip_by_global_norm(grads, max_norm={max_norm:g}) returned only the clipped arrays: "
                          "return (clipped, total_norm), the global norm before clipping too (training logs it)")
    clipped, total = unpack("clip_by_global_norm", result, ("clipped", "total_norm"))
    if not isinstance(clipped, (list, tuple)) or len(clipped) != len(grads):
        raise CheckFailed(f"clip_by_global_norm: clipped should be a list of {len(grads)} arrays (one per "
                          f"gradient given), got {type(clipped).__name__}")
    return list(clipped), total


def _expect_norm(got: object, grads: list[np.ndarray], max_norm: float) -> None:
    want = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    if isinstance(got, np.ndarray) and got.shape == ():
        got = got[()]
    if not isinstance(got, (int, float, np.floating, np.integer)) or isinstance(got, bool):
        raise CheckFailed(f"clip_by_global_norm: total_norm should be a float (the global norm before "
                          f"clipping, {want:.6g}), got {type(got).__name__}")
    got = float(got)
    if np.isclose(got, want, rtol=1e-9):
        return
    if want > max_norm and np.isclose(got, max_norm, rtol=1e-9):
        raise CheckFailed(f"clip_by_global_norm: total_norm is {got:.6g}, the norm AFTER clipping; return the "
                          f"norm before clipping ({want:.6g}), which says how large the step would have been")
    per_tensor = sum(float(np.linalg.norm(g)) for g in grads)
    if np.isclose(got, per_tensor, rtol=1e-9):
        raise CheckFailed(f"clip_by_global_norm: total_norm {got:.6g} is the sum of the arrays' norms; the global "
                          "norm is the square root of the sum of ALL their squared entries")
    raise CheckFailed(f"clip_by_global_norm: total_norm is {got:.6g}, expected {want:.6g} (the L2 norm of all "
                      "the entries of all the arrays together)")


def check_clip(m: Learner) -> str:
    grads = _clip_inputs()
    norm = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    for max_norm in (norm / 4, norm * 2):  # one case that clips, one that must leave the arrays alone
        clipped, total = _clip_result(call(m, "clip_by_global_norm", [g.copy() for g in grads], max_norm),
                                      grads, max_norm)
        scale = min(1.0, max_norm / norm)
        for i, (got, g) in enumerate(zip(clipped, grads)):
            per_tensor = g * min(1.0, max_norm / float(np.linalg.norm(g)))
            mistakes = {
                "each array was clipped by its own norm: clip by the GLOBAL norm of all the arrays together, "
                "one factor for all (per-array clipping changes the step's direction)": per_tensor,
                "the values were clipped one by one (np.clip); clipping by norm rescales the whole gradient, "
                "keeping its direction": np.clip(g, -max_norm, max_norm),
            }
            if scale == 1.0:
                mistakes[f"the gradients were rescaled although their global norm {norm:.4g} is below max_norm "
                         f"{max_norm:.4g}: clip only when the norm exceeds max_norm"] = g * max_norm / norm
            expect_array(f"clip_by_global_norm(grads, max_norm={max_norm:.4g}): clipped[{i}]", got, g * scale,
                         mistakes=mistakes)
        _expect_norm(total, grads, max_norm)
    return (f"one factor for all {len(grads)} arrays when their global norm {norm:.3g} exceeds max_norm, none "
            "below it, and the norm before clipping returned")


V = 6
SAMPLE_CASES = (  # (what a case is about, logits, temperature, u); no u lies near a cumulative boundary
    ("plain", np.array([1.0, 2.0, 0.5, -1.0, 1.5, 0.0]), 1.0, (0.05, 0.3, 0.62, 0.8, 0.97)),
    ("temperature", np.array([1.0, 2.0, 0.5, -1.0, 1.5, 0.0]), 0.5, (0.1, 0.55, 0.9)),
    ("temperature", np.array([1.0, 2.0, 0.5, -1.0, 1.5, 0.0]), 3.0, (0.1, 0.45, 0.75, 0.95)),
    ("greedy", np.array([0.2, -0.4, 1.1, 3.0, 2.9, 0.0]), 0.0, (0.02, 0.5, 0.99)),
    # the largest logit is not the first, and logits before it overflow np.exp when left unshifted
    ("overflow", np.array([9.0, 3.0, 8.5, 9.5, -2.0, 1.0]), 0.01, (0.2, 0.9)),
    ("overflow", np.array([0.9, 0.1, 0.5, 1.0, -2.0, 0.8]), 0.001, (0.3, 0.7)),
)


def _inverse_cdf(probs: np.ndarray, u: float) -> int:
    return min(int(np.sum(np.cumsum(probs) <= u)), len(probs) - 1)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _temperature_mistakes(logits: np.ndarray, temperature: float, u: float) -> dict[str, int]:
    """What the classic temperature mistakes draw, by the message naming them."""
    probs = _softmax(logits)
    divided = ("the temperature changes nothing, as when the probabilities are divided by it and "
               "renormalised; divide the LOGITS by the temperature, before the softmax")
    return {divided: _inverse_cdf(probs, u),
            "the probabilities were divided by the temperature; divide the LOGITS by it, before the softmax":
                _inverse_cdf(probs / temperature, u),
            "the logits were multiplied by the temperature; divide them by it (a small temperature sharpens)":
                _inverse_cdf(_softmax(logits * temperature), u)}


def check_sample(m: Learner) -> str:
    calls = [(kind, logits, temp, u) for kind, logits, temp, us in SAMPLE_CASES for u in us]
    _, logits, temp, u = calls[1]
    # a draw of the learner's own gives the same index 20 times with a probability below 1e-7
    if len({repr(call(m, "sample_next", logits.copy(), temp, u)) for _ in range(20)}) > 1:
        raise CheckFailed("sample_next returned different indices for the same logits, temperature and u: draw "
                          "with the u you are given (not np.random), so that a sample can be reproduced")
    wrong: dict[str, list[str]] = {}
    explained: dict[str, int] = {}  # message -> how many wrong temperature cases it explains
    for kind, logits, temp, u in calls:
        try:
            got = call(m, "sample_next", logits.copy(), temp, u)
        except CheckFailed as failed:
            if kind == "greedy" and "NotImplementedError" not in failed.message:
                raise CheckFailed(f"{failed.message} (temperature=0): temperature 0 means greedy, return the index "
                                  "of the largest logit without dividing by 0") from None
            raise
        want = ref.sample_next(logits, temp, u)
        if isinstance(got, np.ndarray) and got.shape == ():
            got = got[()]
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            raise CheckFailed(f"sample_next should return an int index (0 to {V - 1}), got {type(got).__name__}")
        if int(got) != want:
            wrong.setdefault(kind, []).append(f"temperature={temp:g}, u={u:g}: got {int(got)}, expected {want}")
            if kind == "temperature":
                for message, index in _temperature_mistakes(logits, temp, u).items():
                    explained[message] = explained.get(message, 0) + (index == int(got))
    if not wrong:
        return (f"the right index in all {len(calls)} cases: inverse CDF, temperature on the logits, greedy at "
                "temperature 0, no overflow at temperature 0.001")
    first = {kind: cases[0] for kind, cases in wrong.items()}
    if "plain" in wrong:
        raise CheckFailed(f"sample_next ({first['plain']}): return the first index i whose cumulative "
                          "probability exceeds u (np.cumsum of the softmax)")
    if "temperature" in wrong:
        named = [msg for msg, n in explained.items() if n == len(wrong["temperature"])]
        raise CheckFailed(f"sample_next ({first['temperature']}): "
                          + (named[0] if named else "sample from softmax(logits / temperature)"))
    if "greedy" in wrong:
        raise CheckFailed(f"sample_next ({first['greedy']}): temperature 0 means greedy: return the index of "
                          "the largest logit, whatever u is")
    raise CheckFailed(f"sample_next ({first['overflow']}): at a small temperature logits / temperature is huge "
                      "and np.exp overflows to inf (inf / inf is NaN); subtract the largest scaled logit before "
                      "np.exp, which leaves the softmax unchanged")


CHECKS = {
    "forward:rnn_step_forward": check_step_forward,
    "forward:rnn_forward": check_sequence_forward,
    "forward:clip_by_global_norm": check_clip,
    "forward:sample_next": check_sample,
    "gradient:rnn_step_backward": check_step_backward,
    "gradient:rnn_backward": check_sequence_backward,
}

# -- training ------------------------------------------------------------------------------------------
TARGET = 2.30
"""validation loss in nats per character (the reference reaches 2.08)"""
HIDDEN, STEPS, BATCH, LENGTH, LR = 64, 300, 32, 16, 0.01
MAX_NORM = 0.5
"""the global-norm threshold of the learner's clipping in training (about 60% of the reference's steps exceed it)"""
PROMPT, SAMPLE_CHARS, SAMPLE_TEMPERATURE = "ROMEO:", 80, 0.8


def train(m: Learner, budget_s: float, report=None) -> tuple[float, str, dict[str, float]]:
    """The learner's rnn_forward and rnn_backward make each step, their clip_by_global_norm bounds it
    (the readout and Adam are the grader's); then their rnn_step_forward and sample_next write a sample."""
    corpus = load_text(charlm.N_CHARS)
    vocab = corpus.vocab_size
    rng = np.random.default_rng(0)
    params = [rng.normal(0, np.sqrt(1 / vocab), (vocab, HIDDEN)),  # Wx, Wh, b, then the readout
              rng.normal(0, np.sqrt(1 / HIDDEN), (HIDDEN, HIDDEN)), np.zeros(HIDDEN),
              rng.normal(0, np.sqrt(1 / HIDDEN), (HIDDEN, vocab)), np.zeros(vocab)]
    eye = np.eye(vocab)
    norms: list[float] = []

    def hidden_states(inputs):
        wx, wh, b = params[:3]
        x, h0 = eye[inputs], np.zeros((len(inputs), HIDDEN))
        return x, h0, m.rnn_forward(x, h0, wx, wh, b)

    def step(inputs, targets):
        wx, wh, _, w_out, b_out = params
        x, h0, hs = hidden_states(inputs)
        loss, dhs, dw_out, db_out = charlm.readout(hs, w_out, b_out, targets)
        _, _, dwx, dwh, db = m.rnn_backward(dhs, x, h0, hs, wx, wh)
        clipped, norm = _clip_result(m.clip_by_global_norm([dwx, dwh, db, dw_out, db_out], MAX_NORM),
                                     [dwx, dwh, db, dw_out, db_out], MAX_NORM)
        norms.append(float(norm))
        return loss, clipped

    def evaluate(inputs, targets):
        return charlm.readout(hidden_states(inputs)[2], params[3], params[4], targets)[0]

    fraction, message, metrics = charlm.train_char_model(
        step, evaluate, params, target=TARGET, lr=LR, steps=STEPS, batch=BATCH, length=LENGTH,
        budget_s=budget_s, report=report)
    text = sample_text(m, corpus, params, rng)
    clipped_share = float(np.mean(np.array(norms) > MAX_NORM))
    metrics.update(clipped_fraction=clipped_share, grad_norm_last=norms[-1])
    message += (f"; your clipping (max_norm {MAX_NORM:g}) rescaled {clipped_share:.0%} of the steps. "
                f"Your sampling at temperature {SAMPLE_TEMPERATURE:g}: {text!r}")
    return fraction, message, metrics


def sample_text(m: Learner, corpus, params: list[np.ndarray], rng: np.random.Generator) -> str:
    """PROMPT and then SAMPLE_CHARS characters, each from the learner's rnn_step_forward (the state) and
    sample_next (the character; the grader draws u, so the sample is reproducible)."""
    wx, wh, b, w_out, b_out = params
    eye, h, ids = np.eye(corpus.vocab_size), np.zeros((1, HIDDEN)), list(corpus.encode(PROMPT))
    for i in range(len(ids) + SAMPLE_CHARS - 1):
        h = np.asarray(call(m, "rnn_step_forward", eye[[ids[i]]], h, wx, wh, b))
        if i + 1 < len(ids):
            continue  # still reading the prompt
        index = call(m, "sample_next", (h @ w_out + b_out)[0], SAMPLE_TEMPERATURE, float(rng.random()))
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < corpus.vocab_size:
            raise CheckFailed(f"sample_next returned {index!r} while writing the sample; it should be an index "
                              f"from 0 to {corpus.vocab_size - 1}")
        ids.append(int(index))
    return corpus.decode(np.array(ids))
