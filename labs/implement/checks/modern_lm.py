"""modern-lm in the checker: the learner's RMSNorm, SwiGLU and rotary positions on fixed float64 inputs
(forward values against the reference, every backward against central finite differences), attention
with rotary positions, then a one-block modern language model assembled from the learner's pieces that
must learn Shakespeare's characters.

A wrong answer is matched against the classic mistakes first: eps outside the square root, LayerNorm's
mean subtracted, the gain left out; the gate missing (or a sigmoid where SiLU belongs), the two input
matrices swapped, SiLU's derivative taken as the sigmoid; the two halves rotated instead of neighbouring
pairs, the frequencies theta^(-i/d), the rotation the wrong way, the forward rotation reused backward;
RoPE applied to the values too, to the queries only, or the causal mask missing.
"""

from __future__ import annotations

import numpy as np

from labs.datasets import load_text
from labs.implement.checks import charlm
from labs.implement.checks.common import CheckFailed, call, expect_array, expect_gradients, unpack
from labs.implement.remote import Learner, LearnerRaised
from labs.implement.solutions import modern_lm as ref
from labs.nn.modern import attention_backward, scaled_dot_product_attention

EPS = 0.1
"""eps for the RMSNorm checks: large next to mean(x^2) of the small inputs, so where it goes shows"""
THETA = 100.0
"""a small base for the rotary checks: every pair turns visibly even at the few positions used"""
POSITIONS = np.array([3, 0, 7, 1, 12])


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- RMSNorm --------------------------------------------------------------------------------------
def _norm_inputs():
    r = _rng(11)
    return 0.3 * r.standard_normal((2, 3, 6)), 1.0 + 0.5 * r.standard_normal(6)


def _rms_eps_outside(x, g, eps):
    return g * x / (np.sqrt((x * x).mean(axis=-1, keepdims=True)) + eps)


def _layernorm(x, g, eps):
    c = x - x.mean(axis=-1, keepdims=True)
    return g * c / np.sqrt((c * c).mean(axis=-1, keepdims=True) + eps)


def check_rmsnorm_forward(m: Learner) -> str:
    x, g = _norm_inputs()
    want = ref.rmsnorm_forward(x, g, EPS)
    expect_array(f"rmsnorm_forward output (eps {EPS:g})", call(m, "rmsnorm_forward", x, g, EPS), want, mistakes={
        "eps is outside the square root: divide by sqrt(mean(x^2) + eps), not sqrt(mean(x^2)) + eps":
            _rms_eps_outside(x, g, EPS),
        "the mean is subtracted first: that is LayerNorm; RMSNorm only divides by the root mean square":
            _layernorm(x, g, EPS),
        "the gain g is missing: multiply the normalised x by g": ref.rmsnorm_forward(x, np.ones_like(g), EPS),
        "the mean of x^2 is taken over the wrong axis: normalise each position over its C features (the last axis)":
            g * x / np.sqrt((x * x).mean(axis=0, keepdims=True) + EPS),
        "eps is missing: add it inside the square root": ref.rmsnorm_forward(x, g, 0.0),
    })
    return f"y has shape {want.shape} and RMSNorm's values, eps inside the square root"


def check_rmsnorm_backward(m: Learner) -> str:
    x, g = _norm_inputs()
    dout = _rng(12).standard_normal(x.shape)
    dx, dg = unpack("rmsnorm_backward", call(m, "rmsnorm_backward", dout, x, g, EPS), ("dx", "dg"))
    want_dx, want_dg = ref.rmsnorm_backward(dout, x, g, EPS)
    r = 1.0 / np.sqrt((x * x).mean(axis=-1, keepdims=True) + EPS)
    return expect_gradients(
        "rmsnorm_backward", lambda x, g: float(np.sum(ref.rmsnorm_forward(x, g, EPS) * dout)),
        {"x": x, "g": g}, {"x": dx, "g": dg}, {"x": want_dx, "g": want_dg},
        mistakes={"x": {"the normaliser's own gradient is missing: r = 1/sqrt(mean(x^2) + eps) depends on x "
                        "too, so dx has a second term along x_hat": dout * g * r,
                        "the gain is missing from dx: the gradient reaching x_hat is dout * g":
                            ref.rmsnorm_backward(dout, x, np.ones_like(g), EPS)[0]}},
    )


