"""capstone-mlops-engineer: the reproducibility and serving checks around a digits model, written by you: a
content hash of the weights, a bit-exact comparison, the latency measurement and a regression gate.

The network is the library's MLP (the one you built in Feed-forward networks); the grader trains it twice
with one seed, saves and reloads it, and times single-image predictions, but every verdict is yours: YOUR
identical and digest decide whether the two trainings and the reloaded model match, YOUR latency_ms reads
the timings, and YOUR regression_gate decides whether the model may replace the baseline. Your verdicts
must agree with the grader's, and the model must meet the capstone's bars (reproducible, round trip,
1 ms median latency, 0.95 test accuracy). Each function is first checked on fixed inputs, with the classic
mistakes named.

Conventions. Weights and predictions travel as lists of NumPy arrays. "Identical" means bit for bit
(lesson "MLOps engineer": a tolerance hides the non-determinism you are looking for).
NumPy and the standard library only.
Grade with `pathlab lab grade capstone-mlops-engineer`; stuck? `pathlab lab hint capstone-mlops-engineer`.
"""

import hashlib

import numpy as np


def digest(arrays):
    """A fingerprint of a list of arrays: a 64-character hex SHA-256 string that is the same for equal
    contents and differs when any value, dtype, shape or the order of the arrays differs."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def identical(a, b):
    """Whether two lists of arrays are bit-identical: as many arrays, each with the same shape, dtype and
    every value equal (a NaN equals a NaN in the same place). Returns a bool; no tolerance."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        if not np.array_equal(x, y, equal_nan=True):
            return False
    return True


def latency_ms(times_s, warmup):
    """The serving latency of a model from per-call wall times in seconds (a list of floats): the median,
    in milliseconds, of the calls after the first `warmup` ones (caches and allocations are cold there)."""
    return float(np.median(np.asarray(times_s[warmup:], dtype=np.float64)) * 1000.0)


def regression_gate(candidate, baseline, min_accuracy, max_drop):
    """Whether a candidate model may ship: its test accuracy reaches min_accuracy AND is no more than
    max_drop below the baseline's (being exactly at either bound passes). Returns a bool."""
    return bool(candidate >= min_accuracy and candidate >= baseline - max_drop)
