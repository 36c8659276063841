"""gd-linear in the checker: the loss, its gradient, the update and the stopping rule on fixed problems, then
the learner's own gradient-descent loop fitting the lab's linear data to within 1 % of least squares."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from labs.catalog.gd_linear import DATA_SEED, least_squares
from labs.datasets import make_linear
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed, call, expect_array, expect_gradients, expect_scalar, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import gd_linear as ref

N, D = 6, 3
REASONS = ("converged", "diverged", "max_steps")
Report = Callable[[int, int, dict[str, float]], None]


def _problem(n: int = N, d: int = D, seed: int = 1234) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    r = np.random.default_rng(seed)
    X = r.standard_normal((n, d))
    return X, X @ r.standard_normal(d) + 0.3 * r.standard_normal(n), r.standard_normal(d), 0.5


def check_mse_loss(m: Learner) -> str:
    X, y, w, b = _problem()
    got = expect_scalar("mse_loss", call(m, "mse_loss", X, y, w, b))
    want = ref.mse_loss(X, y, w, b)
    r = X @ w + b - y
    expect_array("mse_loss", np.asarray(got), np.asarray(want), batch=N,
                 mistakes={"the bias b is missing from the prediction (y_hat = X @ w + b)":
                           np.asarray(np.mean((X @ w - y) ** 2)),
                           "the residuals are not squared: the MSE is the mean of (y_hat - y)**2":
                           np.asarray(np.mean(np.abs(r))),
                           "that is the root of the MSE; do not take the square root": np.asarray(np.sqrt(want))})
    return f"loss {got:.4f} is right"


def _gradient_mistakes(X: np.ndarray, r: np.ndarray, n: int) -> dict[str, dict[str, np.ndarray]]:
    right = 2.0 * X.T @ r / n
    transposed = {"X is used where its transpose belongs: dw needs X.T @ residual (D,), one entry per feature":
                  2.0 * X @ r / n} if X.shape[0] == X.shape[1] else {}
    return {"w": {**transposed,
        "the factor 2 is missing (d/dr of r**2 is 2r)": right / 2,
        f"the 1/N of the mean is missing ({n} times too large)": right * n,
        "both the 2 and the 1/N of the mean are missing": right * n / 2,
        "the residual is y - y_hat: the gradient of (y_hat - y)**2 has the opposite sign": -right,
    }}


def check_mse_gradient(m: Learner) -> str:
    def judge(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> str:
        dw, db = unpack("mse_gradient", call(m, "mse_gradient", X, y, w, b), ("dw", "db"))
        db = np.asarray(expect_scalar("mse_gradient's db", db))
        want_dw, want_db = ref.mse_gradient(X, y, w, b)
        r = X @ w + b - y
        mistakes = _gradient_mistakes(X, r, len(y))
        mistakes["b"] = {k: np.asarray(v) for k, v in {
            "the factor 2 is missing (d/dr of r**2 is 2r)": want_db / 2,
            "the residual is y - y_hat: the gradient of (y_hat - y)**2 has the opposite sign": -want_db,
        }.items()}
        return expect_gradients("mse_gradient", lambda w, b: ref.mse_loss(X, y, w, float(b)),
                                {"w": w, "b": np.asarray(b)}, {"w": dw, "b": db},
                                {"w": want_dw, "b": np.asarray(want_db)}, batch=len(y), mistakes=mistakes)

    judge(*_problem(n=D, d=D))  # square X first: there X @ r runs, so a transposed X is named, not a crash
    try:
        return judge(*_problem())
    except CheckFailed as failed:
        if "matmul" in failed.message or "not aligned" in failed.message or "shapes" in failed.message:
            raise CheckFailed(failed.message + f" [with X of shape {(N, D)}: dw needs X.T @ residual]") from None
        raise


def check_gd_step(m: Learner) -> str:
    r = np.random.default_rng(7)
    w, dw, b, db, lr = r.standard_normal(D), r.standard_normal(D), 0.5, -0.2, 0.1
    w_new, b_new = unpack("gd_step", call(m, "gd_step", w, b, dw, db, lr), ("w", "b"))
    want_w, want_b = ref.gd_step(w, b, dw, db, lr)
    up = "the step goes UP the gradient: gradient descent subtracts lr * grad"
    expect_array("gd_step's w", w_new, want_w, mistakes={up: w + lr * dw})
    expect_array("gd_step's b", np.asarray(expect_scalar("gd_step's b", b_new)), np.asarray(want_b),
                 mistakes={up: np.asarray(b + lr * db)})
    return "the step moves against the gradient, scaled by lr"


def _run_gd(m: Learner, X, y, w, b, lr: float, tol: float, steps: int) -> tuple[np.ndarray, float, np.ndarray, str]:
    w_out, b_out, losses, reason = unpack("gradient_descent", call(m, "gradient_descent", X, y, w, b, lr, tol, steps),
                                          ("w", "b", "losses", "reason"))
    if not isinstance(losses, np.ndarray) or losses.ndim != 1:
        raise CheckFailed(f"gradient_descent: losses should be a 1-D NumPy array (the curve), got "
                          f"{type(losses).__name__} of shape {np.shape(losses)}")
    if reason not in REASONS:
        raise CheckFailed(f"gradient_descent: reason should be one of {', '.join(map(repr, REASONS))}, got {reason!r}")
    if len(losses) < 2:
        raise CheckFailed(f"gradient_descent: losses has {len(losses)} entries; it holds the starting loss and "
                          "one loss per step taken")
    start = ref.mse_loss(X, y, w, b)
    if not np.isclose(losses[0], start, rtol=1e-6):
        raise CheckFailed(f"gradient_descent: losses[0] is {losses[0]:.6g}, expected the loss at the starting "
                          f"point, {start:.6g}")
    return np.asarray(w_out), expect_scalar("gradient_descent's b", b_out), losses, reason


def _rule(m: Learner, X, y, w, b, lr: float, tol: float, steps: int) -> tuple[np.ndarray, float, np.ndarray, str]:
    """What the stopping rule gives when it drives the LEARNER's loss, gradient and step (one round trip per
    step): the loop is judged on its own logic, so a mistake in a piece costs that piece's check only."""
    losses = [expect_scalar("mse_loss", call(m, "mse_loss", X, y, w, b))]
    for _ in range(steps):
        s = m.batch()
        grad = s.mse_gradient(X, y, w, b)
        moved = s.gd_step(w, b, grad[0], grad[1], lr)
        w, b, loss = s.run(moved[0], moved[1], s.mse_loss(X, y, moved[0], moved[1]))
        losses.append(expect_scalar("mse_loss", loss))
        if not np.isfinite(losses[-1]) or losses[-1] > ref.BLOW_UP * losses[0]:
            return np.asarray(w), float(b), np.array(losses), "diverged"
        if abs(losses[-1] - losses[-2]) < tol:
            return np.asarray(w), float(b), np.array(losses), "converged"
    return np.asarray(w), float(b), np.array(losses), "max_steps"


