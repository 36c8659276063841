"""classic-vs-deep in the checker: the learner's logistic regression on fixed inputs (values, stability for
huge scores, the gradient against finite differences, the decision boundary), then trained on two
separable clouds (it must fit them) and on two spiral arms (it must score what a correct linear model
scores there: well below the library's small network, which is the lab's point)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from labs.catalog._spirals import DATA_SEED, NOISE, POINTS_PER_ARM, train_full_batch
from labs.catalog._training import accuracy as model_accuracy
from labs.datasets import make_spirals
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed, call, expect_array, expect_gradients, expect_scalar, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import classic_vs_deep as ref
from labs.nn import MLP

N = 6
Report = Callable[[int, int, dict[str, float]], None]


def _rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def _problem() -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    r = _rng()
    return r.standard_normal((N, 2)), r.integers(0, 2, N), r.standard_normal(2), 0.3


def check_sigmoid(m: Learner) -> str:
    z = np.array([-800.0, -30.0, -2.0, -0.5, 0.0, 0.5, 2.0, 30.0, 800.0])
    got = call(m, "sigmoid", z)
    want = ref.sigmoid(z)
    if isinstance(got, np.ndarray) and got.shape == z.shape and not np.all(np.isfinite(got)):
        bad = ", ".join(f"{v:g}" for v in z[~np.isfinite(got)])
        raise CheckFailed(f"sigmoid is not finite at z = {bad}: exp() overflowed there; for each sign of z "
                          "write the formula so that exp() only sees a negative number")
    expect_array("sigmoid", got, want,
                 mistakes={"that is sigmoid(-z): the logistic function is 1 / (1 + exp(-z))": ref.sigmoid(-z)})
    return "right values, exact and finite at z = -800 and 800"


def check_predict_proba(m: Learner) -> str:
    X, _, w, b = _problem()
    expect_array("predict_proba", call(m, "predict_proba", X, w, b), ref.predict_proba(X, w, b),
                 mistakes={"the bias b is missing (p = sigmoid(X @ w + b))": ref.sigmoid(X @ w),
                           "these are the scores X @ w + b; pass them through the sigmoid": X @ w + b})
    return "one probability per row"


def _loss(m: Learner, X, y, w, b) -> tuple[float, object, object]:
    loss, dw, db = unpack("bce_loss", call(m, "bce_loss", X, y, w, b), ("loss", "dw", "db"))
    return expect_scalar("bce_loss's loss", loss), dw, db


def check_bce_loss(m: Learner) -> str:
    X, y, w, b = _problem()
    got, _, _ = _loss(m, X, y, w, b)
    want = ref.bce_loss(X, y, w, b)[0]
    p = ref.predict_proba(X, w, b)
    expect_array("bce_loss's loss", np.asarray(got), np.asarray(want), batch=N,
                 mistakes={"the loss is the SUM over the batch; take the mean": np.asarray(want * N),
                           "the minus sign is missing: the loss is -mean(y log p + (1 - y) log(1 - p))":
                           np.asarray(-want),
                           "that is the mean squared error of p; logistic regression uses the cross-entropy":
                           np.asarray(np.mean((p - y) ** 2))})
    big = X * 400.0  # scores in the hundreds, some on the wrong side: log(p) of a rounded p is -inf
    big_got, _, _ = _loss(m, big, y, w, b)
    big_want = ref.bce_loss(big, y, w, b)[0]
    if not np.isfinite(big_got) or not np.isclose(big_got, big_want, rtol=1e-6):
        raise CheckFailed(f"bce_loss gave {big_got:.6g} for scores in the hundreds, expected {big_want:.6g}: "
                          "log(p) of a probability rounded to 0 is -inf; compute the loss from z = X @ w + b "
                          "(log(1 + e^z) is np.logaddexp(0, z))")
    return f"loss {got:.4f} is right, also for scores in the hundreds"


def check_bce_gradient(m: Learner) -> str:
    X, y, w, b = _problem()
    _, dw, db = _loss(m, X, y, w, b)
    db = np.asarray(expect_scalar("bce_loss's db", db))
    _, want_dw, want_db = ref.bce_loss(X, y, w, b)
    p = ref.predict_proba(X, w, b)
    squared = 2.0 * (p - y) * p * (1.0 - p) / N  # d/dz of mean((p - y)^2)
    message = ("that is the gradient of the squared error (p - y)**2; the cross-entropy's gradient with "
               "respect to z is simply p - y")
    return expect_gradients(
        "bce_loss", lambda w, b: ref.bce_loss(X, y, w, float(b))[0], {"w": w, "b": np.asarray(b)},
        {"w": dw, "b": db}, {"w": want_dw, "b": np.asarray(want_db)}, batch=N,
        mistakes={"w": {message: X.T @ squared, message + " (and the 2 is missing)": X.T @ squared / 2},
                  "b": {message: np.asarray(squared.sum())}},
    )


def check_predict(m: Learner) -> str:
    X, _, w, b = _problem()
    got = call(m, "predict", X, w, b)
    want = ref.predict(X, w, b)
    if isinstance(got, np.ndarray) and got.dtype.kind == "f" and np.any((got > 0) & (got < 1)):
        raise CheckFailed("predict returns probabilities; return the class, 1 where p >= 0.5 and 0 elsewhere "
                          "(as int64)")
    expect_array("predict", got, want, mistakes={"the classes are swapped: class 1 is where p >= 0.5": 1 - want})
    return "class 1 exactly where p >= 0.5"


def check_decision_boundary(m: Learner) -> str:
    r = _rng()
    w, b, x1 = np.array([0.8, -1.6]), 0.4, np.linspace(-2.0, 2.0, 5)
    got = call(m, "decision_boundary", w, b, x1)
    want = ref.decision_boundary(w, b, x1)
    expect_array("decision_boundary", got, want,
                 mistakes={"the points are mirrored: w . x + b = 0 gives x2 = -(b + w[0] x1) / w[1]":
                           (b + w[0] * x1) / w[1],
                           "w[0] and w[1] are swapped": -(b + w[1] * x1) / w[0],
                           "the bias b is missing": -(w[0] * x1) / w[1]})
    w2 = r.standard_normal(2)
    got2 = call(m, "decision_boundary", w2, -0.7, x1)
    if isinstance(got2, np.ndarray) and got2.shape == x1.shape and \
            not np.allclose(w2[0] * x1 + w2[1] * got2 - 0.7, 0.0, atol=1e-9):
        raise CheckFailed("decision_boundary's points are not on the line w . x + b = 0 for another w and b")
    return "the points lie on w . x + b = 0"


CHECKS = {
    "forward:sigmoid": check_sigmoid,
    "forward:predict_proba": check_predict_proba,
    "forward:bce_loss": check_bce_loss,
    "forward:predict": check_predict,
    "forward:decision_boundary": check_decision_boundary,
    "gradient:bce_loss": check_bce_gradient,
}

# -- training ------------------------------------------------------------------------------------------
LR, STEPS, EVERY = 0.5, 500, 25
SEPARABLE_TARGET, SPIRAL_MARGIN = 0.95, 0.02
MLP_HIDDEN, MLP_LR, MLP_STEPS = 32, 0.3, 1000


def clouds(n_per_class: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clouds a straight line separates (their centres 4.5 standard deviations apart)."""
    r = np.random.default_rng(seed)
    x = np.concatenate([r.normal((-1.2, -0.6), 0.3, (n_per_class, 2)), r.normal((1.2, 0.6), 0.3, (n_per_class, 2))])
    return x, np.repeat(np.array([0, 1], dtype=np.int64), n_per_class)


