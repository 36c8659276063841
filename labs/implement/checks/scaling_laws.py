"""scaling-laws in the checker: the learner's power-law fit on laws it knows, then on the lab's measured runs.

The fixed-floor fit is ordinary least squares, so it must match the reference to rounding. The full fit
(E, A, alpha) may be found by any method: on exact losses it must recover the law, on noisy ones its
log-space sum of squares (computed here from the parameters it returned) must be as small as the
reference's, and its residuals must be its own law's, in log space. A wrong fit is matched against the
classic mistakes first: no floor (log L fitted against log N, which biases the exponent low), the
exponent's sign, A left as its logarithm, residuals in linear space.

The final stage fits MEASURED_RUNS, the validation losses of the scaling-laws lab at its defaults, with
the learner's functions: the exponent must agree with the reference fit's, and the law fitted on the three
smaller widths must predict the largest one's loss.
"""

from __future__ import annotations

import numpy as np

from labs.implement.checks.common import CheckFailed, call, expect_array, unpack
from labs.implement.remote import Learner, LearnerRaised
from labs.implement.solutions import scaling_laws as ref

MEASURED_RUNS = (
    # (seed, width, N = non-embedding parameters, validation loss) of the scaling-laws lab at its defaults
    # (widths 16,24,32,48; 2 layers; 600 steps; lr 0.006; 50,000 characters of tiny Shakespeare), made on
    # 2026-12-02 at commit b12de1a on the shared 2-core machine (37.8-44.8 s a run, none stopped at its
    # limit) by `python -m labs.implement.checks.scaling_laws`, which runs the lab through labs.runner
    # exactly as the app does and prints these rows.
    (1, 16, 6560, 2.207985),
    (1, 24, 14448, 2.164432),
    (1, 32, 25408, 2.142662),
    (1, 48, 56544, 2.004981),
    (2, 16, 6560, 2.297928),
    (2, 24, 14448, 2.162155),
    (2, 32, 25408, 2.114192),
    (2, 48, 56544, 2.048954),
    (3, 16, 6560, 2.229749),
    (3, 24, 14448, 2.180695),
    (3, 32, 25408, 2.095108),
    (3, 48, 56544, 2.032081),
)
SEEDS = (1, 2, 3)
ALPHA_TOL = 0.10
"""relative: the learner's exponent on the lab's runs within 10 % of the reference fit's"""
HELDOUT_TOL = 0.02
"""relative error allowed predicting the largest model's mean loss from the three smaller ones"""
SSR_SLACK = 1.02
"""on noisy data, the learner's sum of squares may exceed the reference's by 2 % (another method)"""
PARAM_RTOL = 1e-4
"""exact data: E, A and alpha to 4 significant digits, as the docstring promises"""

FLOOR, SCALE, EXPONENT = 1.5, 6.0, 0.3
SIZES = np.logspace(3, 7, 9)


def _law(n: np.ndarray, E: float, A: float, alpha: float) -> np.ndarray:
    return E + A * np.asarray(n, dtype=np.float64) ** -alpha