def check_gradient_descent(m: Learner) -> str:
    X, y, w, b = _problem(n=D, d=D)  # square, so a transposed X in mse_gradient cannot crash the loop too
    # 1. out of steps first: a loop that ignores max_steps still ends here (it converges), so it is named
    _, _, losses, reason = _run_gd(m, X, y, w, b, 0.01, 1e-12, 5)
    if reason != "max_steps" or len(losses) != 6:
        raise CheckFailed(f"gradient_descent with max_steps=5 took {len(losses) - 1} steps and said {reason!r}: "
                          "it must stop after max_steps steps (losses of length 6) with reason 'max_steps'")
    # 2. converging, then 3. diverging (a rate far above 2 / the largest curvature): the learner's loop must
    # stop where and why the rule stops on the same pieces
    done = []
    for lr, tol, steps in ((0.1, 1e-6, 10_000), (20.0, 1e-9, 1000)):
        w_got, _, losses, reason = _run_gd(m, X, y, w, b, lr, tol, steps)
        w_want, _, want, why = _rule(m, X, y, w, b, lr, tol, steps)
        took, should = len(losses) - 1, len(want) - 1
        if reason != why or took != should:
            changes = np.abs(np.diff(losses))
            if why == "converged" and took > should:
                detail = (f"the loss changed by {changes[should - 1]:.3g} < tol at step {should}, so the loop "
                          "should have stopped there")
            elif why == "diverged":
                detail = (f"the loss passed BLOW_UP times the first loss (or became inf) at step {should}: stop "
                          "there as 'diverged'")
            elif why == "converged":
                detail = f"the rule stops at the first step whose loss change is below tol, step {should}"
            else:
                detail = f"the rule runs to max_steps={steps}"
            raise CheckFailed(f"gradient_descent with lr={lr:g}, tol={tol:g} stopped after {took} steps "
                              f"saying {reason!r}; expected {should} steps and {why!r}: {detail}")
        expect_array(f"gradient_descent's losses (lr={lr:g})", losses.astype(np.float64), want)
        expect_array(f"gradient_descent's final w (lr={lr:g})", w_got, w_want)
        done.append(f"{why} after {took} steps with lr={lr:g}")
    return "stops at max_steps; " + ", ".join(done)


