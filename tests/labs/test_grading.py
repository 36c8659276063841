"""Grading edges: the score shown and the verdict must agree, at the pass mark and at a check's maximum."""

import math

import pytest

from labs.grading import CheckSpec, evaluate, grade, partial_credit

FIT = CheckSpec(id="fit", title="Fit", points=100)


def test_a_score_a_hair_below_the_pass_mark_does_not_pass_and_is_not_shown_as_reaching_it():
    g = grade([evaluate(FIT, 0.69996, "close")], pass_mark=70)
    assert not g.passed
    assert g.score < 70


def test_a_score_exactly_at_the_pass_mark_passes():
    specs = [CheckSpec(id=f"c{i}", title="c", points=0.1) for i in range(10)]  # 0.1 * 10 is not 1.0 in floats
    results = [evaluate(s, 1.0, "ok") for s in specs[:7]] + [evaluate(s, 0.0, "no") for s in specs[7:]]
    g = grade(results, pass_mark=70)
    assert g.passed and g.score == 70


@pytest.mark.parametrize("fraction", [1 - 1e-9, 1e-9])
def test_status_agrees_with_the_points_earned(fraction):
    spec = CheckSpec(id="req", title="Required", points=30, required=True)
    result = evaluate(spec, fraction, "m")
    full, none = result.points == spec.points, result.points == 0
    assert result.status == ("passed" if full else "failed" if none else "partial")


def test_full_points_on_a_required_check_pass_the_grade():
    req = CheckSpec(id="req", title="Required", points=30, required=True)
    rest = CheckSpec(id="rest", title="Rest", points=70)
    g = grade([evaluate(req, 1 - 1e-9, "m"), evaluate(rest, 1.0, "m")], pass_mark=70)
    assert g.score == 100 and g.passed


@pytest.mark.parametrize("value, floor, target, expected", [
    (0.5, 0.0, 1.0, 0.5), (2.0, 0.0, 1.0, 1.0), (-1.0, 0.0, 1.0, 0.0),   # higher is better
    (0.5, 1.0, 0.0, 0.5), (0.0, 1.0, 0.0, 1.0), (3.0, 1.0, 0.0, 0.0),    # lower is better (a loss)
])
def test_partial_credit_works_in_either_direction(value, floor, target, expected):
    assert partial_credit(value, floor, target) == pytest.approx(expected)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_metric_earns_no_credit(bad):
    assert partial_credit(bad, 0.0, 1.0) == 0.0 and partial_credit(bad, 1.0, 0.0) == 0.0
    assert evaluate(FIT, bad, "m").status == "failed"
