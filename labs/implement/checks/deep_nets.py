"""deep-nets in the checker: BatchNorm in training mode (outputs and running statistics, PyTorch's
conventions) and in evaluation mode (the running statistics, the same row for a batch of one), both
backward passes against finite differences, then a 20-layer network of the learner's pieces (stem Linear,
their BatchNorm, ReLU, nine of their residual blocks, Linear head) trained on the digits and judged in
evaluation mode."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from labs.datasets import load_digits
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed, call, expect_array, expect_gradients, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import deep_nets as ref
from labs.implement.solutions import optimisers as opt

Report = Callable[[int, int, dict[str, float]], None]
N, C = 8, 3
MOMENTUM, EPS = 0.1, 1e-5


def _bn_problem(seed: int = 5) -> tuple[np.ndarray, ...]:
    r = np.random.default_rng(seed)
    x = r.standard_normal((N, C)) * np.array([1.0, 3.0, 0.5]) + np.array([2.0, -1.0, 0.3])
    return x, r.uniform(0.5, 2.0, C), r.standard_normal(C), r.standard_normal(C) * 0.5, r.uniform(0.5, 2.0, C)


def _bn_mistakes(x, gamma, beta, rm, rv) -> dict[str, dict[str, np.ndarray]]:
    n, mean, var = len(x), x.mean(axis=0), x.var(axis=0)
    unbiased = var * n / (n - 1)
    return {
        "y": {"the forward pass normalised with the UNBIASED variance; it uses the batch's biased variance "
              "(divide by N), as torch does": gamma * (x - mean) / np.sqrt(unbiased + EPS) + beta,
              "eps is added after the square root; it goes inside: sqrt(var + eps)":
              gamma * (x - mean) / (np.sqrt(var) + EPS) + beta,
              "gamma and beta are swapped": beta * (x - mean) / np.sqrt(var + EPS) + gamma},
        "running_mean": {"momentum is the weight of the NEW batch: (1 - momentum) * running + momentum * batch":
                         MOMENTUM * rm + (1 - MOMENTUM) * mean,
                         "the running mean was replaced by the batch mean instead of moved towards it": mean},
        "running_var": {"the running variance is biased: it takes the UNBIASED batch variance, var * N / (N - 1)":
                        (1 - MOMENTUM) * rv + MOMENTUM * var,
                        "momentum is the weight of the NEW batch: (1 - momentum) * running + momentum * batch":
                        MOMENTUM * rv + (1 - MOMENTUM) * unbiased},
    }


def check_batchnorm_forward(m: Learner) -> str:
    x, gamma, beta, rm, rv = _bn_problem()
    # 1. training mode: the batch's statistics, the running ones moved towards them
    got = unpack("batchnorm_forward", call(m, "batchnorm_forward", x, gamma, beta, rm, rv, True, MOMENTUM, EPS),
                 ("y", "running_mean", "running_var"))
    want = ref.batchnorm_forward(x, gamma, beta, rm, rv, True, MOMENTUM, EPS)
    mistakes = _bn_mistakes(x, gamma, beta, rm, rv)
    for i, label in enumerate(("y", "running_mean", "running_var")):
        expect_array(f"batchnorm_forward (training) {label}", got[i], want[i], batch=N, mistakes=mistakes[label])
    # 2. evaluation mode: the running statistics, left unchanged
    got = unpack("batchnorm_forward", call(m, "batchnorm_forward", x, gamma, beta, rm, rv, False, MOMENTUM, EPS),
                 ("y", "running_mean", "running_var"))
    want = ref.batchnorm_forward(x, gamma, beta, rm, rv, False, MOMENTUM, EPS)
    batch_stats = ref.batchnorm_forward(x, gamma, beta, rm, rv, True, MOMENTUM, EPS)
    expect_array("batchnorm_forward (evaluation) y", got[0], want[0], batch=N, mistakes={
        "in evaluation mode it still normalises with the batch's own statistics: it must use running_mean "
        "and running_var, so a prediction does not depend on the rest of the batch": batch_stats[0]})
    for i, label in ((1, "running_mean"), (2, "running_var")):
        expect_array(f"batchnorm_forward (evaluation) {label}", got[i], want[i], mistakes={
            "the running statistics moved in evaluation mode: only training updates them": batch_stats[i]})
    # 3. a batch of one in evaluation mode: the same row as in the whole batch
    for row in (0, N - 1):
        one = unpack("batchnorm_forward", call(m, "batchnorm_forward", x[row:row + 1], gamma, beta, rm, rv, False,
                                               MOMENTUM, EPS), ("y", "running_mean", "running_var"))[0]
        expect_array(f"batchnorm_forward (evaluation, a batch of one: row {row})", one, want[0][row:row + 1])
    return "training mode normalises by the batch and moves the running statistics (variance unbiased); " \
           "evaluation mode uses them, the same row for a batch of one"


def check_batchnorm_backward(m: Learner) -> str:
    x, gamma, beta, _, _ = _bn_problem(seed=9)
    dout = np.random.default_rng(3).standard_normal((N, C))
    dx, dgamma, dbeta = unpack("batchnorm_backward", call(m, "batchnorm_backward", dout, x, gamma, EPS),
                               ("dx", "dgamma", "dbeta"))
    want = ref.batchnorm_backward(dout, x, gamma, EPS)
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + EPS)
    ones = np.ones(C)

    def loss(x, gamma, beta):
        y, _, _ = ref.batchnorm_forward(x, gamma, beta, np.zeros(C), ones, True, MOMENTUM, EPS)
        return float(np.sum(y * dout))

    mistakes = {"x": {"dx treats the batch mean and variance as constants (gamma * dout / sigma): every sample "
                      "also moves mu and sigma, which adds the two sums of the lesson's formula":
                      gamma * inv_std * dout,
                      "dx keeps the mean's term but drops the variance's (the x_hat * sum(dout * x_hat) part)":
                      gamma * inv_std * (dout - dout.mean(axis=0))}}
    return expect_gradients("batchnorm_backward", loss, {"x": x, "gamma": gamma, "beta": beta},
                            {"x": dx, "gamma": dgamma, "beta": dbeta},
                            {"x": want[0], "gamma": want[1], "beta": want[2]}, batch=N, mistakes=mistakes)


def _block_problem(seed: int = 11) -> tuple[np.ndarray, ...]:
    r = np.random.default_rng(seed)
    d, h = 4, 5
    return (r.standard_normal((N, d)), r.standard_normal((d, h)) * 0.7, r.standard_normal(h) * 0.3,
            r.standard_normal((h, d)) * 0.7, r.standard_normal(d) * 0.3)


def check_residual_forward(m: Learner) -> str:
    x, W1, b1, W2, b2 = _block_problem()
    got = call(m, "residual_forward", x, W1, b1, W2, b2)
    h = np.maximum(x @ W1 + b1, 0.0)
    expect_array("residual_forward", got, ref.residual_forward(x, W1, b1, W2, b2), mistakes={
        "the skip is missing: a residual block adds x back, y = relu(x + F(x))": np.maximum(h @ W2 + b2, 0.0),
        "the final ReLU is missing: y = relu(x + F(x))": x + h @ W2 + b2,
        "the ReLU inside the branch is missing: F(x) = relu(x @ W1 + b1) @ W2 + b2":
        np.maximum(x + (x @ W1 + b1) @ W2 + b2, 0.0)})
    return "y = relu(x + F(x)) is right"


def check_residual_backward(m: Learner) -> str:
    x, W1, b1, W2, b2 = _block_problem(seed=13)
    dout = np.random.default_rng(4).standard_normal(x.shape)
    got = unpack("residual_backward", call(m, "residual_backward", dout, x, W1, b1, W2, b2),
                 ("dx", "dW1", "db1", "dW2", "db2"))
    want = ref.residual_backward(dout, x, W1, b1, W2, b2)
    a = x @ W1 + b1
    ds = dout * (x + np.maximum(a, 0.0) @ W2 + b2 > 0)
    branch_only = ((ds @ W2.T) * (a > 0)) @ W1.T
    mistakes = {"x": {"dx is missing the skip: the identity path sends the gradient at the sum straight to x, "
                      "dx = ds + (the branch's backward)": branch_only,
                      "dx is only the skip's share; the branch's backward adds to it": ds}}
    names = ("x", "W1", "b1", "W2", "b2")
    return expect_gradients("residual_backward",
                            lambda x, W1, b1, W2, b2: float(np.sum(ref.residual_forward(x, W1, b1, W2, b2) * dout)),
                            dict(zip(names, (x, W1, b1, W2, b2))), dict(zip(names, got)), dict(zip(names, want)),
                            batch=N, mistakes=mistakes)


CHECKS = {
    "forward:batchnorm_forward": check_batchnorm_forward,
    "gradient:batchnorm_backward": check_batchnorm_backward,
    "forward:residual_forward": check_residual_forward,
    "gradient:residual_backward": check_residual_backward,
}

# -- training: 20 weight layers of the learner's pieces ----------------------------------------------------
WIDTH, BLOCKS, EPOCHS, BATCH, LR = 32, 9, 6, 64, 0.006
TARGET, FLOOR = 0.90, 0.50


class Net:
    """Stem Linear (no bias: the BN follows), BN, ReLU, BLOCKS residual blocks, Linear head: 1 + 2 * 9 + 1 =
    20 weight layers. Parameters live here; every BN and block runs in the learner's process."""

    def __init__(self, rng: np.random.Generator):
        he = lambda fan_in, shape: rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)  # noqa: E731
        self.params: dict[str, np.ndarray] = {"W0": he(64, (64, WIDTH)), "gamma": np.ones(WIDTH),
                                              "beta": np.zeros(WIDTH)}
        for k in range(BLOCKS):  # the second Linear starts small, so each block starts near the identity
            self.params |= {f"W1_{k}": he(WIDTH, (WIDTH, WIDTH)), f"b1_{k}": np.zeros(WIDTH),
                            f"W2_{k}": 0.1 * he(WIDTH, (WIDTH, WIDTH)), f"b2_{k}": np.zeros(WIDTH)}
        self.params |= {"Wh": rng.standard_normal((WIDTH, 10)) * math.sqrt(1.0 / WIDTH), "bh": np.zeros(10)}
        self.running_mean, self.running_var = np.zeros(WIDTH), np.ones(WIDTH)

    def block(self, k: int) -> tuple[np.ndarray, ...]:
        p = self.params
        return p[f"W1_{k}"], p[f"b1_{k}"], p[f"W2_{k}"], p[f"b2_{k}"]

    def forward(self, m: Learner, x: np.ndarray, training: bool) -> tuple[np.ndarray, dict]:
        """Logits, and what the backward pass needs (the block inputs, the BN's output)."""
        p, z0 = self.params, x @ self.params["W0"]
        s = m.batch()
        bn = s.batchnorm_forward(z0, p["gamma"], p["beta"], self.running_mean, self.running_var, training,
                                 MOMENTUM, EPS)
        h = s.call("numpy.maximum", bn[0], 0.0)
        hs = [h]
        for k in range(BLOCKS):
            h = s.residual_forward(h, *self.block(k))
            hs.append(h)
        y0, rm, rv, *outs = s.run(bn[0], bn[1], bn[2], *hs)
        if training:
            self.running_mean, self.running_var = np.asarray(rm), np.asarray(rv)
        return outs[-1] @ p["Wh"] + p["bh"], {"x": x, "z0": z0, "y0": y0, "hs": outs}

    def backward(self, m: Learner, dlogits: np.ndarray, cache: dict) -> dict[str, np.ndarray]:
        p, hs = self.params, cache["hs"]
        grads = {"Wh": hs[-1].T @ dlogits, "bh": dlogits.sum(axis=0)}
        s = m.batch()
        d, refs = dlogits @ p["Wh"].T, []
        for k in reversed(range(BLOCKS)):
            r = s.residual_backward(d, hs[k], *self.block(k))
            d = r[0]
            refs.append((k, r))
        dy0 = s.call("numpy.multiply", d, s.call("numpy.greater", cache["y0"], 0.0))
        bn = s.batchnorm_backward(dy0, cache["z0"], p["gamma"], EPS)
        got = s.run(bn[0], bn[1], bn[2], *[r[i] for _, r in refs for i in (1, 2, 3, 4)])
        dz0, grads["gamma"], grads["beta"] = got[:3]
        grads["W0"] = cache["x"].T @ np.asarray(dz0)
        for j, (k, _) in enumerate(refs):
            for i, name in enumerate(("W1", "b1", "W2", "b2")):
                grads[f"{name}_{k}"] = np.asarray(got[3 + 4 * j + i])
        return grads