def two_arms() -> tuple[np.ndarray, np.ndarray]:
    data = make_spirals(n_per_arm=POINTS_PER_ARM, arms=2, noise=NOISE, seed=DATA_SEED)
    return data.x, data.y


def fit(loss_and_grad: Callable[[np.ndarray, float], tuple[float, np.ndarray, float]],
        on_step: Callable[[int, float], None] | None = None) -> tuple[np.ndarray, float, float]:
    """Full-batch gradient descent from zero weights; the final (w, b, loss)."""
    w, b, loss = np.zeros(2), 0.0, float("nan")
    for step in range(1, STEPS + 1):
        loss, dw, db = loss_and_grad(w, b)
        if not np.isfinite(loss):
            raise CheckFailed(f"training diverged: the loss became {loss} at step {step}")
        w, b = w - LR * dw, b - LR * db
        if on_step is not None:
            on_step(step, loss)
    return w, b, loss


def train(m: Learner, budget_s: float, report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    """Fit the learner's logistic regression on the clouds, then on two spiral arms, with their gradient;
    a reference logistic regression and the library's small MLP fit the spirals for comparison."""
    start = time.perf_counter()
    results = {}
    for phase, (X, y) in enumerate((clouds(), two_arms())):
        key = "train_loss" if phase == 0 else "spirals_train_loss"

        def learner_step(w: np.ndarray, b: float) -> tuple[float, np.ndarray, float]:
            loss, dw, db = _loss(m, X, y, w, b)
            if time.perf_counter() - start > budget_s:
                raise CheckFailed(f"training took longer than {budget_s:.0f} s: use whole-batch matrix "
                                  "products, no loop over samples")
            return loss, np.asarray(dw, dtype=np.float64), expect_scalar("bce_loss's db", db)

        def on_step(step: int, loss: float) -> None:
            if report is not None and (step % EVERY == 0 or step == STEPS):
                report(phase * STEPS + step, 2 * STEPS, {key: loss})

        w, b, loss = fit(learner_step, on_step)
        got = float(np.mean(np.asarray(call(m, "predict", X, w, b)) == y))
        w_ref, b_ref, _ = fit(lambda w, b: ref.bce_loss(X, y, w, b))
        results[phase] = (got, float(np.mean(ref.predict(X, w_ref, b_ref) == y)), loss)
    (clouds_acc, _, clouds_loss), (spiral_acc, spiral_ref, spiral_loss) = results[0], results[1]
    X, y = two_arms()
    net = MLP([2, MLP_HIDDEN, 2], activation="tanh", rng=np.random.default_rng(0), dtype=np.float64)
    train_full_batch(net, X, y, lr=MLP_LR, steps=MLP_STEPS, ctx=None)
    mlp_acc = model_accuracy(net, X, y)
    metrics = {"train_accuracy": clouds_acc, "train_loss": clouds_loss, "spirals_accuracy": spiral_acc,
               "spirals_reference_accuracy": spiral_ref, "spirals_mlp_accuracy": mlp_acc,
               "spirals_train_loss": spiral_loss, "train_seconds": time.perf_counter() - start}
    linear_ok = abs(spiral_acc - spiral_ref) <= SPIRAL_MARGIN
    message = (f"separable clouds: accuracy {clouds_acc:.3f} (target {SEPARABLE_TARGET:.2f}); two spiral arms: "
               f"{spiral_acc:.3f}, a correct logistic regression {spiral_ref:.3f}, the library's "
               f"{MLP_HIDDEN}-unit network {mlp_acc:.3f}")
    if not linear_ok:
        message += (f"; on the spirals your model should score what a linear model scores (within "
                    f"{SPIRAL_MARGIN:.2f}): check predict against predict_proba")
    return 0.5 * partial_credit(clouds_acc, 0.5, SEPARABLE_TARGET) + 0.5 * linear_ok, message, metrics
