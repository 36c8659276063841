"""ffnn-digits in the checker: fixed-input checks of the six functions, then training the learner's MLP."""

from __future__ import annotations

import numpy as np

from labs.implement.checks.common import CheckFailed, call, expect_array, expect_gradients, unpack
from labs.implement.checks.digits import train_digits_model
from labs.implement.remote import Learner
from labs.implement.solutions import ffnn_digits as ref

N, D_IN, D_OUT, CLASSES = 4, 5, 3, 6


def _rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def _linear_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = _rng()
    return r.standard_normal((N, D_IN)), r.standard_normal((D_IN, D_OUT)), r.standard_normal(D_OUT)


def check_linear_forward(m: Learner) -> str:
    x, W, b = _linear_inputs()
    expect_array("linear_forward output", call(m, "linear_forward", x, W, b), ref.linear_forward(x, W, b),
                 mistakes={"the bias b is missing (out = x @ W + b)": x @ W})
    return f"out has shape {(N, D_OUT)} and the right values"


def check_relu_forward(m: Learner) -> str:
    x = _rng().standard_normal((N, D_IN))
    expect_array("relu_forward output", call(m, "relu_forward", x), ref.relu_forward(x),
                 mistakes={"negative inputs must become 0, positive ones pass unchanged": np.abs(x)})
    return "negatives become 0, positives pass unchanged"


def _logits_and_labels() -> tuple[np.ndarray, np.ndarray]:
    r = _rng()
    return 3.0 * r.standard_normal((N, CLASSES)), r.integers(0, CLASSES, N)


def check_softmax_loss(m: Learner) -> str:
    logits, y = _logits_and_labels()
    loss, _ = unpack("softmax_cross_entropy", call(m, "softmax_cross_entropy", logits, y), ("loss", "dlogits"))
    want, _ = ref.softmax_cross_entropy(logits, y)
    if not np.isscalar(loss) and np.shape(loss) != ():
        raise CheckFailed(f"softmax_cross_entropy: loss should be one number, got shape {np.shape(loss)}")
    expect_array("loss", np.asarray(loss, dtype=np.float64), np.asarray(want), batch=N,
                 mistakes={"the loss is the SUM over the batch; take the mean": np.asarray(want * N)})
    big = logits + 1000.0  # the softmax does not change; exp() of it overflows unless the max is subtracted
    big_loss, _ = unpack("softmax_cross_entropy", call(m, "softmax_cross_entropy", big, y), ("loss", "dlogits"))
    if not np.isfinite(big_loss) or not np.isclose(big_loss, want, rtol=1e-6):
        raise CheckFailed("softmax_cross_entropy: the loss is wrong for large logits (logits + 1000 gave "
                          f"{float(big_loss):.4g}, expected {want:.4g}); subtract each row's max before exp()")
    return f"loss {float(loss):.4f} is right, also for large logits"


def check_sgd_update(m: Learner) -> str:
    r = _rng()
    param, grad, lr = r.standard_normal((D_IN, D_OUT)), r.standard_normal((D_IN, D_OUT)), 0.1
    expect_array("sgd_update result", call(m, "sgd_update", param, grad, lr), ref.sgd_update(param, grad, lr),
                 mistakes={"the step goes UP the gradient: gradient descent subtracts lr * grad":
                           param + lr * grad})
    return "the step moves against the gradient, scaled by lr"


def check_linear_backward(m: Learner) -> str:
    x, W, b = _linear_inputs()
    dout = _rng().standard_normal((N, D_OUT))
    got = unpack("linear_backward", call(m, "linear_backward", dout, x, W), ("dx", "dW", "db"))
    want = ref.linear_backward(dout, x, W)
    return expect_gradients(
        "linear_backward", lambda x, W, b: float(np.sum(ref.linear_forward(x, W, b) * dout)),
        {"x": x, "W": W, "b": b}, dict(zip(("x", "W", "b"), got)), dict(zip(("x", "W", "b"), want)), batch=N,
    )


def check_relu_backward(m: Learner) -> str:
    r = _rng()
    x = r.standard_normal((N, D_IN))
    x[np.abs(x) < 1e-3] = 0.5  # keep finite differences away from the kink at 0
    dout = r.standard_normal((N, D_IN))
    got = call(m, "relu_backward", dout, x)
    return expect_gradients(
        "relu_backward", lambda x: float(np.sum(ref.relu_forward(x) * dout)), {"x": x}, {"x": got},
        {"x": ref.relu_backward(dout, x)},
        mistakes={"x": {"dx equals dout everywhere: where x <= 0 the ReLU is flat, so its gradient is 0 "
                        "there (multiply by the mask x > 0)": dout}},
    )


def check_softmax_gradient(m: Learner) -> str:
    logits, y = _logits_and_labels()
    _, got = unpack("softmax_cross_entropy", call(m, "softmax_cross_entropy", logits, y), ("loss", "dlogits"))
    _, want = ref.softmax_cross_entropy(logits, y)
    return expect_gradients(
        "softmax_cross_entropy", lambda logits: ref.softmax_cross_entropy(logits, y)[0], {"logits": logits},
        {"logits": got}, {"logits": want}, batch=N,
    )


CHECKS = {
    "forward:linear_forward": check_linear_forward,
    "forward:relu_forward": check_relu_forward,
    "forward:softmax_cross_entropy": check_softmax_loss,
    "forward:sgd_update": check_sgd_update,
    "gradient:linear_backward": check_linear_backward,
    "gradient:relu_backward": check_relu_backward,
    "gradient:softmax_cross_entropy": check_softmax_gradient,
}

# -- training ------------------------------------------------------------------------------------------
HIDDEN, EPOCHS, BATCH, LR = 64, 20, 32, 0.3


def train(m: Learner, budget_s: float, report=None) -> tuple[float, str, dict[str, float]]:
    """Train a 64-64-10 MLP built from the learner's six functions, one round trip per step."""

    def init(rng: np.random.Generator, features: int) -> list[np.ndarray]:
        return [rng.normal(0, np.sqrt(2 / features), (features, HIDDEN)), np.zeros(HIDDEN),
                rng.normal(0, np.sqrt(1 / HIDDEN), (HIDDEN, 10)), np.zeros(10)]

    def step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, list[np.ndarray]]:
        W1, b1, W2, b2 = params
        s = m.batch()  # every call below runs in the learner's process, results feeding the next
        pre = s.linear_forward(x, W1, b1)
        hidden = s.relu_forward(pre)
        loss = s.softmax_cross_entropy(s.linear_forward(hidden, W2, b2), y)
        back2 = s.linear_backward(loss[1], hidden, W2)
        back1 = s.linear_backward(s.relu_backward(back2[0], pre), x, W1)
        grads = (back1[1], back1[2], back2[1], back2[2])
        value, *updated = s.run(loss[0], *(s.sgd_update(p, g, LR) for p, g in zip(params, grads)))
        return float(value), updated

    def predict(params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
        W1, b1, W2, b2 = params
        s = m.batch()
        return s.run(s.linear_forward(s.relu_forward(s.linear_forward(x, W1, b1)), W2, b2))[0]

    return train_digits_model(init, step, predict, images=False, epochs=EPOCHS, batch=BATCH, budget_s=budget_s,
                              too_slow="use whole-batch matrix products, no loop over samples", report=report)
