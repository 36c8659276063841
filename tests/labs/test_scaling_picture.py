"""The scaling-laws picture (issue 14, point 5): the fit with a floor is the default and is judged in log
space on L itself, and a run records the (N, final loss) points and the law for the log-log plot."""

from __future__ import annotations

import numpy as np
import pytest

from labs.catalog import get_lab
from labs.catalog._fit import ScalingPicture, fit_power_law
from labs.catalog.scaling_laws import non_embedding_parameters
from labs.implement.checks import scaling_laws as checks
from labs.implement.solutions import scaling_laws as reference

TINY = {"widths": "8,12,16", "layers": 1, "steps": 15, "lr": 0.01}


def test_the_default_fit_has_a_floor():
    assert get_lab("scaling-laws").default_params().fit == "power+offset"


def test_the_floor_fit_recovers_a_law_with_a_floor_and_one_without():
    n = np.array([1e3, 4e3, 2e4, 1e5, 5e5])
    with_floor = fit_power_law(n, 1.5 + 6 * n**-0.3, offset=True)
    assert (with_floor.c, with_floor.a, with_floor.alpha) == pytest.approx((1.5, 6.0, 0.3), rel=1e-6)
    assert with_floor.r2 == pytest.approx(1.0)
    without = fit_power_law(n, 6 * n**-0.3, offset=True)
    assert without.c == pytest.approx(0.0, abs=1e-9) and without.alpha == pytest.approx(0.3, rel=1e-6)


def test_on_the_labs_measured_runs_the_floor_is_not_pushed_up():
    """Maximising the R^2 of log(L - c) picked c = 1.27 here (alpha 0.115); in log space on L the best
    floor is 0 and the exponent is the reference solution's."""
    n, loss = checks.measured()
    fit = fit_power_law(n, loss, offset=True)
    E, A, alpha, _ = reference.fit_power_law(n, loss)
    assert fit.c < 0.01 and fit.alpha == pytest.approx(alpha, rel=1e-6) and fit.a == pytest.approx(A, rel=1e-6)
    # and the floor fit is never worse in log space than the fit without one
    plain = fit_power_law(n, loss)
    assert fit.r2 >= plain.r2 - 1e-12


def test_the_fit_minimises_the_log_space_residual_over_the_floor():
    rng = np.random.default_rng(4)
    n = np.array([2e4, 4e4, 8e4, 1.6e5, 3.2e5])
    loss = 1.2 + 2.5 * n**-0.2 * np.exp(rng.normal(0, 0.003, size=5))
    fit = fit_power_law(n, loss, offset=True)

    def sse(E):
        A, alpha = reference.fit_fixed_floor(n, loss, E)
        return float(np.sum((np.log(loss) - np.log(E + A * n**-alpha)) ** 2))

    best = sse(fit.c)
    assert all(best <= sse(E) + 1e-12 for E in np.linspace(0, 0.999 * loss.min(), 300))


def test_a_run_records_the_points_and_the_law_for_the_plot():
    lab = get_lab("scaling-laws")
    finished = lab.train(lab.validate_params(TINY), 0, lambda e: None)
    picture = ScalingPicture.from_metrics(finished.metrics)
    assert picture is not None
    assert picture.n_params == [non_embedding_parameters(1, w) for w in (8, 12, 16)]
    assert picture.losses == [finished.metrics[f"val_loss_width_{w}"] for w in (8, 12, 16)]
    fit = fit_power_law(np.array(picture.n_params), np.array(picture.losses), offset=True)
    assert (picture.E, picture.A, picture.alpha) == pytest.approx((fit.c, fit.a, fit.alpha))
    assert f"alpha = {picture.alpha:.2f}" in picture.caption() and f"E = {picture.E:.2f}" in picture.caption()
    n, curve = picture.curve()
    assert n.min() < picture.n_params[0] and n.max() > picture.n_params[-1]
    assert np.allclose(curve, picture.E + picture.A * n**-picture.alpha)


def test_other_runs_have_no_picture():
    assert ScalingPicture.from_metrics({"train_loss": 0.2, "optimum_loss": 0.2}) is None
    assert ScalingPicture.from_metrics({"n_params_width_8": 100.0, "val_loss_width_8": None,
                                        "a": 1.0, "alpha": 0.1, "c": 0.0}) is None
