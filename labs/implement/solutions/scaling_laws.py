"""scaling-laws: fit a power law with an irreducible floor to measured losses, written by you in NumPy.

The law of the lesson "Scaling laws" (its "Power laws" section):

    L(N) = E + A * N^(-alpha)        E >= 0 the irreducible loss, A > 0, alpha the exponent

The grader checks your fit on synthetic losses whose law it knows (exact, noisy, with and without a
floor), then fits the validation losses the scaling-laws lab measured for its tiny transformers: your
exponent must agree with the reference fit's, and your law, fitted on the smaller models, must predict
the largest one.

Conventions. n and loss are 1-D float64 arrays of the same length (model sizes and their losses, in any
order); return floats as Python floats and arrays as float64. Fit in LOG space: losses are compared by
their logarithms, so a point at loss 5 and one at loss 0.5 count alike. How you search for E is up to you
(a grid below min(loss) refined around its best point, or Gauss-Newton steps); the contract is the result.

NumPy only. Grade with `pathlab lab grade scaling-laws`; stuck? `pathlab lab hint scaling-laws`.
"""

import numpy as np


def fit_fixed_floor(n, loss, E):
    """For a known floor E, the A and alpha of the best straight line through log(loss - E) against
    log(n) (ordinary least squares in those coordinates: the lesson's "fit a straight line").

    Returns (A, alpha) as floats, with A > 0. Raises ValueError, with a message saying why, when any
    loss is <= E: the logarithm of loss - E does not exist there.
    """
    n, loss = np.asarray(n, dtype=np.float64), np.asarray(loss, dtype=np.float64)
    if np.any(loss <= E):
        raise ValueError(f"every loss must be above the floor E={E}: the smallest is {loss.min()}")
    x, y = np.log(n), np.log(loss - E)
    slope, intercept = np.polyfit(x, y, 1)
    return float(np.exp(intercept)), float(-slope)


def fit_power_law(n, loss):
    """Fit L(N) = E + A N^(-alpha) to the measured losses, E in [0, min(loss)).

    The fit is the floor E whose fixed-floor line (fit_fixed_floor's A and alpha) leaves the smallest sum
    of squared log-space residuals, r = log(loss) - log(E + A n^-alpha): the measured log-loss minus the
    law's. (Refining E, A and alpha together, e.g. by Gauss-Newton, is allowed: it can only lower that
    sum.) On losses that follow such a law exactly, it must recover E, A and alpha to at least 4
    significant digits, a floor of 0 included.

    Returns (E, A, alpha, residuals): three floats and the float64 array r, shaped like loss.
    Raises ValueError when there are fewer than 3 points, or a loss <= 0 (no logarithm).
    """
    n, loss = np.asarray(n, dtype=np.float64), np.asarray(loss, dtype=np.float64)
    if loss.size < 3 or n.shape != loss.shape:
        raise ValueError(f"a three-parameter law needs at least 3 (size, loss) pairs, got {loss.size}")
    if np.any(loss <= 0):
        raise ValueError(f"losses must be positive to take their logarithm, got a minimum of {loss.min()}")
    top = loss.min() * (1 - 1e-9)
    grid = np.linspace(0.0, top, 201)
    for _ in range(12):  # zoom in on the best grid point: 10x narrower each round
        scores = [_sum_of_squares(n, loss, E) for E in grid]
        best = int(np.argmin(scores))
        low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
        grid = np.linspace(low, high, 21)
    E = float(grid[int(np.argmin([_sum_of_squares(n, loss, e) for e in grid]))])
    A, alpha = fit_fixed_floor(n, loss, E)
    residuals = np.log(loss) - np.log(predict_loss(n, E, A, alpha))
    return E, A, alpha, residuals


def _sum_of_squares(n, loss, E):
    A, alpha = fit_fixed_floor(n, loss, E)
    return float(np.sum((np.log(loss) - np.log(predict_loss(n, E, A, alpha))) ** 2))


def predict_loss(n, E, A, alpha):
    """The law's loss at sizes n (an array of any shape): a float64 array of n's shape."""
    return E + A * np.asarray(n, dtype=np.float64) ** -alpha
