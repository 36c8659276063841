"""cnn-digits in the checker: fixed-input checks of convolution, max-pooling, flatten and the classifier head,
then training the learner's ConvNet (conv 3x3 -> ReLU -> max-pool 2 -> flatten -> linear head) on the digits:
the learner's six functions run in their process, two round trips a step (forward, then backward), with
the library's ReLU (NumPy's, called there), softmax cross-entropy and SGD step between them."""

from __future__ import annotations

import numpy as np

from labs.implement.checks.common import CheckFailed, call, expect_array, expect_gradients, unpack
from labs.implement.checks.digits import train_digits_model
from labs.implement.remote import Learner
from labs.implement.solutions import cnn_digits as ref
from labs.implement.solutions import ffnn_digits as mlp

N, C, H, W, F, K, PAD = 2, 2, 5, 6, 3, 3, 1


def _rng() -> np.random.Generator:
    return np.random.default_rng(4321)


def _conv_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = _rng()
    return r.standard_normal((N, C, H, W)), r.standard_normal((F, C, K, K)), r.standard_normal(F)


def check_conv_forward(m: Learner) -> str:
    x, w, b = _conv_inputs()
    want = ref.conv2d_forward(x, w, b, PAD)
    expect_array("conv2d_forward output", call(m, "conv2d_forward", x, w, b, PAD), want, mistakes={
        "the filters are flipped: this is a true convolution; use cross-correlation (no flip)":
            ref.conv2d_forward(x, w[:, :, ::-1, ::-1], b, PAD),
        "the bias b is missing (one per filter, added at every position)": want - b[None, :, None, None],
    })
    unpadded = ref.conv2d_forward(x, w, b, 0)
    expect_array("conv2d_forward output with pad=0", call(m, "conv2d_forward", x, w, b, 0), unpadded)
    return f"out has shape {want.shape} with pad=1 and {unpadded.shape} with pad=0, values right"


def check_pool_forward(m: Learner) -> str:
    x = _rng().standard_normal((N, C, 4, 6))
    want = ref.maxpool_forward(x, 2)
    n, c, h, w = x.shape
    mean = x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))
    expect_array("maxpool_forward output", call(m, "maxpool_forward", x, 2), want,
                 mistakes={"this is the average of each block; max-pooling keeps the largest value": mean})
    _at_size_3(lambda x3: expect_array("maxpool_forward output", call(m, "maxpool_forward", x3, 3),
                                       ref.maxpool_forward(x3, 3)))
    return f"out has shape {want.shape}, each value the maximum of its 2x2 block (and of 3x3 blocks with size=3)"


def _at_size_3(check) -> str:
    """Run `check` on a (N, C, 6, 9) input with size=3: the network pools with 2 only, so a size
    hard-coded to 2 would pass every other check."""
    try:
        return check(_rng().standard_normal((N, C, 6, 9)))
    except CheckFailed as failed:
        raise CheckFailed(f"with size=3: {failed.message} (is the block size hard-coded to 2?)") from None


def check_conv_backward(m: Learner) -> str:
    """Checked with pad=1 (the network's) and pad=0: with K=3 and pad=1, an input-gradient padding of
    K - 1 - pad equals a hard-coded 1 (or a crop of [1:-1]), so only pad=0 tells the two apart."""
    message = _conv_backward_at(m, PAD)
    try:
        _conv_backward_at(m, 0)
    except CheckFailed as failed:
        raise CheckFailed(f"with pad=0: {failed.message} (is `pad` hard-coded to 1 somewhere?)") from None
    return message + "; also right with pad=0"


def _conv_backward_at(m: Learner, pad: int) -> str:
    x, w, b = _conv_inputs()
    dout = _rng().standard_normal(ref.conv2d_forward(x, w, b, pad).shape)
    names = ("x", "W", "b")
    got = unpack("conv2d_backward", call(m, "conv2d_backward", dout, x, w, pad), ("dx", "dW", "db"))
    want = ref.conv2d_backward(dout, x, w, pad)
    flipped = ref.conv2d_backward(dout, x, w[:, :, ::-1, ::-1], pad)[0]
    return expect_gradients(
        "conv2d_backward", lambda x, W, b: float(np.sum(ref.conv2d_forward(x, W, b, pad) * dout)),
        {"x": x, "W": w, "b": b}, dict(zip(names, got)), dict(zip(names, want)), batch=N,
        mistakes={"x": {"dx used the filters unflipped: the input gradient is a full correlation of dout "
                        "with each filter turned by 180 degrees": flipped}},
    )


def check_pool_backward(m: Learner) -> str:
    message = _pool_backward_at(m, _rng().standard_normal((N, C, 4, 6)), 2)
    _at_size_3(lambda x3: _pool_backward_at(m, x3, 3))
    return message + "; also right with size=3"


