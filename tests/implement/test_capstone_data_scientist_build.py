"""The capstone-data-scientist build through the real grader: the reference protocol earns 100 (the
library's logistic regression and network, trained on the learner's split and compared by the learner's
intervals and test, meet the capstone's bars), the scaffold 0, and each classic A/B mistake (a leaking or
truncated hold-out, the normal approximation, an unpooled or one-sided test, a conclusion from point
estimates) costs exactly its check, named."""

from __future__ import annotations

import pytest

from labs.implement.tasks import STRUCTURE, TRAIN
from tests.implement.helpers import graded_reference, assert_costs_exactly, by_id, grade_source, scaffold_source, with_mistake

LAB = "capstone-data-scientist"


def test_reference_earns_100_with_a_separated_comparison(tmp_path):
    result = graded_reference(LAB)
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    assert result.metrics["val_accuracy_low"] >= 0.85
    assert result.metrics["val_accuracy_low"] > result.metrics["linear_val_accuracy_high"]
    assert by_id(result)[TRAIN].message.endswith("b is better")


def test_untouched_scaffold_scores_zero(tmp_path):
    result = grade_source(tmp_path, LAB, scaffold_source(LAB))
    checks = by_id(result)
    assert result.grade.score == 0
    assert "start with holdout_split" in checks[STRUCTURE].message
    assert checks["forward:conclusion"].message == "conclusion is not written yet"
    assert checks[TRAIN].status == "skipped"


WILSON = ("centre = (p + z * z / (2 * n)) / (1 + z * z / n)\n"
          "    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)")
HALF = "half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)"
P_VALUE = "math.erfc(abs(z) / math.sqrt(2))"
MISTAKES = [
    # (name, text in the reference, the mistake, check it breaks, words the message must contain)
    ("hold-out leaks into training", "np.sort(permutation[n_val:])", "np.sort(permutation)",
     "forward:holdout_split", ["holdout_split leaks", "not held out"]),
    ("truncated count", "n_val = round(val_fraction * n)", "n_val = int(val_fraction * n)", "forward:holdout_split",
     ["holds out 7 of 25", "int() truncates"]),
    ("normal approximation", WILSON, "centre = p\n    half = z * math.sqrt(p * (1 - p) / n)",
     "forward:wilson_interval", ["wilson_interval(45, 50, 1.96)", "normal approximation"]),
    ("half-width not divided", HALF, "half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))",
     "forward:wilson_interval", ["not divided by 1 + z**2 / n"]),
    ("unpooled error", "se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))",
     "se = math.sqrt(pa * (1 - pa) / n_a + pb * (1 - pb) / n_b)", "forward:ab_test",
     ["ab_test(150, 200, 180, 210)'s z", "unpooled standard error", "pool the counts"]),
    ("one-sided p-value", P_VALUE, P_VALUE + " / 2", "forward:ab_test", ["p_value", "one-sided", "double it"]),
    ("p-value at z", P_VALUE, "math.erfc(z / math.sqrt(2))", "forward:ab_test",
     ["ab_test(180, 210, 150, 200)'s p_value", "not |z|"]),
    ("difference a - b", "return pb - pa, z,", "return pa - pb, z,", "forward:ab_test",
     ["difference", "it is b - a"]),
    ("point estimates compared", "if lo_b > hi_a:", "if lo_b + hi_b > lo_a + hi_a:", "forward:conclusion",
     ["said 'b is better' for overlapping intervals", "the intervals overlap"]),
    ("touching counts as separated", "if lo_b > hi_a:", "if lo_b >= hi_a:", "forward:conclusion",
     ["intervals that touch at 0.75", "not separated"]),
]


@pytest.mark.parametrize("text, wrong, broken, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_check(tmp_path, text, wrong, broken, words):
    assert_costs_exactly(grade_source(tmp_path, LAB, with_mistake(LAB, text, wrong)), LAB, {broken: words})
