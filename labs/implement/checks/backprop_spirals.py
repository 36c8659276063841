"""backprop-spirals in the checker: the forward pass, the loss, the backward pass against finite differences,
the learner's own gradient checker on a function whose gradient is known, then the learner's network
training on the lab's spirals with the learner's gradients."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from labs.catalog._spirals import spirals
from labs.catalog.backprop_spirals import TARGET_ACCURACY
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed, call, expect_array, expect_gradients, expect_scalar, unpack
from labs.implement.remote import Learner, Ref
from labs.implement.solutions import backprop_spirals as ref

N, D, H, C = 5, 2, 4, 3
Report = Callable[[int, int, dict[str, float]], None]


class Function(Ref):
    """A function passed as an argument in a batch: the learner's own, or NumPy's as "numpy.<name>"."""

    def __init__(self, name: str):
        super().__init__(-1)
        self.name = name

    def wire(self) -> dict:
        return {"f": self.name}


def _rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def _net() -> tuple[np.ndarray, ...]:
    r = _rng()
    return (r.standard_normal((N, D)), r.standard_normal((D, H)), 0.5 * r.standard_normal(H),
            r.standard_normal((H, C)), 0.5 * r.standard_normal(C), r.integers(0, C, N))


def check_forward(m: Learner) -> str:
    X, W1, b1, W2, b2, _ = _net()
    h, logits = unpack("forward", call(m, "forward", X, W1, b1, W2, b2), ("h", "logits"))
    want_h, want_logits = ref.forward(X, W1, b1, W2, b2)
    pre = X @ W1 + b1
    expect_array("forward's h", h, want_h,
                 mistakes={"h is the pre-activation: apply the tanh to X @ W1 + b1": pre,
                           "the bias b1 is missing (h = tanh(X @ W1 + b1))": np.tanh(X @ W1)})
    expect_array("forward's logits", logits, want_logits,
                 mistakes={"the logits use the pre-activation; they are computed from h, after the tanh":
                           pre @ W2 + b2,
                           "the bias b2 is missing": want_h @ W2})
    return f"h {want_h.shape} and logits {want_logits.shape} are right"


def check_loss(m: Learner) -> str:
    X, W1, b1, W2, b2, y = _net()
    logits = 3.0 * ref.forward(X, W1, b1, W2, b2)[1]
    got = expect_scalar("loss", call(m, "loss", logits, y))
    want = ref.loss(logits, y)
    expect_array("loss", np.asarray(got), np.asarray(want), batch=N,
                 mistakes={"the loss is the SUM over the batch; take the mean": np.asarray(want * N)})
    big = expect_scalar("loss", call(m, "loss", logits + 1000.0, y))  # same softmax; exp() overflows unshifted
    if not np.isfinite(big) or not np.isclose(big, want, rtol=1e-6):
        raise CheckFailed(f"loss is wrong for large logits (logits + 1000 gave {big:.4g}, expected {want:.4g}): "
                          "subtract each row's max before exp()")
    return f"loss {got:.4f} is right, also for large logits"


def check_backward(m: Learner) -> str:
    X, W1, b1, W2, b2, y = _net()
    h, logits = ref.forward(X, W1, b1, W2, b2)
    got = unpack("backward", call(m, "backward", X, y, h, logits, W2), ("dW1", "db1", "dW2", "db2"))
    want = ref.backward(X, y, h, logits, W2)
    names = ("W1", "b1", "W2", "b2")
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(N), y] -= 1.0
    dhidden = (p / N) @ W2.T
    no_tanh = "the tanh's derivative is missing: between h and X @ W1 + b1, multiply by 1 - h**2"
    twice = "that is 1 - tanh(h)**2: h is already tanh's output, so its derivative is 1 - h**2"
    mistakes = {
        "W1": {no_tanh: X.T @ dhidden, twice: X.T @ (dhidden * (1 - np.tanh(h) ** 2))},
        "b1": {no_tanh: dhidden.sum(axis=0), twice: (dhidden * (1 - np.tanh(h) ** 2)).sum(axis=0)},
    }
    return expect_gradients(
        "backward", lambda W1, b1, W2, b2: ref.loss(ref.forward(X, W1, b1, W2, b2)[1], y),
        {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, dict(zip(names, got)), dict(zip(names, want)), batch=N,
        mistakes=mistakes,
    )


# -- the learner's gradient checker, on f(x) = var(x) (NumPy's, in the learner's process) ------------------
KNOWN = "numpy.var"


def _known(x: np.ndarray) -> tuple[Callable[[np.ndarray], float], np.ndarray]:
    return (lambda v: float(np.var(v))), 2.0 * (x - x.mean()) / x.size


def _normwise(a: np.ndarray, n: np.ndarray) -> float:
    return float(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-12))


def _numeric(f, x: np.ndarray, eps: float, kind: str) -> np.ndarray:
    """The slopes a checker of `kind` (central, forward, no-half) would measure."""
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        if kind == "forward":
            out[i] = (f(up) - f(x)) / eps
        elif kind == "no-half":
            out[i] = (f(up) - f(down)) / eps
        else:
            out[i] = (f(up) - f(down)) / (2 * eps)
    return out


def _learner_check(m: Learner, x: np.ndarray, analytic: np.ndarray, eps: float) -> tuple[float, np.ndarray]:
    """The learner's grad_check on the known function, and x as it is after the call (in their process)."""
    s = m.batch()
    x_there = s.call("numpy.array", x)  # their own copy, so what grad_check leaves in it comes back
    error = s.grad_check(Function(KNOWN), x_there, analytic, eps)
    value, x_after = s.run(error, x_there)
    return expect_scalar("grad_check", value), np.asarray(x_after)