def _pool_backward_at(m: Learner, x: np.ndarray, size: int) -> str:
    n, c, h, w = x.shape
    dout = _rng().standard_normal((n, c, h // size, w // size))
    got = call(m, "maxpool_backward", dout, x, size)
    want = ref.maxpool_backward(dout, x, size)
    spread = np.repeat(np.repeat(dout, size, axis=2), size, axis=3)
    return expect_gradients(
        "maxpool_backward", lambda x: float(np.sum(ref.maxpool_forward(x, size) * dout)), {"x": x}, {"x": got},
        {"x": want},
        mistakes={"x": {"dout was copied to every pixel of its block; only the block's maximum gets it": spread,
                        "dout was shared equally over each block; only the block's maximum gets it":
                            spread / size**2}},
    )


def _flatten_input() -> np.ndarray:
    return _rng().standard_normal((N, C, 4, 5))


def check_flatten_forward(m: Learner) -> str:
    x = _flatten_input()
    got = call(m, "flatten_forward", x)
    if isinstance(got, np.ndarray) and got.shape == (x.size,):
        raise CheckFailed(f"flatten_forward output has shape {got.shape}, expected {(N, C * 4 * 5)}: the batch "
                          "axis was flattened too; keep one row per image")
    expect_array("flatten_forward output", got, ref.flatten_forward(x), mistakes={
        "the features are in channel-last order (row, column, channel); flatten in C order, channel first, as "
        "x.reshape does on (N, C, H, W)": x.transpose(0, 2, 3, 1).reshape(N, -1)})
    return f"(N, C, H, W) {x.shape} becomes {(N, C * 4 * 5)}, in C order"


def check_flatten_backward(m: Learner) -> str:
    x = _flatten_input()
    dout = _rng().standard_normal((N, x[0].size))
    got = call(m, "flatten_backward", dout, x)
    if isinstance(got, np.ndarray) and got.shape == dout.shape:
        raise CheckFailed(f"flatten_backward: dx has the shape of dout {dout.shape}; reshape it back to the "
                          f"shape of x {x.shape}")
    return expect_gradients(
        "flatten_backward", lambda x: float(np.sum(ref.flatten_forward(x) * dout)), {"x": x}, {"x": got},
        {"x": ref.flatten_backward(dout, x)},
        mistakes={"x": {"dout was put back in channel-last order: undo exactly the C-order flatten, "
                        "dout.reshape(x.shape)": dout.reshape(N, 4, 5, C).transpose(0, 3, 1, 2)}},
    )


HEAD_IN, CLASSES = 7, 3


def _head_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = _rng()
    return r.standard_normal((N + 2, HEAD_IN)), r.standard_normal((HEAD_IN, CLASSES)), r.standard_normal(CLASSES)


def check_head_forward(m: Learner) -> str:
    feats, w, b = _head_inputs()
    expect_array("head_forward logits", call(m, "head_forward", feats, w, b), ref.head_forward(feats, w, b),
                 mistakes={"the bias b is missing (logits = feats @ W + b)": feats @ w})
    return f"logits have shape {(N + 2, CLASSES)} and the right values"


def check_head_backward(m: Learner) -> str:
    feats, w, b = _head_inputs()
    dout = _rng().standard_normal((N + 2, CLASSES))
    names = ("feats", "W", "b")
    got = unpack("head_backward", call(m, "head_backward", dout, feats, w), ("dfeats", "dW", "db"))
    return expect_gradients(
        "head_backward", lambda feats, W, b: float(np.sum(ref.head_forward(feats, W, b) * dout)),
        {"feats": feats, "W": w, "b": b}, dict(zip(names, got)),
        dict(zip(names, ref.head_backward(dout, feats, w))), batch=N + 2,
    )


CHECKS = {
    "forward:conv2d_forward": check_conv_forward,
    "forward:maxpool_forward": check_pool_forward,
    "forward:flatten_forward": check_flatten_forward,
    "forward:head_forward": check_head_forward,
    "gradient:conv2d_backward": check_conv_backward,
    "gradient:maxpool_backward": check_pool_backward,
    "gradient:flatten_backward": check_flatten_backward,
    "gradient:head_backward": check_head_backward,
}

# -- training ------------------------------------------------------------------------------------------
FILTERS, EPOCHS, BATCH, LR = 8, 10, 32, 0.3


def train(m: Learner, budget_s: float, report=None) -> tuple[float, str, dict[str, float]]:
    """Train the ConvNet with plain SGD: forward through the learner's conv, NumPy's maximum (the ReLU),
    the learner's pool, flatten and head in one round trip; the softmax loss here (the ffnn reference);
    then backward through the learner's head, flatten, pool and conv in a second round trip."""

    def init(rng: np.random.Generator, _features: int) -> list[np.ndarray]:
        flat = FILTERS * 4 * 4
        return [rng.normal(0, np.sqrt(2 / 9), (FILTERS, 1, 3, 3)), np.zeros(FILTERS),
                rng.normal(0, np.sqrt(1 / flat), (flat, 10)), np.zeros(10)]

    def step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        w, _, w_out, _ = params
        logits, conv, act, pooled, flat = _forward(m, params, x)
        loss, dlogits = mlp.softmax_cross_entropy(logits, y)
        s = m.batch()
        back = s.head_backward(dlogits, flat, w_out)
        dact = s.maxpool_backward(s.flatten_backward(back[0], pooled), act, 2)
        dconv = s.call("numpy.multiply", dact, s.call("numpy.greater", conv, 0.0))  # the ReLU's mask
        conv_back = s.conv2d_backward(dconv, x, w, 1)
        dw, db, dw_out, db_out = s.run(conv_back[1], conv_back[2], back[1], back[2])
        return float(loss), [p - LR * g for p, g in zip(params, (dw, db, dw_out, db_out))]

    return train_digits_model(init, step, lambda params, x: _forward(m, params, x)[0], images=True,
                              epochs=EPOCHS, batch=BATCH, budget_s=budget_s,
                              too_slow="avoid Python loops over samples and pixels", report=report)


def _forward(m: Learner, params: list[np.ndarray], x: np.ndarray) -> tuple:
    """(logits, conv, act, pooled, flat): the forward pass and what the backward pass needs, one round trip."""
    w, b, w_out, b_out = params
    s = m.batch()
    conv = s.conv2d_forward(x, w, b, 1)
    act = s.call("numpy.maximum", conv, 0.0)
    pooled = s.maxpool_forward(act, 2)
    flat = s.flatten_forward(pooled)
    return s.run(s.head_forward(flat, w_out, b_out), conv, act, pooled, flat)
