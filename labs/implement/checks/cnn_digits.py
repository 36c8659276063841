"""cnn-digits in the checker: fixed-input checks of convolution and max-pooling, then training the learner's
ConvNet (conv 3x3 -> ReLU -> max-pool 2 -> linear) on the digits."""

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


CHECKS = {
    "forward:conv2d_forward": check_conv_forward,
    "forward:maxpool_forward": check_pool_forward,
    "gradient:conv2d_backward": check_conv_backward,
    "gradient:maxpool_backward": check_pool_backward,
}

# -- training ------------------------------------------------------------------------------------------
FILTERS, EPOCHS, BATCH, LR = 8, 10, 32, 0.3


def train(m: Learner, budget_s: float, report=None) -> tuple[float, str, dict[str, float]]:
    """Train the ConvNet with plain SGD: the learner's convolution and pooling run in their process (four
    round trips a step), the ReLU, linear readout and loss here, from the ffnn reference."""

    def init(rng: np.random.Generator, _features: int) -> list[np.ndarray]:
        flat = FILTERS * 4 * 4
        return [rng.normal(0, np.sqrt(2 / 9), (FILTERS, 1, 3, 3)), np.zeros(FILTERS),
                rng.normal(0, np.sqrt(1 / flat), (flat, 10)), np.zeros(10)]

    def step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        w, _, w_out, _ = params
        logits, (conv, act, pooled) = _forward(m, params, x)
        loss, dlogits = mlp.softmax_cross_entropy(logits, y)
        dflat, dw_out, db_out = mlp.linear_backward(dlogits, pooled.reshape(len(x), -1), w_out)
        dact = m.maxpool_backward(dflat.reshape(pooled.shape), act, 2)
        _, dw, db = m.conv2d_backward(mlp.relu_backward(dact, conv), x, w, 1)
        return float(loss), [p - LR * g for p, g in zip(params, (dw, db, dw_out, db_out))]

    return train_digits_model(init, step, lambda params, x: _forward(m, params, x)[0], images=True,
                              epochs=EPOCHS, batch=BATCH, budget_s=budget_s,
                              too_slow="avoid Python loops over samples and pixels", report=report)


def _forward(m: Learner, params: list[np.ndarray], x: np.ndarray):
    w, b, w_out, b_out = params
    conv = m.conv2d_forward(x, w, b, 1)
    act = mlp.relu_forward(conv)
    pooled = m.maxpool_forward(act, 2)
    logits = mlp.linear_forward(pooled.reshape(len(x), -1), w_out, b_out)
    return logits, (conv, act, pooled)