def _noisy(points: int = 12, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Losses of the known law with 1 % multiplicative noise, sizes spread over four decades."""
    r = np.random.default_rng(seed)
    n = np.logspace(3, 7, points)
    return n, _law(n, FLOOR, SCALE, EXPONENT) * np.exp(0.01 * r.standard_normal(points))


def _log_ssr(n: np.ndarray, loss: np.ndarray, E: float, A: float, alpha: float) -> float:
    predicted = _law(n, E, A, alpha)
    if not np.all(predicted > 0):
        return float("inf")
    return float(np.sum((np.log(loss) - np.log(predicted)) ** 2))


def _floats(fn: str, values: tuple, names: tuple[str, ...]) -> tuple[float, ...]:
    out = []
    for name, value in zip(names, values):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
                or np.ndim(value) != 0:
            raise CheckFailed(f"{fn}: {name} should be one number (a float), got {type(value).__name__}")
        if not np.isfinite(float(value)):
            raise CheckFailed(f"{fn}: {name} is {float(value)}, not a finite number")
        out.append(float(value))
    return tuple(out)


def _close(got: float, want: float, rtol: float = PARAM_RTOL, atol: float = 1e-9) -> bool:
    return abs(got - want) <= atol + rtol * abs(want)


def _expect_refusal(m: Learner, fn: str, args: tuple, why: str) -> None:
    """The learner's function must raise ValueError for these arguments."""
    try:
        result = getattr(m, fn)(*args)
    except LearnerRaised as exc:
        if exc.type_name == "ValueError":
            return
        raise CheckFailed(f"{fn} raised {exc.type_name} ({exc.message}) when {why}; raise ValueError with a "
                          f"message saying what is wrong{exc.where}") from None
    raise CheckFailed(f"{fn} returned {_short(result)} when {why}; raise ValueError instead, with a message "
                      "saying what is wrong (a NaN would only surface later, far from the cause)")


def _short(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return repr(value)


# -- fit_fixed_floor ------------------------------------------------------------------------------------
def check_fit_fixed_floor(m: Learner) -> str:
    n = SIZES
    exact = _law(n, FLOOR, SCALE, EXPONENT)
    A, alpha = _floats("fit_fixed_floor", unpack("fit_fixed_floor", call(m, "fit_fixed_floor", n, exact, FLOOR),
                                                 ("A", "alpha")), ("A", "alpha"))
    no_floor = ref.fit_fixed_floor(n, exact, 0.0)
    if not (_close(A, SCALE, 1e-6) and _close(alpha, EXPONENT, 1e-6)):
        raise CheckFailed("fit_fixed_floor on exact losses L = 1.5 + 6 N^-0.3 with E=1.5 gave "
                          f"A={A:.6g}, alpha={alpha:.6g}, expected A=6, alpha=0.3: "
                          + _fixed_floor_mistake(A, alpha, no_floor))
    n, noisy = _noisy()
    got = _floats("fit_fixed_floor", unpack("fit_fixed_floor", call(m, "fit_fixed_floor", n, noisy, 1.2),
                                            ("A", "alpha")), ("A", "alpha"))
    want = ref.fit_fixed_floor(n, noisy, 1.2)
    if not (_close(got[0], want[0], 1e-6) and _close(got[1], want[1], 1e-6)):
        raise CheckFailed(f"fit_fixed_floor on noisy losses with E=1.2 gave A={got[0]:.6g}, alpha={got[1]:.6g}, "
                          f"expected A={want[0]:.6g}, alpha={want[1]:.6g}: ordinary least squares of "
                          "log(loss - E) on log(n), every point weighted the same")
    _expect_refusal(m, "fit_fixed_floor", (n, noisy, float(noisy.min())), "the smallest loss equals E")
    _expect_refusal(m, "fit_fixed_floor", (n, noisy, 2.0), "some losses are below E")
    return "recovers A and alpha exactly, matches least squares on noisy losses, refuses losses <= E"


def _fixed_floor_mistake(A: float, alpha: float, no_floor: tuple[float, float]) -> str:
    if _close(A, no_floor[0], 1e-4) and _close(alpha, no_floor[1], 1e-4):
        return "that is the fit of log(loss), without the floor: subtract E first, fit log(loss - E)"
    if _close(alpha, -EXPONENT, 1e-6):
        return "alpha has the wrong sign: the loss falls as N grows, so the slope is -alpha"
    if _close(alpha, 1 / EXPONENT, 1e-6) or _close(alpha, -1 / EXPONENT, 1e-6):
        return "the axes are swapped: regress log(loss - E) on log(n), not log(n) on log(loss - E)"
    if _close(A, np.log(SCALE), 1e-6):
        return "A is the line's intercept exponentiated: the intercept is log A"
    if _close(A, np.exp(np.log10(SCALE)), 1e-6):
        return "with log10 the intercept is log10(A): undo it with 10**, not exp()"
    return "fit a straight line to y = log(loss - E) against x = log(n): its slope is -alpha, its intercept log A"


# -- fit_power_law ----------------------------------------------------------------------------------------
def _fit(m: Learner, n: np.ndarray, loss: np.ndarray) -> tuple[float, float, float, object]:
    E, A, alpha, residuals = unpack("fit_power_law", call(m, "fit_power_law", n, loss),
                                    ("E", "A", "alpha", "residuals"))
    E, A, alpha = _floats("fit_power_law", (E, A, alpha), ("E", "A", "alpha"))
    return E, A, alpha, residuals


def _expect_law(m: Learner, n: np.ndarray, law: tuple[float, float, float]) -> None:
    E0, A0, alpha0 = law
    loss = _law(n, *law)
    E, A, alpha, _ = _fit(m, n, loss)
    said = (f"fit_power_law on exact losses L = {E0:g} + {A0:g} N^-{alpha0:g} gave E={E:.6g}, A={A:.6g}, "
            f"alpha={alpha:.6g}")
    if not 0 <= E < loss.min():
        raise CheckFailed(f"{said}: E must lie in [0, min(loss)) = [0, {loss.min():.4g}) (a floor is not "
                          "negative, and no loss lies below it)")
    if _close(E, E0, PARAM_RTOL, 1e-4 * loss.min()) and _close(A, A0) and _close(alpha, alpha0):
        return
    no_floor = ref.fit_fixed_floor(n, loss, 0.0)
    if E0 > 0 and E < 1e-3 * E0 and _close(alpha, no_floor[1], 1e-3):
        raise CheckFailed(f"{said}: the floor is missing. Fitting log L against log N without E bends the line "
                          f"and biases the exponent low ({alpha:.3g} instead of {alpha0:g}): search E as well")
    if alpha < 0:
        raise CheckFailed(f"{said}: alpha has the wrong sign (the loss falls as N grows: the slope is -alpha)")
    if abs(E - E0) <= 0.02 * loss.min():
        raise CheckFailed(f"{said}, expected E={E0:g}, A={A0:g}, alpha={alpha0:g}: close, but not to 4 digits; "
                          "refine the search for E around its best value (the exponent is sensitive to it)")
    raise CheckFailed(f"{said}, expected E={E0:g}, A={A0:g}, alpha={alpha0:g}: pick the E whose line leaves the "
                      "smallest sum of squared log-space residuals")


def check_fit_power_law(m: Learner) -> str:
    _expect_law(m, SIZES, (FLOOR, SCALE, EXPONENT))
    _expect_law(m, SIZES, (0.0, 4.0, 0.1))  # no floor at all: E = 0 is on the edge of the search
    shuffled = np.random.default_rng(3).permutation(np.logspace(2, 6, 7))
    _expect_law(m, shuffled, (2.0, 30.0, 0.5))
    n, noisy = _noisy()
    E, A, alpha, residuals = _fit(m, n, noisy)
    if not 0 <= E < noisy.min():
        raise CheckFailed(f"fit_power_law on noisy losses gave E={E:.6g}, outside [0, min(loss)) = "
                          f"[0, {noisy.min():.4g})")
    own = np.log(noisy) - np.log(_law(n, E, A, alpha))
    expect_array("fit_power_law residuals", residuals, own, mistakes={
        "the residuals are in linear space (loss - prediction); take them in log space: "
        "log(loss) - log(prediction)": noisy - _law(n, E, A, alpha),
        "these are the straight line's residuals in log(loss - E); the fit's are log(loss) - log(E + A n^-alpha)":
            np.log(noisy - E) - (np.log(A) - alpha * np.log(n)),
    })
    ours, theirs = _log_ssr(n, noisy, *ref.fit_power_law(n, noisy)[:3]), _log_ssr(n, noisy, E, A, alpha)
    if not theirs <= SSR_SLACK * ours + 1e-15:
        raise CheckFailed(f"fit_power_law on noisy losses: your law leaves a log-space sum of squares of "
                          f"{theirs:.4g}, the best fit {ours:.4g} (E={E:.4g}, A={A:.4g}, alpha={alpha:.4g}); "
                          "search E more finely, and fit A and alpha for each E")
    _expect_refusal(m, "fit_power_law", (n, np.where(np.arange(n.size) == 3, 0.0, noisy)), "a loss is 0")
    return (f"recovers three exact laws (with and without a floor), fits noisy losses as well as the reference "
            f"(sum of squares {theirs:.3g}), log-space residuals")


# -- predict_loss -----------------------------------------------------------------------------------------
def check_predict_loss(m: Learner) -> str:
    n = np.logspace(3, 8, 6).reshape(2, 3)
    expect_array("predict_loss output", call(m, "predict_loss", n, FLOOR, SCALE, EXPONENT),
                 ref.predict_loss(n, FLOOR, SCALE, EXPONENT), mistakes={
                     "the loss must FALL with size: n to the power -alpha": FLOOR + SCALE * n ** EXPONENT,
                     "the floor E is missing: the law is E + A n^-alpha": SCALE * n ** -EXPONENT,
                 })
    return "the law's losses, shaped like n"


CHECKS = {
    "forward:fit_fixed_floor": check_fit_fixed_floor,
    "forward:fit_power_law": check_fit_power_law,
    "forward:predict_loss": check_predict_loss,
}


# -- the final stage: the lab's measured runs ----------------------------------------------------------------
def measured() -> tuple[np.ndarray, np.ndarray]:
    runs = np.array(MEASURED_RUNS, dtype=np.float64)
    return runs[:, 2], runs[:, 3]


def train(m: Learner, budget_s: float, report=None) -> tuple[float, str, dict[str, float]]:
    """Fit the lab's measured runs with the learner's functions: the exponent against the reference fit's,
    the largest width predicted from the three smaller ones, and the law extrapolated beyond them."""
    del budget_s  # fitting 12 points takes well under a second
    n, loss = measured()
    E, A, alpha, _ = _fit(m, n, loss)
    want = ref.fit_power_law(n, loss)
    alpha_error = abs(alpha - want[2]) / want[2]
    exponent_ok = alpha > 0 and alpha_error <= ALPHA_TOL
    metrics = {"alpha": alpha, "E": E, "A": A, "alpha_reference": want[2], "alpha_error": alpha_error}
    _progress(report, 1, metrics)

    largest = n == n.max()
    Es, As, alphas, _ = _fit(m, n[~largest], loss[~largest])
    s = m.batch()
    out = s.run(s.predict_loss(np.array([n.max()]), Es, As, alphas),
                s.predict_loss(np.array([n.max(), 10 * n.max(), 100 * n.max()]), E, A, alpha))
    predicted, beyond = (np.asarray(v, dtype=np.float64).ravel() for v in out)
    if predicted.shape != (1,) or beyond.shape != (3,):
        raise CheckFailed("predict_loss should return an array shaped like n")
    actual = float(loss[largest].mean())
    heldout_error = abs(float(predicted[0]) - actual) / actual
    heldout_ok = heldout_error <= HELDOUT_TOL
    metrics.update(heldout_error=heldout_error, predicted_loss_10x=float(beyond[1]))
    _progress(report, 2, metrics)

    sound = bool(np.all(np.isfinite(beyond)) and np.all(np.diff(beyond) < 0) and np.all(beyond > E))
    _progress(report, 3, metrics)
    parts = [
        (exponent_ok, f"on the lab's {len(n)} runs your fit gives L = {E:.3g} + {A:.3g} N^-{alpha:.4f}; the "
                      f"reference fit's exponent is {want[2]:.4f} ({100 * alpha_error:.1f} % apart, "
                      f"{100 * ALPHA_TOL:.0f} % allowed)"),
        (heldout_ok, f"fitted on widths 16-32 it predicts {float(predicted[0]):.3f} for width 48, measured "
                     f"{actual:.3f} ({100 * heldout_error:.1f} % off, {100 * HELDOUT_TOL:.0f} % allowed)"),
        (sound, f"beyond the runs it predicts {float(beyond[1]):.3f} at 10x and {float(beyond[2]):.3f} at 100x "
                f"the largest N" + ("" if sound else ": an extrapolation must keep falling and stay above E")),
    ]
    fraction = sum(ok for ok, _ in parts) / len(parts)
    return fraction, "; ".join(("" if ok else "NOT MET: ") + text for ok, text in parts), metrics


def _progress(report, step: int, metrics: dict[str, float]) -> None:
    if report is not None:
        report(step, 3, dict(metrics))


def measure_runs(seeds: tuple[int, ...] = SEEDS) -> list[tuple[int, int, int, float]]:
    """Run the scaling-laws lab at its defaults (as the app does, through labs.runner) and return the rows
    of MEASURED_RUNS. About 40 s a seed on 2 cores."""
    from labs.catalog.scaling_laws import Params, non_embedding_parameters
    from labs.events import Finished
    from labs.runner import run_lab

    params, rows = Params.model_validate({}), []
    for seed in seeds:
        result = run_lab("scaling-laws", {}, seed)
        if not isinstance(result, Finished):
            raise RuntimeError(f"seed {seed}: {result}")
        for width in params.width_list():
            rows.append((seed, width, non_embedding_parameters(params.layers, width),
                         round(result.metrics[f"val_loss_width_{width}"], 6)))
    return rows


if __name__ == "__main__":
    for row in measure_runs():
        print(f"    {row},")
