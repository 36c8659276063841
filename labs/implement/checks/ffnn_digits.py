"""ffnn-digits in the sandbox: fixed-input checks of the six functions, then training the learner's MLP."""

from __future__ import annotations

import time
from types import ModuleType

import numpy as np

from labs.datasets import load_digits
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed, call, expect_array, expect_gradients, unpack
from labs.implement.solutions import ffnn_digits as ref

N, D_IN, D_OUT, CLASSES = 4, 5, 3, 6


def _rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def _linear_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = _rng()
    return r.standard_normal((N, D_IN)), r.standard_normal((D_IN, D_OUT)), r.standard_normal(D_OUT)


def check_linear_forward(m: ModuleType) -> str:
    x, W, b = _linear_inputs()
    expect_array("linear_forward output", call(m, "linear_forward", x, W, b), ref.linear_forward(x, W, b),
                 mistakes={"the bias b is missing (out = x @ W + b)": x @ W})
    return f"out has shape {(N, D_OUT)} and the right values"


def check_relu_forward(m: ModuleType) -> str:
    x = _rng().standard_normal((N, D_IN))
    expect_array("relu_forward output", call(m, "relu_forward", x), ref.relu_forward(x),
                 mistakes={"negative inputs must become 0, positive ones pass unchanged": np.abs(x)})
    return "negatives become 0, positives pass unchanged"


def _logits_and_labels() -> tuple[np.ndarray, np.ndarray]:
    r = _rng()
    return 3.0 * r.standard_normal((N, CLASSES)), r.integers(0, CLASSES, N)


def check_softmax_loss(m: ModuleType) -> str:
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


def check_sgd_update(m: ModuleType) -> str:
    r = _rng()
    param, grad, lr = r.standard_normal((D_IN, D_OUT)), r.standard_normal((D_IN, D_OUT)), 0.1
    expect_array("sgd_update result", call(m, "sgd_update", param, grad, lr), ref.sgd_update(param, grad, lr),
                 mistakes={"the step goes UP the gradient: gradient descent subtracts lr * grad":
                           param + lr * grad})
    return "the step moves against the gradient, scaled by lr"


def check_linear_backward(m: ModuleType) -> str:
    x, W, b = _linear_inputs()
    dout = _rng().standard_normal((N, D_OUT))
    got = unpack("linear_backward", call(m, "linear_backward", dout, x, W), ("dx", "dW", "db"))
    want = ref.linear_backward(dout, x, W)
    return expect_gradients(
        "linear_backward", lambda x, W, b: float(np.sum(ref.linear_forward(x, W, b) * dout)),
        {"x": x, "W": W, "b": b}, dict(zip(("x", "W", "b"), got)), dict(zip(("x", "W", "b"), want)), batch=N,
    )


def check_relu_backward(m: ModuleType) -> str:
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


def check_softmax_gradient(m: ModuleType) -> str:
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
TARGET, FLOOR = 0.90, 0.50
HIDDEN, EPOCHS, BATCH, LR = 64, 20, 32, 0.3


def train(m: ModuleType, budget_s: float) -> tuple[float, str, dict[str, float]]:
    """Train a 64-64-10 MLP built from the learner's functions; the share of points is the test accuracy
    between FLOOR (none) and TARGET (all)."""
    data = load_digits()
    x, y = data.train.x.astype(np.float64), data.train.y
    rng = np.random.default_rng(0)
    params = [rng.normal(0, np.sqrt(2 / x.shape[1]), (x.shape[1], HIDDEN)), np.zeros(HIDDEN),
              rng.normal(0, np.sqrt(1 / HIDDEN), (HIDDEN, 10)), np.zeros(10)]
    start, loss = time.perf_counter(), float("nan")
    for epoch in range(EPOCHS):
        for idx in np.array_split(rng.permutation(len(y)), len(y) // BATCH):
            loss, grads = _step(m, params, x[idx], y[idx])
            if not np.isfinite(loss):
                raise CheckFailed(f"training diverged: the loss became {loss} in epoch {epoch + 1}")
            params = [m.sgd_update(p, g, LR) for p, g in zip(params, grads)]
        if time.perf_counter() - start > budget_s:
            raise CheckFailed(f"training took longer than {budget_s:.0f} s (stopped in epoch {epoch + 1} of "
                              f"{EPOCHS}): use whole-batch matrix products, no loop over samples")
    accuracy = float(np.mean(_logits(m, params, data.test.x.astype(np.float64)).argmax(axis=1) == data.test.y))
    seconds = time.perf_counter() - start
    metrics = {"test_accuracy": accuracy, "train_loss": float(loss), "train_seconds": seconds}
    message = (f"test accuracy {accuracy:.3f} (target {TARGET:.2f}) after {EPOCHS} epochs in {seconds:.1f} s, "
               f"final training loss {loss:.3f}")
    return partial_credit(accuracy, FLOOR, TARGET), message, metrics


def _logits(m: ModuleType, params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    W1, b1, W2, b2 = params
    return m.linear_forward(m.relu_forward(m.linear_forward(x, W1, b1)), W2, b2)


def _step(m: ModuleType, params: list[np.ndarray], x: np.ndarray, y: np.ndarray):
    W1, b1, W2, b2 = params
    pre = m.linear_forward(x, W1, b1)
    hidden = m.relu_forward(pre)
    loss, dlogits = m.softmax_cross_entropy(m.linear_forward(hidden, W2, b2), y)
    dhidden, dW2, db2 = m.linear_backward(dlogits, hidden, W2)
    _, dW1, db1 = m.linear_backward(m.relu_backward(dhidden, pre), x, W1)
    return float(loss), [dW1, db1, dW2, db2]