def _cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    loss = -float(np.mean(np.log(p[np.arange(len(y)), y] + 1e-300)))
    p[np.arange(len(y)), y] -= 1.0
    return loss, p / len(y)


def _accuracy(net: Net, m: Learner, x: np.ndarray, y: np.ndarray) -> float:
    logits, _ = net.forward(m, x, training=False)
    return float(np.mean(np.asarray(logits).argmax(axis=1) == y))


def train(m: Learner, budget_s: float, report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    """EPOCHS epochs of Adam on the digits through the learner's BatchNorm and blocks; test accuracy in
    evaluation mode (the running statistics the learner's training mode kept)."""
    data = load_digits()
    x_tr, y_tr = data.train.x.astype(np.float64), data.train.y
    x_val, y_val = data.val.x.astype(np.float64), data.val.y
    rng = np.random.default_rng(0)
    net = Net(rng)
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in net.params.items()}
    start, t, loss = time.perf_counter(), 0, math.nan
    for epoch in range(1, EPOCHS + 1):
        order, losses = rng.permutation(len(y_tr)), []
        for i in range(0, len(order), BATCH):
            idx = order[i:i + BATCH]
            if len(idx) < 2:
                continue  # training-mode BN needs more than one sample
            logits, cache = net.forward(m, x_tr[idx], training=True)
            loss, dlogits = _cross_entropy(np.asarray(logits), y_tr[idx])
            if not math.isfinite(loss):
                raise CheckFailed(f"the loss became {loss} at epoch {epoch}: check your pieces' outputs for NaN")
            grads = net.backward(m, dlogits, cache)
            t += 1
            for k, g in grads.items():
                net.params[k], *moments[k] = opt.adam_step(net.params[k], g, *moments[k], t, LR, 0.9, 0.999, 1e-8)
            losses.append(loss)
            if time.perf_counter() - start > budget_s:
                raise CheckFailed(f"training took longer than {budget_s:.0f} s (epoch {epoch}): use whole-batch "
                                  "array operations, no loop over samples")
        val_acc = _accuracy(net, m, x_val, y_val)
        if report is not None:
            report(epoch, EPOCHS, {"train_loss": float(np.mean(losses)), "val_accuracy": val_acc})
    test_acc = _accuracy(net, m, data.test.x.astype(np.float64), data.test.y)
    metrics = {"test_accuracy": test_acc, "train_loss": float(loss), "train_seconds": time.perf_counter() - start}
    message = (f"the 20-layer net of your BatchNorm and residual blocks reached test accuracy {test_acc:.4f} in "
               f"evaluation mode after {EPOCHS} epochs (target {TARGET:.2f})")
    return partial_credit(test_acc, FLOOR, TARGET), message, metrics
