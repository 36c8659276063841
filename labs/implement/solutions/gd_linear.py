"""gd-linear: the mean squared error of a linear model, its gradient, and batch gradient descent, by you.

The model predicts y_hat = X @ w + b. The grader checks each function on small fixed inputs (values, and
the gradient against finite differences), tests your stopping rule on problems that converge, diverge
and run out of steps, then runs YOUR gradient_descent on the lab's 200 noisy points and expects a final
loss within 1 % of the exact least-squares optimum (np.linalg.lstsq).

Conventions. X (N, D) float64, y (N,), w (D,), b a Python float. The loss is the MEAN over the N samples
(lesson "Gradient descent", "A worked example: linear regression"). NumPy only, no loop over samples.
Grade with `pathlab lab grade gd-linear`; stuck? `pathlab lab hint gd-linear`.
"""

import numpy as np

BLOW_UP = 1e6
"""a loss this many times the starting loss has diverged, even before it overflows"""


def mse_loss(X, y, w, b):
    """The mean squared error of the predictions X @ w + b against y, as a Python float (the lesson's L)."""
    return float(np.mean((X @ w + b - y) ** 2))


def mse_gradient(X, y, w, b):
    """The gradient of mse_loss with respect to w and b, from the lesson's worked example.

    Returns (dw, db): dw an array of shape (D,) like w, db a Python float like b.
    """
    residual = X @ w + b - y
    n = len(y)
    dw = 2.0 * X.T @ residual / n
    db = 2.0 * float(residual.sum()) / n
    return dw, db


def gd_step(w, b, dw, db, lr):
    """One step of gradient descent with learning rate lr > 0: move (w, b) downhill.

    Returns the new (w, b), w of shape (D,), b a Python float; do not change the arrays passed in.
    """
    return w - lr * dw, float(b - lr * db)


def gradient_descent(X, y, w, b, lr, tol, max_steps):
    """Batch gradient descent from (w, b), using your three functions above, with a stopping rule.

    losses[0] is the loss at the starting point and losses[k] the loss after step k. Stop after the first
    step whose loss differs from the previous one by less than `tol` (reason "converged"); after a step
    whose loss is not finite or more than BLOW_UP times losses[0] (reason "diverged"); or after
    `max_steps` steps (reason "max_steps"), whichever comes first.
    Returns (w, b, losses, reason): the last weights, the curve as a float64 array of length steps + 1,
    and the reason as one of the three strings.
    """
    losses = [mse_loss(X, y, w, b)]
    for _ in range(max_steps):
        dw, db = mse_gradient(X, y, w, b)
        w, b = gd_step(w, b, dw, db, lr)
        losses.append(mse_loss(X, y, w, b))
        if not np.isfinite(losses[-1]) or losses[-1] > BLOW_UP * losses[0]:
            return w, b, np.array(losses), "diverged"
        if abs(losses[-1] - losses[-2]) < tol:
            return w, b, np.array(losses), "converged"
    return w, b, np.array(losses), "max_steps"
