"""The scaling-laws build task through the real grader: the reference earns 100, the scaffold 0, and each
classic fitting mistake costs exactly the checks it breaks (fit_power_law reuses fit_fixed_floor and
predict_loss in the reference, so their mistakes reach it too), with a message that names the mistake."""

from __future__ import annotations

import numpy as np
import pytest

from labs.catalog.scaling_laws import Params, fit_power_law, non_embedding_parameters
from labs.events import Progress
from labs.implement.checks import scaling_laws as checks
from labs.implement.solutions import scaling_laws as ref
from labs.implement.tasks import STRUCTURE, TRAIN
from tests.implement.helpers import assert_costs_exactly, by_id, grade_source, scaffold_source, solution_source, with_mistake

LAB = "scaling-laws"


def test_reference_solution_scores_100_on_the_labs_runs(tmp_path):
    events = []
    result = grade_source(tmp_path, LAB, solution_source(LAB), on_event=events.append)
    progress = [e for e in events if isinstance(e, Progress)]  # the final stage's live curve, 3 steps
    assert progress and progress[-1].step == 3 and "alpha" in progress[-1].metrics
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    assert result.metrics["alpha_error"] < 1e-9
    assert result.metrics["heldout_error"] < checks.HELDOUT_TOL
    assert "NOT MET" not in by_id(result)[TRAIN].message


def test_untouched_scaffold_scores_zero(tmp_path):
    result = grade_source(tmp_path, LAB, scaffold_source(LAB))
    got = by_id(result)
    assert result.grade.score == 0
    assert "start with fit_fixed_floor" in got[STRUCTURE].message
    assert got[TRAIN].status == "skipped"


MISTAKES = [
    # (what the learner did, line in the reference, the mistake, checks it loses, {check: words in its message})
    ("no floor: log L against log N", "E = float(grid[int(np.argmin([_sum_of_squares(n, loss, e) for e in grid]))])",
     "E = 0.0", {"forward:fit_power_law"},
     {"forward:fit_power_law": ["L = 1.5 + 6 N^-0.3", "the floor is missing", "biases the exponent low"]}),
    ("residuals in linear space", "residuals = np.log(loss) - np.log(predict_loss(n, E, A, alpha))",
     "residuals = loss - predict_loss(n, E, A, alpha)", {"forward:fit_power_law"},
     {"forward:fit_power_law": ["residuals", "linear space"]}),
    ("a coarse grid, never refined", "for _ in range(12):", "for _ in range(0):", {"forward:fit_power_law"},
     {"forward:fit_power_law": ["not to 4 digits", "refine the search for E"]}),
    ("losses at or below E accepted", "if np.any(loss <= E):", "if False:", {"forward:fit_fixed_floor"},
     {"forward:fit_fixed_floor": ["the smallest loss equals E", "raise ValueError"]}),
    ("the exponent's sign", "return float(np.exp(intercept)), float(-slope)",
     "return float(np.exp(intercept)), float(slope)", {"forward:fit_fixed_floor", "forward:fit_power_law"},
     {"forward:fit_fixed_floor": ["alpha has the wrong sign"]}),
    ("A left as its logarithm", "return float(np.exp(intercept)), float(-slope)",
     "return float(intercept), float(-slope)", {"forward:fit_fixed_floor", "forward:fit_power_law"},
     {"forward:fit_fixed_floor": ["the intercept is log A"]}),
    ("the floor not subtracted", "x, y = np.log(n), np.log(loss - E)", "x, y = np.log(n), np.log(loss)",
     {"forward:fit_fixed_floor", "forward:fit_power_law"},
     {"forward:fit_fixed_floor": ["without the floor: subtract E first"]}),
    ("the law without its floor", "return E + A * np.asarray(n, dtype=np.float64) ** -alpha",
     "return A * np.asarray(n, dtype=np.float64) ** -alpha", {"forward:predict_loss", "forward:fit_power_law"},
     {"forward:predict_loss": ["the floor E is missing"]}),
]


@pytest.mark.parametrize("what, line, wrong, lost, words", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_checks(tmp_path, what, line, wrong, lost, words):
    result = grade_source(tmp_path, LAB, with_mistake(LAB, line, wrong))
    assert_costs_exactly(result, LAB, {check_id: list(words.get(check_id, ())) for check_id in lost})


def test_the_measured_runs_are_the_labs_models_at_its_defaults():
    """MEASURED_RUNS says it holds the lab's defaults: its sizes must still be what the lab trains, so a
    change of the lab's defaults fails here until the table is measured again."""
    params = Params.model_validate({})
    sizes = {non_embedding_parameters(params.layers, w) for w in params.width_list()}
    assert {row[2] for row in checks.MEASURED_RUNS} == sizes
    assert {row[0] for row in checks.MEASURED_RUNS} == set(checks.SEEDS)
    assert len(checks.MEASURED_RUNS) == len(sizes) * len(checks.SEEDS)


def test_the_reference_fit_of_the_runs_is_the_labs_default_fit():
    """The losses fall slightly faster than a power law over this decade of N, so the best floor is 0 and
    the reference's exponent is the lab's own `power` fit (its default)."""
    n, loss = checks.measured()
    E, A, alpha, residuals = ref.fit_power_law(n, loss)
    lab = fit_power_law(n, loss)
    assert E == pytest.approx(0.0, abs=1e-9)
    assert alpha == pytest.approx(lab.alpha, rel=1e-9) and A == pytest.approx(lab.a, rel=1e-9)
    assert residuals.shape == loss.shape and np.all(np.isfinite(residuals))


GAUSS_NEWTON = '''def fit_power_law(n, loss):
    """Another method: a coarse grid for a start, then damped Gauss-Newton steps in (E, log A, alpha)."""
    n, loss = np.asarray(n, dtype=np.float64), np.asarray(loss, dtype=np.float64)
    if loss.size < 3 or np.any(loss <= 0):
        raise ValueError("need 3 or more positive losses")
    x, y = np.log(n), np.log(loss)
    top = loss.min() * (1 - 1e-12)

    def sse(E, log_a, a):
        law = E + np.exp(log_a) * n ** -a
        return np.sum((y - np.log(law)) ** 2) if np.all(law > 0) else np.inf

    starts = [(E, *fit_fixed_floor(n, loss, E)) for E in np.linspace(0, 0.999 * loss.min(), 100)]
    E, A, a = min(starts, key=lambda s: sse(s[0], np.log(s[1]), s[2]))
    log_a = np.log(A)
    for _ in range(100):
        power = np.exp(log_a) * n ** -a
        law = E + power
        jacobian = np.stack([1 / law, power / law, -power * x / law], axis=1)
        step = np.linalg.lstsq(jacobian, y - np.log(law), rcond=None)[0]
        lam, before = 1.0, sse(E, log_a, a)
        while lam > 1e-8:
            trial = (min(max(E + lam * step[0], 0.0), top), log_a + lam * step[1], a + lam * step[2])
            if sse(*trial) <= before:
                break
            lam /= 2
        E, log_a, a = trial
    A = float(np.exp(log_a))
    return float(E), A, float(a), y - np.log(E + A * n ** -a)


'''


def test_another_method_than_the_references_passes_too(tmp_path):
    """The contract is the result, not the grid: Gauss-Newton from a coarse start earns the same 100."""
    source = solution_source(LAB)
    start, end = source.index("def fit_power_law(n, loss):"), source.index("def _sum_of_squares")
    result = grade_source(tmp_path, LAB, source[:start] + GAUSS_NEWTON + source[end:])
    assert result.grade.score == 100, result.feedback
