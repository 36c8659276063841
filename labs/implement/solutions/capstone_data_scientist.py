"""capstone-data-scientist: an honest A/B comparison of two models, written by you: the hold-out split, the
confidence interval of an accuracy, the two-proportion test, and the conclusion the intervals support.

The models are the library's logistic regression and a one-hidden-layer network (the ones you built in
Classic vs deep and Backpropagation); the grader trains them on the spirals, but the protocol is yours:
YOUR holdout_split decides which points train and which are held out, YOUR wilson_interval and ab_test
report the held-out accuracies, and YOUR conclusion says what they show. Your figures must agree with the
grader's, and the comparison must meet the capstone's bars (both intervals narrower than 0.15, the
network's above 0.85, the two separated). Each function is first checked on fixed inputs, with the classic
mistakes named.

Conventions. Model "a" is the baseline (logistic regression), "b" the challenger (the network); counts are
Python ints, results Python floats (lesson "Data scientist", "Intervals, not points").
NumPy and the standard library only.
Grade with `pathlab lab grade capstone-data-scientist`; stuck? `pathlab lab hint capstone-data-scientist`.
"""

import math

import numpy as np


def holdout_split(n, val_fraction, permutation):
    """Hold out round(val_fraction * n) samples for validation: the first ones in `permutation` (a shuffled
    order of range(n)); the rest train. Returns (train_idx, val_idx), disjoint int64 arrays that together
    hold every index, each sorted ascending."""
    n_val = round(val_fraction * n)
    return np.sort(permutation[n_val:]).astype(np.int64), np.sort(permutation[:n_val]).astype(np.int64)


def wilson_interval(correct, n, z):
    """The Wilson score interval of an accuracy of `correct` out of `n` at `z` standard errors (1.96 for
    95 %), clipped to [0, 1]. Returns (low, high) as Python floats."""
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def ab_test(correct_a, n_a, correct_b, n_b):
    """The two-proportion z-test of "b's accuracy differs from a's": (difference b - a, z, p-value), with
    the standard error of the POOLED accuracy (the null hypothesis says both are one proportion) and the
    two-sided p-value of the standard normal."""
    pa, pb = correct_a / n_a, correct_b / n_b
    pooled = (correct_a + correct_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = (pb - pa) / se
    return pb - pa, z, math.erfc(abs(z) / math.sqrt(2))


def conclusion(interval_a, interval_b):
    """What two accuracies' intervals support: "b is better" when b's interval lies wholly above a's,
    "a is better" when wholly below, and "not separated" when they overlap (touching counts as overlap)."""
    (lo_a, hi_a), (lo_b, hi_b) = interval_a, interval_b
    if lo_b > hi_a:
        return "b is better"
    if lo_a > hi_b:
        return "a is better"
    return "not separated"
