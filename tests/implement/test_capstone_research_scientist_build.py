"""The capstone-research-scientist build through the real grader: the reference analysis earns 100 (the
dropout ablation, trained with the library's MLP seed pair by seed pair until the learner's rule stops it,
meets the capstone's standards), the scaffold 0, and each classic mistake of a seed-averaged comparison (the
population spread, comparing single seeds, a standard error that ignores the seeds, a one-sided test,
stopping before the noise is measured) costs exactly its check, named."""

from __future__ import annotations

import pytest

from labs.implement.tasks import STRUCTURE, TRAIN
from tests.implement.helpers import graded_reference, assert_costs_exactly, by_id, grade_source, scaffold_source, with_mistake

LAB = "capstone-research-scientist"


def test_reference_earns_100_with_a_replicated_resolved_ablation(tmp_path):
    result = graded_reference(LAB)
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    assert result.metrics["seeds"] >= 3
    assert result.metrics["effect_std_error"] < 0.01
    assert min(result.metrics["on_mean"], result.metrics["off_mean"]) >= 0.93
    assert "seeds per arm" in by_id(result)[TRAIN].message


def test_untouched_scaffold_scores_zero(tmp_path):
    result = grade_source(tmp_path, LAB, scaffold_source(LAB))
    checks = by_id(result)
    assert result.grade.score == 0
    assert "start with summarise" in checks[STRUCTURE].message
    assert checks["forward:need_more_seeds"].message == "need_more_seeds is not written yet"
    assert checks[TRAIN].status == "skipped"


SE = "float(math.sqrt(s1 ** 2 / len(on) + s2 ** 2 / len(off)))"
MISTAKES = [
    # (name, text in the reference, the mistake, check it breaks, words the message must contain)
    ("population std", 'std = float(np.std(a, ddof=1)) if len(a) > 1 else float("nan")',
     'std = float(np.std(a)) if len(a) > 1 else float("nan")', "forward:summarise",
     ["summarise's (mean, std)", "POPULATION standard deviation"]),
    ("one seed has no spread", 'if len(a) > 1 else float("nan")', "if len(a) > 1 else 0.0", "forward:summarise",
     ["summarise([0.95])", "a std of 0 would claim"]),
    ("comparing single seeds", f"return m1 - m2, {SE}", f"return on[0] - off[0], {SE}", "forward:effect",
     ["effect's difference", "compares single seeds"]),
    ("error ignores the seeds", SE, "float(math.sqrt(s1 ** 2 + s2 ** 2))", "forward:effect",
     ["effect's std_error", "ignores the numbers of seeds"]),
    ("standard errors added", SE, "float(s1 / math.sqrt(len(on)) + s2 / math.sqrt(len(off)))", "forward:effect",
     ["added, not their variances"]),
    ("one-sided test", '"exceeds the noise" if abs(t) >= threshold', '"exceeds the noise" if t >= threshold',
     "forward:verdict", ["said 'within the noise', expected 'exceeds the noise'", "a NEGATIVE effect"]),
    ("single seeds judged", "if not math.isfinite(se) or se == 0:", "if False:", "forward:verdict",
     ["on=[0.97], off=[0.94]", "comparing single seeds 'cannot be judged'"]),
    ("nan error counts as small", "return not se < max_std_error", "return se >= max_std_error",
     "forward:need_more_seeds", ["with 1 and 1 seeds said False", "nan is not below any bound"]),
    ("one arm enough", "if min(len(on), len(off)) < min_seeds:", "if max(len(on), len(off)) < min_seeds:",
     "forward:need_more_seeds", ["with 3 and 2 seeds said False", "BOTH arms need"]),
    ("ignores min_seeds", "if min(len(on), len(off)) < min_seeds:", "if False:", "forward:need_more_seeds",
     ["with 2 and 2 seeds said False", "fewer than min_seeds=3"]),
]


@pytest.mark.parametrize("text, wrong, broken, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_check(tmp_path, text, wrong, broken, words):
    assert_costs_exactly(grade_source(tmp_path, LAB, with_mistake(LAB, text, wrong)), LAB, {broken: words})
