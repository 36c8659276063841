"""The capstone-mlops-engineer build through the real grader: the reference verdicts earn 100 (the library's
MLP, judged by the learner's hash, comparison, latency reading and gate, is reproducible, round-trips,
serves within 1 ms and ships), the scaffold 0, and each classic reproducibility mistake (a hash blind to
shape, dtype or exact values, a comparison with a tolerance or blind to NaN, lengths and dtypes, a mean or a
cold-start latency, a gate with a strict bound or no floor) costs exactly its check, named."""

from __future__ import annotations

import pytest

from labs.implement.tasks import STRUCTURE, TRAIN
from tests.implement.helpers import graded_reference, assert_costs_exactly, by_id, grade_source, scaffold_source, with_mistake

LAB = "capstone-mlops-engineer"


def test_reference_earns_100_and_the_model_meets_the_capstone(tmp_path):
    result = graded_reference(LAB)
    assert result.status == "passed", result.feedback
    assert result.grade.score == 100
    assert result.metrics["test_accuracy"] >= 0.95
    message = by_id(result)[TRAIN].message
    assert "bit-identical" in message and "round trip identical" in message and message.endswith("ship")


def test_untouched_scaffold_scores_zero(tmp_path):
    result = grade_source(tmp_path, LAB, scaffold_source(LAB))
    checks = by_id(result)
    assert result.grade.score == 0
    assert "start with digest" in checks[STRUCTURE].message
    assert checks["forward:regression_gate"].message == "regression_gate is not written yet"
    assert checks[TRAIN].status == "skipped"


LATENCY = "np.median(np.asarray(times_s[warmup:], dtype=np.float64)) * 1000.0"
GATE = "candidate >= min_accuracy and candidate >= baseline - max_drop"
MISTAKES = [
    # (name, text in the reference, the mistake, check it breaks, words the message must contain)
    ("hash without the shape", 'h.update(f"{a.dtype.str}{a.shape};".encode())', "h.update(a.dtype.str.encode())",
     "forward:digest", ["its reshape to (3, 4)", "put each array's shape"]),
    ("hash without the dtype", 'h.update(f"{a.dtype.str}{a.shape};".encode())', 'h.update(f"{a.shape};".encode())',
     "forward:digest", ["int32 zeros and float32 zeros", "dtype"]),
    ("hash of the printed array", "h.update(a.tobytes())", "h.update(str(a).encode())", "forward:digest",
     ["one ulp", "not rounded or printed values"]),
    ("comparison with a tolerance", "if not np.array_equal(x, y, equal_nan=True):",
     "if not np.allclose(x, y, equal_nan=True):", "forward:identical",
     ["said True for weights one ulp apart", "a tolerance (np.allclose?)"]),
    ("NaN is never equal", "if not np.array_equal(x, y, equal_nan=True):", "if not np.array_equal(x, y):",
     "forward:identical", ["said False for arrays with a NaN in the same place", "equal_nan=True"]),
    ("zip hides a missing array", "if len(a) != len(b):", "if False:", "forward:identical",
     ["two weights against the first of them only", "zip stops at the shorter list"]),
    ("dtype ignored", "if x.shape != y.shape or x.dtype != y.dtype:", "if x.shape != y.shape:", "forward:identical",
     ["as float64 and as float32", "the dtypes differ"]),
    ("mean latency", LATENCY, LATENCY.replace("np.median", "np.mean"), "forward:latency_ms",
     ["that is the mean", "the median ignores spikes"]),
    ("warm-up included", LATENCY, LATENCY.replace("times_s[warmup:]", "times_s"), "forward:latency_ms",
     ["the warm-up calls are included"]),
    ("latency in seconds", LATENCY, LATENCY.replace(" * 1000.0", ""), "forward:latency_ms",
     ["in seconds", "milliseconds"]),
    ("strict bounds", GATE, GATE.replace(">=", ">"), "forward:regression_gate",
     ["exactly at both bounds", "(>=, not >)"]),
    ("no accuracy floor", GATE, "candidate >= baseline - max_drop", "forward:regression_gate",
     ["said True for a candidate better than a weak baseline", "must also reach min_accuracy"]),
]


@pytest.mark.parametrize("text, wrong, broken, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_classic_mistake_costs_exactly_its_check(tmp_path, text, wrong, broken, words):
    assert_costs_exactly(grade_source(tmp_path, LAB, with_mistake(LAB, text, wrong)), LAB, {broken: words})