CHECKS = {
    "forward:mse_loss": check_mse_loss,
    "gradient:mse_gradient": check_mse_gradient,
    "forward:gd_step": check_gd_step,
    "forward:gradient_descent": check_gradient_descent,
}

# -- training ------------------------------------------------------------------------------------------
LR, TOL, MAX_STEPS, CHUNK = 0.05, 1e-10, 2000, 20
"""the lab's default rate; the learner's loop runs CHUNK steps per call so the curve is drawn live"""
TARGET_GAP = 0.01


def train(m: Learner, budget_s: float, report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    """Fit the lab's data with the learner's gradient_descent, continued CHUNK steps at a time from where
    it stopped (the stopping rule sees the same curve as in one call), until it stops for its own reason."""
    data = make_linear(seed=DATA_SEED)
    X, y = data.x, data.y
    w_opt, b_opt = least_squares(X, y)
    best = ref.mse_loss(X, y, w_opt, b_opt)
    w, b = np.random.default_rng(0).normal(size=X.shape[1]), 0.0
    curve, reason, start = [ref.mse_loss(X, y, w, b)], "max_steps", time.perf_counter()
    while reason == "max_steps" and len(curve) - 1 < MAX_STEPS:
        w, b, losses, reason = _run_gd(m, X, y, w, b, LR, TOL, min(CHUNK, MAX_STEPS - len(curve) + 1))
        curve.extend(float(v) for v in losses[1:])
        if report is not None:
            report(len(curve) - 1, MAX_STEPS, {"train_loss": curve[-1]})
        if time.perf_counter() - start > budget_s:
            raise CheckFailed(f"training took longer than {budget_s:.0f} s ({len(curve) - 1} steps): use "
                              "whole-batch matrix products, no loop over samples")
    final, steps = curve[-1], len(curve) - 1
    gap = (final - best) / best if np.isfinite(final) else float("inf")
    metrics = {"train_loss": final, "optimum_loss": best, "loss_gap": gap, "steps": float(steps),
               "train_seconds": time.perf_counter() - start}
    message = (f"your loop stopped after {steps} steps ({reason}) at loss {final:.4f}, optimum {best:.4f} "
               f"({100 * gap:.2f} % above; target within {100 * TARGET_GAP:.0f} %)")
    if reason == "diverged" or not np.isfinite(final):
        return 0.0, message + f"; with lr={LR:g} the loss should fall, check the update's sign", metrics
    return partial_credit(gap, 0.5, TARGET_GAP), message, metrics
