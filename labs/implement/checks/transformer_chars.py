"""transformer-chars in the checker: fixed-input checks of causal attention (values, the mask, gradients),
of splitting into heads and merging them back, and of the pre-norm block (forward values, gradients by
finite differences), then training a one-block transformer character model on the learner's block."""

from __future__ import annotations

import numpy as np

from labs.datasets import load_text
from labs.implement.checks import charlm
from labs.implement.checks.common import CheckFailed, call, expect_array, expect_gradients, unpack
from labs.implement.remote import Learner, LearnerRaised
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
    if not np.allclose(moved[:, :-1], np.asarray(got)[:, :-1]):
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


B, TT, C, HEADS = 2, 3, 8, 2


def _features() -> np.ndarray:
    return np.random.default_rng(77).standard_normal((B, TT, C))


def check_split_heads(m: Learner) -> str:
    x = _features()
    got = call(m, "split_heads", x, HEADS)
    want = ref.split_heads(x, HEADS)
    expect_array(f"split_heads(x of shape {x.shape}, n_heads={HEADS})", got, want, mistakes={
        "the heads mix features of different positions: reshaping (N, T, C) straight to (N, H, T, C/H) cuts "
        "the sequence, not the features; reshape to (N, T, H, C/H), then swap the T and H axes":
            x.reshape(B, HEADS, TT, C // HEADS),
        "each head got every H-th feature; head h owns the consecutive features h*C/H .. (h+1)*C/H - 1":
            x.reshape(B, TT, C // HEADS, HEADS).transpose(0, 3, 1, 2),
    })
    return f"(N, T, C) {x.shape} -> (N, H, T, C/H) {want.shape}, each head its own consecutive features"


def check_merge_heads(m: Learner) -> str:
    heads = ref.split_heads(_features(), HEADS)
    want = ref.merge_heads(heads)
    expect_array(f"merge_heads(x of shape {heads.shape})", call(m, "merge_heads", heads), want, mistakes={
        "the heads were reshaped without moving the head axis back: transpose (N, H, T, D) to (N, T, H, D) "
        "first, then reshape to (N, T, H * D), or the features of different positions mix":
            heads.reshape(B, TT, C),
    })
    dout = np.random.default_rng(78).standard_normal(heads.shape)  # merge_heads is split_heads' backward
    message = expect_gradients(
        "merge_heads, as the backward of split_heads",
        lambda x: float(np.sum(ref.split_heads(x, HEADS) * dout)), {"x": want},
        {"x": call(m, "merge_heads", dout)}, {"x": ref.merge_heads(dout)})
    return f"the inverse of split_heads, and so its backward ({message})"


PARAM_NAMES = ("Wq", "Wk", "Wv", "Wo", "W1", "W2")


def _block_inputs() -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    r = np.random.default_rng(123)
    shapes = [(C, C)] * 4 + [(C, 4 * C), (4 * C, C)]
    return r.standard_normal((B, TT, C)), tuple(r.standard_normal(s) / np.sqrt(s[0]) for s in shapes)


def _attention_branch(a, params, split=ref.split_heads, attention=ref.attention_forward):
    """merge(attention(heads of a)) @ Wo, with the pieces replaceable to model a mistake."""
    wq, wk, wv, wo = params[:4]
    n, steps, width = a.shape
    q, k, v = (split(a @ w, HEADS).reshape(n * HEADS, steps, -1) for w in (wq, wk, wv))
    return ref.merge_heads(attention(q, k, v).reshape(n, HEADS, steps, -1)) @ wo


def _mlp(a, params):
    return np.maximum(a @ params[4], 0) @ params[5]


def _forward_mistakes(x, params) -> dict[str, np.ndarray]:
    ln = ref._layer_norm
    h = x + _attention_branch(ln(x), params)
    post_h = ln(x + _attention_branch(x, params))
    wrong_split = lambda z, n: z.reshape(z.shape[0], n, z.shape[1], -1)  # noqa: E731
    h_mixed = x + _attention_branch(ln(x), params, split=wrong_split)
    h_future = x + _attention_branch(ln(x), params, attention=_unmasked)
    return {
        "this is the post-norm block (LayerNorm after each residual sum); pre-norm normalises each branch's "
        "INPUT and leaves the sum alone: h = x + attn(LN(x)), y = h + mlp(LN(h))":
            ln(post_h + _mlp(post_h, params)),
        "the residuals are missing: the block adds each branch to its input, h = x + attn(LN(x)) and "
        "y = h + mlp(LN(h))": _mlp(ln(_attention_branch(ln(x), params)), params),
        "the MLP's residual is missing: y = h + mlp(LN(h))": _mlp(ln(h), params),
        "the heads mix positions (the split_heads of the block reshapes without its transpose)":
            h_mixed + _mlp(ln(h_mixed), params),
        "the block's attention sees the future: use your causal attention_forward per head":
            h_future + _mlp(ln(h_future), params),
        "the MLP has no ReLU: y = h + relu(LN(h) @ W1) @ W2": h + ln(h) @ params[4] @ params[5],
    }


def _wrong_pieces(m: Learner, names: tuple[str, ...]) -> list[str]:
    """Which of the learner's own pieces that a block is built from give wrong values on fixed inputs."""
    q, k, v = _qkv()
    x = _features()
    dout = np.random.default_rng(5).standard_normal(q.shape)
    cases = {"attention_forward": (lambda: (ref.attention_forward(q, k, v),), (q, k, v)),
             "attention_backward": (lambda: ref.attention_backward(dout, q, k, v), (dout, q, k, v)),
             "split_heads": (lambda: (ref.split_heads(x, HEADS),), (x, HEADS)),
             "merge_heads": (lambda: (ref.merge_heads(ref.split_heads(x, HEADS)),), (ref.split_heads(x, HEADS),))}
    wrong = []
    for name in names:
        want, args = cases[name]
        try:
            got = getattr(m, name)(*args)
        except LearnerRaised:  # a piece that raises is a wrong piece
            wrong.append(name)
            continue
        got = got if isinstance(got, (tuple, list)) else (got,)
        if len(got) != len(want()) or not all(isinstance(g, np.ndarray) and g.shape == w.shape and np.allclose(g, w)
                                              for g, w in zip(got, want())):
            wrong.append(name)
    return wrong


def _blame(m: Learner, check, names: tuple[str, ...]) -> str:
    """Run a block check; when it fails and a piece the block is built from fails too, say so first."""
    try:
        return check()
    except CheckFailed as failed:
        wrong = _wrong_pieces(m, names)
        if not wrong:
            raise
        raise CheckFailed(f"your {' and '.join(wrong)} fails its own check, and the block is built from it: fix "
                          f"that first. {failed.message}") from None


def check_block_forward(m: Learner) -> str:
    return _blame(m, lambda: _check_block_forward(m), ("attention_forward", "split_heads", "merge_heads"))


def check_block_backward(m: Learner) -> str:
    return _blame(m, lambda: _check_block_backward(m),
                  ("attention_forward", "attention_backward", "split_heads", "merge_heads"))


def _check_block_forward(m: Learner) -> str:
    x, params = _block_inputs()
    want = ref.block_forward(x, params, HEADS)
    expect_array("block_forward output", call(m, "block_forward", x, params, HEADS), want,
                 mistakes=_forward_mistakes(x, params))
    return f"y has shape {want.shape} and the pre-norm block's values (x + attn(LN(x)), then + mlp(LN(h)))"


def _backward_without_residuals(dout, x, params, *, mlp: bool, attention: bool):
    """The reference backward with the residual's own path (dout straight to the input) dropped."""
    wq, wk, wv, wo, w1, w2 = params
    h = x + _attention_branch(ref._layer_norm(x), params)
    dm, dw1, dw2 = ref._mlp_backward(dout, ref._layer_norm(h), w1, w2)
    dh = ref._layer_norm_backward(dm, h) + (0 if mlp else dout)
    da, dwq, dwk, dwv, dwo = ref._attention_backward(dh, ref._layer_norm(x), wq, wk, wv, wo, HEADS)
    dx = ref._layer_norm_backward(da, x) + (0 if attention else dh)
    return (dx, dwq, dwk, dwv, dwo, dw1, dw2)


def _same(got: object, wrong: np.ndarray) -> bool:
    return isinstance(got, np.ndarray) and got.shape == wrong.shape and bool(np.allclose(got, wrong))


def _check_block_backward(m: Learner) -> str:
    x, params = _block_inputs()
    dout = np.random.default_rng(9).standard_normal(x.shape)
    dx, dparams = unpack("block_backward", call(m, "block_backward", dout, x, params, HEADS), ("dx", "dparams"))
    dparams = unpack("block_backward's dparams", dparams, tuple("d" + n for n in PARAM_NAMES))
    want_dx, want_params = ref.block_backward(dout, x, params, HEADS)
    names = ("x",) + PARAM_NAMES
    got = dict(zip(names, (dx,) + tuple(dparams)))
    want = dict(zip(names, (want_dx,) + tuple(want_params)))
    for message, flags in (  # judged on all the gradients at once: the residuals' paths touch several
        ("the residuals are missing from the backward: x + f(x) sends its gradient straight to x AND "
         "through f; add it on both sums", dict(mlp=True, attention=True)),
        ("the MLP residual's gradient is missing: h feeds y both directly and through the MLP, so "
         "dh = dout + (the MLP branch's gradient)", dict(mlp=True, attention=False)),
        ("the attention residual's gradient is missing: x feeds h both directly and through attention, "
         "so dx = dh + (the attention branch's gradient)", dict(mlp=False, attention=True)),
    ):
        wrong = dict(zip(names, _backward_without_residuals(dout, x, params, **flags)))
        if all(_same(got[k], wrong[k]) for k in names):
            off = [f"d{k}" for k in names if not np.allclose(wrong[k], want[k])]
            raise CheckFailed(f"block_backward: {', '.join(off)} {'is' if len(off) == 1 else 'are'} off: {message}")

    def loss(x, Wq, Wk, Wv, Wo, W1, W2):
        return float(np.sum(ref.block_forward(x, (Wq, Wk, Wv, Wo, W1, W2), HEADS) * dout))

    inputs = dict(zip(names, (x,) + params))
    return expect_gradients("block_backward", loss, inputs, got, want)


CHECKS = {
    "forward:attention_forward": check_attention_forward,
    "forward:split_heads": check_split_heads,
    "forward:merge_heads": check_merge_heads,
    "forward:block_forward": check_block_forward,
    "gradient:attention_backward": check_attention_backward,
    "gradient:block_backward": check_block_backward,
}

# -- training ------------------------------------------------------------------------------------------
TARGET = 2.40
"""validation loss in nats per character (the reference reaches 2.17; without attention the model is a
bigram, about 2.5)"""
WIDTH, N_HEADS, STEPS, BATCH, LENGTH, LR = 32, 4, 300, 32, 16, 0.01


def train(m: Learner, budget_s: float, report=None) -> tuple[float, str, dict[str, float]]:
    """x = token + position embeddings; h = the learner's block_forward(x); logits = h W_out + b_out.
    The learner's block_backward gives the block's gradients (its attention, heads and residuals are the
    learner's); the embeddings, the readout and Adam are the grader's."""
    vocab = load_text(charlm.N_CHARS).vocab_size
    rng = np.random.default_rng(0)
    s = np.sqrt(1 / WIDTH)
    params = [rng.normal(0, 0.1, (vocab, WIDTH)), rng.normal(0, 0.1, (LENGTH, WIDTH))]
    params += [rng.normal(0, s, (WIDTH, WIDTH)) for _ in range(4)]  # Wq, Wk, Wv, Wo
    params += [rng.normal(0, s, (WIDTH, 4 * WIDTH)), rng.normal(0, np.sqrt(1 / (4 * WIDTH)), (4 * WIDTH, WIDTH))]
    params += [rng.normal(0, s, (WIDTH, vocab)), np.zeros(vocab)]

    def embed(inputs):
        return params[0][inputs] + params[1][None, : inputs.shape[1]]

    def block(x):  # its shapes were checked before training starts
        return m.block_forward(x, tuple(params[2:8]), N_HEADS)

    def step(inputs, targets):
        x = embed(inputs)
        loss, dy, dw_out, db_out = charlm.readout(block(x), params[8], params[9], targets)
        dx, dblock = unpack("block_backward", m.block_backward(dy, x, tuple(params[2:8]), N_HEADS),
                            ("dx", "dparams"))
        demb = np.zeros_like(params[0])
        np.add.at(demb, inputs, dx)
        return loss, [demb, dx.sum(axis=0), *dblock, dw_out, db_out]

    def evaluate(inputs, targets):
        return charlm.readout(block(embed(inputs)), params[8], params[9], targets)[0]

    fraction, message, metrics = charlm.train_char_model(
        step, evaluate, params, target=TARGET, lr=LR, steps=STEPS, batch=BATCH, length=LENGTH,
        budget_s=budget_s, report=report)
    message += (f"; trained through your block_forward and block_backward ({N_HEADS} heads of width "
                f"{WIDTH // N_HEADS}); the embeddings, readout and Adam are the grader's")
    return fraction, message, metrics