# -- SwiGLU ----------------------------------------------------------------------------------------
def _ffn_inputs():
    r = _rng(21)
    c, f = 4, 6
    return (r.standard_normal((2, 3, c)), r.standard_normal((c, f)) / 2, r.standard_normal((c, f)) / 2,
            r.standard_normal((f, c)) / 2)


def _silu(a):
    return a / (1 + np.exp(-a))


def check_swiglu_forward(m: Learner) -> str:
    x, w1, w3, w2 = _ffn_inputs()
    want = ref.swiglu_forward(x, w1, w3, w2)
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    expect_array("swiglu_forward output", call(m, "swiglu_forward", x, w1, w3, w2), want, mistakes={
        "the gate is missing: SwiGLU multiplies SiLU(x W1) by a second projection x W3 before W2":
            _silu(x @ w1) @ w2,
        "the gate uses the sigmoid (that is GLU); SwiGLU's is SiLU(a) = a * sigmoid(a)":
            (sig(x @ w1) * (x @ w3)) @ w2,
        "W1 and W3 are swapped: SiLU goes on x W1, and x W3 is the linear half":
            (_silu(x @ w3) * (x @ w1)) @ w2,
        "it uses ReLU for the activation; SwiGLU's is SiLU(a) = a * sigmoid(a)":
            (np.maximum(x @ w1, 0) * (x @ w3)) @ w2,
        "the SiLU is applied after the product: SiLU(x W1) * (x W3), not SiLU(x W1 * x W3)":
            _silu((x @ w1) * (x @ w3)) @ w2,
    })
    return f"y has shape {want.shape} and SwiGLU's values: (SiLU(x W1) * x W3) W2"


def _swiglu_sigmoid_derivative(dout, x, w1, w3, w2):
    a, b = x @ w1, x @ w3
    s = 1 / (1 + np.exp(-a))
    dh = dout @ w2.T
    return dh * b * s


def check_swiglu_backward(m: Learner) -> str:
    x, w1, w3, w2 = _ffn_inputs()
    dout = _rng(22).standard_normal(x.shape)
    names = ("x", "W1", "W3", "W2")
    got = unpack("swiglu_backward", call(m, "swiglu_backward", dout, x, w1, w3, w2), tuple("d" + n for n in names))
    want = ref.swiglu_backward(dout, x, w1, w3, w2)
    da_wrong = _swiglu_sigmoid_derivative(dout, x, w1, w3, w2)
    flat = lambda t: t.reshape(-1, t.shape[-1])  # noqa: E731
    db = (dout @ w2.T) * _silu(x @ w1)
    derivative = "SiLU's derivative is not the sigmoid: d/da [a s(a)] = s (1 + a (1 - s))"
    return expect_gradients(
        "swiglu_backward", lambda x, W1, W3, W2: float(np.sum(ref.swiglu_forward(x, W1, W3, W2) * dout)),
        dict(zip(names, (x, w1, w3, w2))), dict(zip(names, got)), dict(zip(names, want)),
        mistakes={"x": {derivative: da_wrong @ w1.T + db @ w3.T,
                        "dx misses the path through x W3: x reaches y through both W1 and W3, add both":
                            want[0] - db @ w3.T,
                        "dx misses the path through x W1: x reaches y through both W1 and W3, add both":
                            db @ w3.T},
                  "W1": {derivative: flat(x).T @ flat(da_wrong)}},
    )