def check_grad_check(m: Learner) -> str:
    x = _rng().standard_normal((3, 4))
    f, right = _known(x)
    # 1. x must come back as it was: a checker that leaves it perturbed corrupts every later gradient
    eps = 1e-3
    _, x_after = _learner_check(m, x, right, eps)
    if x_after.shape != x.shape or not np.allclose(x_after, x, rtol=1e-12, atol=1e-12):
        moved = float(np.max(np.abs(x_after - x))) if x_after.shape == x.shape else float("nan")
        raise CheckFailed(f"grad_check leaves x changed (by up to {moved:.3g} with eps={eps:g}): put each entry "
                          "back to its original value after evaluating f at x + eps and x - eps")
    # 2. a right gradient scores ~0, and with central differences even at a large eps (var is quadratic)
    for eps in (1e-3, 1e-5):
        got, _ = _learner_check(m, x, right, eps)
        if got < 1e-7:
            continue
        kinds = {"forward": "forward differences (f(x + eps) - f(x)) / eps, whose error grows like eps: use "
                            "central differences (f(x + eps) - f(x - eps)) / (2 eps)",
                 "no-half": "the central difference is divided by eps; the two points are 2 eps apart"}
        for kind, message in kinds.items():
            if np.isclose(got, _normwise(right, _numeric(f, x, eps, kind)), rtol=0.05):
                raise CheckFailed(f"grad_check gave {got:.3g} for a right gradient (eps={eps:g}): it uses {message}")
        raise CheckFailed(f"grad_check gave {got:.3g} for a right gradient (eps={eps:g}); expected about 0 "
                          "(below 1e-7)")
    # 3. a wrong gradient scores what the lesson's normwise relative error says it should
    wrong = right.copy()
    wrong[0] *= -1.0
    wrong[2] *= 3.0
    want = _normwise(wrong, _numeric(f, x, 1e-5, "central"))
    got, _ = _learner_check(m, x, wrong, 1e-5)
    if not np.isclose(got, want, rtol=1e-4):
        numeric = _numeric(f, x, 1e-5, "central")
        others = {
            "the difference is not divided by anything: the error is RELATIVE, divide by ||a|| + ||n||":
                float(np.linalg.norm(wrong - numeric)),
            "it divides by ||numeric|| only; the lesson's error divides by ||analytic|| + ||numeric||":
                float(np.linalg.norm(wrong - numeric) / np.linalg.norm(numeric)),
            "it is an elementwise maximum; the normwise error takes the norm of the whole difference":
                float(np.max(np.abs(wrong - numeric) / (np.abs(wrong) + np.abs(numeric)))),
        }
        for message, value in others.items():
            if np.isclose(got, value, rtol=1e-3):
                raise CheckFailed(f"grad_check gave {got:.4g} for a wrong gradient, expected {want:.4g}: {message}")
        raise CheckFailed(f"grad_check gave {got:.4g} for a wrong gradient, expected {want:.4g} "
                          "(||analytic - numeric|| / (||analytic|| + ||numeric||))")
    return f"about 0 for a right gradient, {got:.3f} for a wrong one; central differences; x left as it was"


CHECKS = {
    "forward:forward": check_forward,
    "forward:loss": check_loss,
    "forward:grad_check": check_grad_check,
    "gradient:backward": check_backward,
}

# -- training: the lab's network and optimiser, the learner's forward and backward ------------------------
HIDDEN, LR, MOMENTUM, STEPS, EVERY = 32, 0.3, 0.9, 1000, 20


def train(m: Learner, budget_s: float, report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    """Full-batch gradient descent with momentum on the 300 spiral points, one round trip per step."""
    data = spirals()
    X, y = data.x, data.y
    rng = np.random.default_rng(0)
    params = [rng.normal(0, np.sqrt(2 / (2 + HIDDEN)), (2, HIDDEN)), np.zeros(HIDDEN),
              rng.normal(0, np.sqrt(2 / (HIDDEN + 3)), (HIDDEN, 3)), np.zeros(3)]
    velocity = [np.zeros_like(p) for p in params]
    start, value, accuracy = time.perf_counter(), float("nan"), 0.0
    for step in range(1, STEPS + 1):
        W1, b1, W2, b2 = params
        s = m.batch()
        out = s.forward(X, W1, b1, W2, b2)
        back = s.backward(X, y, out[0], out[1], W2)
        value, logits, *grads = s.run(s.loss(out[1], y), out[1], *(back[i] for i in range(4)))
        value = expect_scalar("loss", value)
        if not np.isfinite(value):
            raise CheckFailed(f"training diverged: the loss became {value} at step {step}")
        for p, v, g in zip(params, velocity, grads):
            v *= MOMENTUM
            v += g
            p -= LR * v
        if report is not None and (step % EVERY == 0 or step == STEPS):
            accuracy = float(np.mean(np.asarray(logits).argmax(axis=1) == y))
            report(step, STEPS, {"train_loss": value, "train_accuracy": accuracy})
        if time.perf_counter() - start > budget_s:
            raise CheckFailed(f"training took longer than {budget_s:.0f} s (stopped at step {step} of {STEPS}): "
                              "use whole-batch matrix products, no loop over samples")
    s = m.batch()
    logits = np.asarray(s.run(s.forward(X, *params)[1])[0])
    accuracy = float(np.mean(logits.argmax(axis=1) == y))
    seconds = time.perf_counter() - start
    metrics = {"train_accuracy": accuracy, "train_loss": value, "train_seconds": seconds}
    message = (f"train accuracy {accuracy:.3f} (target {TARGET_ACCURACY:.2f}) after {STEPS} steps in "
               f"{seconds:.1f} s, final loss {value:.3f}")
    return partial_credit(accuracy, 1 / 3, TARGET_ACCURACY), message, metrics
