"""capstone-research-scientist: the analysis of an ablation over seeds, written by you: each arm's mean and
spread, the effect with its standard error, the verdict against the noise, and when enough seeds have run.

The networks are the library's MLP (the one you built in Feed-forward networks); the grader trains them,
with dropout 0.3 ("on") and without ("off"), one seed of each arm at a time, and asks YOUR need_more_seeds
after every pair whether the experiment may stop. Your summarise, effect and verdict then report it, and
must agree with the grader's own figures; the experiment must meet the capstone's standards (at least 3
seeds per arm, both arms trained, a standard error of the effect below 0.01). Each function is first
checked on fixed accuracies, with the classic mistakes named.

Conventions. `on` and `off` are lists of test accuracies, one per seed, as Python floats. Spreads are the
SAMPLE standard deviation (lesson "Research scientist": a handful of seeds estimates the noise, it is not
the whole population). NumPy and the standard library only.
Grade with `pathlab lab grade capstone-research-scientist`; stuck? `pathlab lab hint capstone-research-scientist`.
"""

import math

import numpy as np


def summarise(accuracies):
    """One arm's result: (mean, std) over its seeds, as Python floats; std is the sample standard
    deviation, and float('nan') for a single seed (one run shows no spread)."""
    a = np.asarray(accuracies, dtype=np.float64)
    std = float(np.std(a, ddof=1)) if len(a) > 1 else float("nan")
    return float(np.mean(a)), std


def effect(on, off):
    """The effect of the factor: (difference of the arms' means, on minus off, and its standard error),
    Welch's, from each arm's own spread and number of seeds; nan for the error when an arm has one seed."""
    (m1, s1), (m2, s2) = summarise(on), summarise(off)
    return m1 - m2, float(math.sqrt(s1 ** 2 / len(on) + s2 ** 2 / len(off)))


def verdict(on, off, threshold):
    """Whether the effect exceeds the noise: (t, words). t is the effect over its standard error; the words
    are "exceeds the noise" when |t| >= threshold, "within the noise" otherwise, and "cannot be judged"
    (with t = nan) while an arm has fewer than two seeds."""
    diff, se = effect(on, off)
    if not math.isfinite(se) or se == 0:
        return float("nan"), "cannot be judged"
    t = diff / se
    return t, "exceeds the noise" if abs(t) >= threshold else "within the noise"


def need_more_seeds(on, off, min_seeds, max_std_error):
    """Whether the experiment must run another seed of each arm: True until both arms have at least
    min_seeds seeds AND the effect's standard error is below max_std_error. Returns a bool."""
    if min(len(on), len(off)) < min_seeds:
        return True
    _, se = effect(on, off)
    return not se < max_std_error