# -- rotary positions -------------------------------------------------------------------------------
def _rotate_halves(x, positions, theta):
    d = x.shape[-1]
    angle = np.asarray(positions, dtype=np.float64)[:, None] * theta ** (-np.arange(0, d, 2) / d)
    first, second = x[..., : d // 2], x[..., d // 2:]
    return np.concatenate([first * np.cos(angle) - second * np.sin(angle),
                           first * np.sin(angle) + second * np.cos(angle)], axis=-1)


def _rotate_freq(x, positions, theta):
    d = x.shape[-1]
    angle = np.asarray(positions, dtype=np.float64)[:, None] * theta ** (-np.arange(d // 2) / d)
    return ref._rotate(x, np.cos(angle), np.sin(angle))


def _rope_mistakes(x, positions, theta) -> dict[str, np.ndarray]:
    return {
        "the features are paired as the two HALVES (i, i + d/2); RoPE here turns neighbours (2i, 2i+1)":
            _rotate_halves(x, positions, theta),
        "the frequencies are theta^(-i/d); pair i turns at theta^(-2i/d)": _rotate_freq(x, positions, theta),
        "it rotates the wrong way: y_2i = x_2i cos - x_2i+1 sin, y_2i+1 = x_2i sin + x_2i+1 cos":
            ref.rope_forward(x, -positions, theta),
        "the positions are ignored (0, 1, 2, ... used instead); rotate time step t by positions[t]":
            ref.rope_forward(x, np.arange(len(positions)), theta),
    }


def check_rope_forward(m: Learner) -> str:
    x = _rng(31).standard_normal((2, 5, 8))
    for positions, theta in ((np.arange(5), 10000.0), (POSITIONS, THETA)):
        want = ref.rope_forward(x, positions, theta)
        expect_array(f"rope_forward output (positions {positions.tolist()}, theta {theta:g})",
                     call(m, "rope_forward", x, positions, theta), want, mistakes=_rope_mistakes(x, positions, theta))
    return "rotates neighbouring feature pairs by position * theta^(-2i/d), at any positions given"


def check_rope_backward(m: Learner) -> str:
    x = _rng(32).standard_normal((2, 5, 8))
    dout = _rng(33).standard_normal(x.shape)
    got = call(m, "rope_backward", dout, POSITIONS, THETA)
    want = ref.rope_backward(dout, POSITIONS, THETA)
    return expect_gradients(
        "rope_backward", lambda x: float(np.sum(ref.rope_forward(x, POSITIONS, THETA) * dout)),
        {"x": x}, {"x": got}, {"x": want},
        mistakes={"x": {"it rotates dout forward again; the backward of a rotation is its inverse, the rotation "
                        "by minus the angle": ref.rope_forward(dout, POSITIONS, THETA),
                        "it returns dout unchanged: the rotation acts on the gradient too": dout}},
    )


def _attend(q, k, v, causal=True):
    steps = q.shape[-2]
    mask = np.tril(np.ones((steps, steps), dtype=bool)) if causal else None
    return scaled_dot_product_attention(q, k, v, mask)[0]


def check_rope_attention(m: Learner) -> str:
    """Judged against the reference; when it fails and the learner's own rope_forward does too, that is
    named first (rope_attention is built from it)."""
    try:
        return _check_rope_attention(m)
    except CheckFailed as failed:
        x = _rng(31).standard_normal((2, 5, 8))
        try:
            mine = getattr(m, "rope_forward")(x, POSITIONS, THETA)
        except LearnerRaised:
            mine = None
        if isinstance(mine, np.ndarray) and mine.shape == x.shape \
                and np.allclose(mine, ref.rope_forward(x, POSITIONS, THETA)):
            raise
        raise CheckFailed(f"your rope_forward fails its own check, and rope_attention is built from it: fix "
                          f"that first. {failed.message}") from None


def _check_rope_attention(m: Learner) -> str:
    r = _rng(41)
    q, k, v = (r.standard_normal((2, 5, 8)) for _ in range(3))
    want = ref.rope_attention(q, k, v, POSITIONS, THETA)
    rot = lambda t: ref.rope_forward(t, POSITIONS, THETA)  # noqa: E731
    expect_array("rope_attention output", call(m, "rope_attention", q, k, v, POSITIONS, THETA), want, mistakes={
        "the values are rotated too: RoPE turns queries and keys so that q . k sees relative positions; the "
        "values carry content and stay as they are": _attend(rot(q), rot(k), rot(v)),
        "only the queries are rotated: rotate the keys by the same rule, or q . k does not depend on t - s":
            _attend(rot(q), k, v),
        "only the keys are rotated: rotate the queries by the same rule": _attend(q, rot(k), v),
        "no rotation at all: rotate q and k with your rope_forward first": _attend(q, k, v),
        "the future is visible: mask scores of keys s > t to -infinity before the softmax":
            _attend(rot(q), rot(k), v, causal=False),
        "the scores are not scaled: divide q k^T by sqrt(d)": _attend(rot(q) * np.sqrt(8), rot(k), v),
    })
    return "q and k rotated (v left alone), scaled, causal: the right output"


CHECKS = {
    "forward:rmsnorm_forward": check_rmsnorm_forward,
    "forward:swiglu_forward": check_swiglu_forward,
    "forward:rope_forward": check_rope_forward,
    "forward:rope_attention": check_rope_attention,
    "gradient:rmsnorm_backward": check_rmsnorm_backward,
    "gradient:swiglu_backward": check_swiglu_backward,
    "gradient:rope_backward": check_rope_backward,
}

# -- training ------------------------------------------------------------------------------------------
TARGET = 2.40
"""validation loss in nats per character (a bigram is about 2.5; the reference reaches ~2.30 in its 100 steps)"""
WIDTH, N_HEADS, FFN, STEPS, BATCH, LENGTH, LR, ROPE_THETA, NORM_EPS = 32, 4, 64, 100, 32, 16, 0.03, 10000.0, 1e-5
NAMES = ("E", "g1", "Wq", "Wk", "Wv", "Wo", "g2", "W1", "W3", "W2", "gf", "W_out", "b_out")


def _split(t: np.ndarray) -> np.ndarray:
    """(N, T, C) -> (N * H, T, C / H): every head of every sample one sequence."""
    n, steps, _ = t.shape
    return t.reshape(n, steps, N_HEADS, -1).transpose(0, 2, 1, 3).reshape(n * N_HEADS, steps, -1)


def _merge(t: np.ndarray, n: int) -> np.ndarray:
    _, steps, d = t.shape
    return t.reshape(n, N_HEADS, steps, d).transpose(0, 2, 1, 3).reshape(n, steps, N_HEADS * d)


def _initial_params(vocab: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    s, proj = 0.02, 0.02 / np.sqrt(2)
    return [rng.normal(0, s, (vocab, WIDTH)), np.ones(WIDTH),
            *(rng.normal(0, s, (WIDTH, WIDTH)) for _ in range(3)), rng.normal(0, proj, (WIDTH, WIDTH)),
            np.ones(WIDTH), rng.normal(0, s, (WIDTH, FFN)), rng.normal(0, s, (WIDTH, FFN)),
            rng.normal(0, proj, (FFN, WIDTH)), np.ones(WIDTH), rng.normal(0, s, (WIDTH, vocab)), np.zeros(vocab)]


def train(m: Learner, budget_s: float, report=None) -> tuple[float, str, dict[str, float]]:
    """One pre-norm modern block from the learner's pieces: e = E[ids]; h = e + attn(rmsnorm(e)) with the
    learner's rope_attention forward (their rope_forward and rope_backward around the library's attention
    backward); y = h + swiglu(rmsnorm(h)); logits = rmsnorm(y) W_out + b_out. Every RMSNorm and SwiGLU,
    forward and backward, is the learner's; the embedding, projections, readout and Adam are the grader's."""
    vocab = load_text(charlm.N_CHARS).vocab_size
    params = _initial_params(vocab)
    positions = np.arange(LENGTH)

    def forward(inputs):
        E, g1, Wq, Wk, Wv, Wo, g2, W1, W3, W2, gf = params[:11]
        e = E[inputs]
        a = m.rmsnorm_forward(e, g1, NORM_EPS)
        q, k, v = (_split(a @ w) for w in (Wq, Wk, Wv))
        o = m.rope_attention(q, k, v, positions[: inputs.shape[1]], ROPE_THETA)
        merged = _merge(o, len(inputs))
        h = e + merged @ Wo
        b = m.rmsnorm_forward(h, g2, NORM_EPS)
        y = h + m.swiglu_forward(b, W1, W3, W2)
        return m.rmsnorm_forward(y, gf, NORM_EPS), (e, a, q, k, v, merged, h, b, y)

    def step(inputs, targets):
        E, g1, Wq, Wk, Wv, Wo, g2, W1, W3, W2, gf, W_out, b_out = params
        z, (e, a, q, k, v, merged, h, b, y) = forward(inputs)
        loss, dz, dW_out, db_out = charlm.readout(z, W_out, b_out, targets)
        flat = lambda t: t.reshape(-1, t.shape[-1])  # noqa: E731
        dy, dgf = unpack("rmsnorm_backward", m.rmsnorm_backward(dz, y, gf, NORM_EPS), ("dx", "dg"))
        dbn, dW1, dW3, dW2 = unpack("swiglu_backward", m.swiglu_backward(dy, b, W1, W3, W2),
                                    ("dx", "dW1", "dW3", "dW2"))
        dh_norm, dg2 = unpack("rmsnorm_backward", m.rmsnorm_backward(dbn, h, g2, NORM_EPS), ("dx", "dg"))
        dh = dy + dh_norm
        dWo = flat(merged).T @ flat(dh)
        do = _split(dh @ Wo.T)
        pos = positions[: inputs.shape[1]]
        qr, kr = m.rope_forward(np.stack([q, k]), pos, ROPE_THETA)  # one call turns both
        steps = inputs.shape[1]
        _, cache = scaled_dot_product_attention(qr, kr, v, np.tril(np.ones((steps, steps), dtype=bool)))
        dqr, dkr, dv = attention_backward(do, cache)
        dq, dk = m.rope_backward(np.stack([dqr, dkr]), pos, ROPE_THETA)
        dq, dk, dv = (_merge(t, len(inputs)) for t in (dq, dk, dv))
        da = dq @ Wq.T + dk @ Wk.T + dv @ Wv.T
        de_norm, dg1 = unpack("rmsnorm_backward", m.rmsnorm_backward(da, e, g1, NORM_EPS), ("dx", "dg"))
        de = dh + de_norm
        dE = np.zeros_like(E)
        np.add.at(dE, inputs, de)
        return loss, [dE, dg1, flat(a).T @ flat(dq), flat(a).T @ flat(dk), flat(a).T @ flat(dv), dWo, dg2,
                      dW1, dW3, dW2, dgf, dW_out, db_out]

    def evaluate(inputs, targets):
        losses = [charlm.readout(forward(inputs[i:i + 256])[0], params[11], params[12], targets[i:i + 256])[0]
                  * len(inputs[i:i + 256]) for i in range(0, len(inputs), 256)]
        return float(sum(losses) / len(inputs))

    try:
        fraction, message, metrics = charlm.train_char_model(
            step, evaluate, params, target=TARGET, lr=LR, steps=STEPS, batch=BATCH, length=LENGTH,
            budget_s=budget_s, report=report)
    except LearnerRaised as exc:
        raise CheckFailed(f"training: your code raised {exc.type_name}: {exc.message}{exc.where}") from None
    message += (f"; trained through your rmsnorm, swiglu and rope (one block, {N_HEADS} heads of width "
                f"{WIDTH // N_HEADS}, SwiGLU {FFN} wide); the embedding, attention's backward, readout and "
                "Adam are the grader's")
    return fraction, message, metrics
