"""capstone-data-scientist in the checker: the learner's hold-out split, Wilson interval, two-proportion
test and conclusion on fixed inputs, then the capstone's comparison (the library's logistic regression
against its small network on the spirals) run on the learner's split and reported by the learner's pieces.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from labs.catalog._spirals import linear_classifier, spirals, train_full_batch, two_layer_net
from labs.catalog._training import predict_logits
from labs.catalog.capstone_data_scientist import MAX_WIDTH, MIN_LOWER_BOUND, Z95
from labs.implement.checks.common import CheckFailed, call, expect_array, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import capstone_data_scientist as ref

Report = Callable[[int, int, dict[str, float]], None]
CONCLUSIONS = ("b is better", "a is better", "not separated")


def _floats(name: str, value: object, names: tuple[str, ...]) -> np.ndarray:
    out = []
    for label, v in zip(names, unpack(name, value, names)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
            raise CheckFailed(f"{name}'s {label} should be a Python float, got {type(v).__name__}")
        out.append(float(v))
    return np.array(out)


# -- the split ---------------------------------------------------------------------------------------
def _judge_split(n: int, frac: float, perm: np.ndarray, got: object) -> tuple[np.ndarray, np.ndarray]:
    tr, va = unpack("holdout_split", got, ("train_idx", "val_idx"))
    for name, idx in (("train_idx", tr), ("val_idx", va)):
        if not isinstance(idx, np.ndarray) or idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise CheckFailed(f"holdout_split's {name} should be a 1-D int64 array of indices, got "
                              f"{type(idx).__name__} of shape {np.shape(idx)}")
    both = np.intersect1d(tr, va)
    if len(both):
        raise CheckFailed(f"holdout_split leaks: {len(both)} held-out samples are also training samples (e.g. "
                          f"index {int(both[0])}); an accuracy on points the model trained on is not held out")
    if len(tr) + len(va) != n or len(np.unique(np.concatenate([tr, va]))) != n:
        raise CheckFailed(f"holdout_split returns {len(tr)} + {len(va)} indices; together they should be every "
                          f"index 0..{n - 1} exactly once")
    want_tr, want_va = ref.holdout_split(n, frac, perm)
    if len(va) != len(want_va):
        why = (": int() truncates; round to the nearest count" if len(va) == int(frac * n) else "")
        raise CheckFailed(f"holdout_split holds out {len(va)} of {n} samples, expected round({frac:g} * {n}) = "
                          f"{len(want_va)}{why}")
    if not (np.all(np.diff(tr) > 0) and np.all(np.diff(va) > 0)):
        raise CheckFailed("holdout_split: sort train_idx and val_idx ascending")
    if not np.array_equal(va, want_va):
        raise CheckFailed("holdout_split holds out other samples than the FIRST round(val_fraction * n) of "
                          "`permutation`: the same permutation must always give the same split")
    return tr, va


def check_holdout_split(m: Learner) -> str:
    perm = np.random.default_rng(21).permutation(25).astype(np.int64)
    _, va = _judge_split(25, 0.3, perm, call(m, "holdout_split", 25, 0.3, perm))
    return f"{len(va)} of 25 held out (round(7.5) = 8), disjoint from the training part"


# -- the interval ------------------------------------------------------------------------------------
def _normal(c: int, n: int, z: float) -> np.ndarray:
    p = c / n
    half = z * math.sqrt(p * (1 - p) / n)
    return np.array([p - half, p + half])


def check_wilson_interval(m: Learner) -> str:
    for c, n in ((45, 50), (50, 50), (0, 20)):
        got = _floats("wilson_interval", call(m, "wilson_interval", c, n, Z95), ("low", "high"))
        want = np.array(ref.wilson_interval(c, n, Z95))
        p, z = c / n, Z95
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        expect_array(f"wilson_interval({c}, {n}, {z})", got, want, mistakes={
            "that is the normal approximation p +- z * sqrt(p(1-p)/n); the Wilson score interval is asked for "
            "(at 0 or n correct it would have no width at all)": _normal(c, n, z),
            "the half-width is not divided by 1 + z**2 / n": np.clip(
                [centre - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)),
                 centre + z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))], 0, 1),
            "the z**2 / (4 n**2) term under the root is missing": np.clip(
                [centre - z * math.sqrt(p * (1 - p) / n) / (1 + z * z / n),
                 centre + z * math.sqrt(p * (1 - p) / n) / (1 + z * z / n)], 0, 1),
        })
    return "Wilson intervals right, at 45/50 and at the edges 50/50 and 0/20"


# -- the test ----------------------------------------------------------------------------------------
def check_ab_test(m: Learner) -> str:
    for ca, na, cb, nb in ((150, 200, 180, 210), (180, 210, 150, 200)):
        got = _floats("ab_test", call(m, "ab_test", ca, na, cb, nb), ("difference", "z", "p_value"))
        want = np.array(ref.ab_test(ca, na, cb, nb))
        pa, pb = ca / na, cb / nb
        unpooled = (pb - pa) / math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
        case = f"ab_test({ca}, {na}, {cb}, {nb})"
        expect_array(f"{case}'s difference", got[:1], want[:1],
                     mistakes={"the difference is a - b; it is b - a (the challenger minus the baseline)": -want[:1]})
        expect_array(f"{case}'s z", got[1:2], want[1:2], mistakes={
            "z uses the unpooled standard error; under the null hypothesis both models share ONE accuracy, so "
            "pool the counts": np.array([unpooled]),
            "the sign of z is reversed: it is (b - a) / se": -want[1:2],
        })
        expect_array(f"{case}'s p_value", got[2:], want[2:], mistakes={
            "that is the one-sided p-value; the question is whether b DIFFERS from a, in either direction: "
            "double it": want[2:] / 2,
            "the p-value is taken at z, not |z|: for a negative z it is near 2; use the size of z":
                np.array([math.erfc(want[1] / math.sqrt(2))]),
        })
    return "difference, pooled z and two-sided p-value right, for a better and a worse challenger"


# -- the conclusion ----------------------------------------------------------------------------------
CASES = (
    ((0.60, 0.70), (0.80, 0.90), "b wholly above a"),
    ((0.80, 0.90), (0.60, 0.70), "b wholly below a"),
    ((0.60, 0.75), (0.70, 0.90), "overlapping intervals, b's centre higher"),
    ((0.60, 0.75), (0.75, 0.90), "intervals that touch at 0.75"),
    ((0.55, 0.95), (0.70, 0.80), "b's interval inside a's"),
)


def check_conclusion(m: Learner) -> str:
    for a, b, what in CASES:
        got = call(m, "conclusion", a, b)
        if got not in CONCLUSIONS:
            raise CheckFailed(f"conclusion should return one of {', '.join(map(repr, CONCLUSIONS))}, got {got!r:.60}")
        want = ref.conclusion(a, b)
        if got != want:
            why = ("the centres differ, but the intervals overlap: the data cannot tell the models apart"
                   if want == "not separated" else
                   "b's interval lies wholly above a's: its LOWER bound is above a's UPPER bound"
                   if want == "b is better" else "a's interval lies wholly above b's")
            if what.startswith("intervals that touch"):
                why = "touching intervals share a value, so they are not separated"
            raise CheckFailed(f"conclusion(a={a}, b={b}) said {got!r} for {what}, expected {want!r}: {why}")
    return f"supports only what the intervals show, in all {len(CASES)} cases"


CHECKS = {
    "forward:holdout_split": check_holdout_split,
    "forward:wilson_interval": check_wilson_interval,
    "forward:ab_test": check_ab_test,
    "forward:conclusion": check_conclusion,
}

# -- training ----------------------------------------------------------------------------------------
SEED, N_PER_ARM, VAL_FRACTION, HIDDEN, LR, STEPS = 0, 300, 0.3, 32, 0.3, 1000
"""the capstone's defaults: 300 points per arm, 30 % held out, a 32-unit tanh network, momentum GD 0.3"""


def _correct(model, x: np.ndarray, y: np.ndarray) -> int:
    return int(np.sum(predict_logits(model, x).argmax(axis=1) == y))


def train(m: Learner, budget_s: float, report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    """Train both library models on the learner's training part and report the held-out comparison with
    the learner's pieces, checked against ours."""
    data, start = spirals(N_PER_ARM), time.perf_counter()
    rng = np.random.default_rng(SEED)
    n = len(data.y)
    perm = rng.permutation(n).astype(np.int64)
    tr, va = _judge_split(n, VAL_FRACTION, perm, call(m, "holdout_split", n, VAL_FRACTION, perm))
    counts = []
    for k, model in enumerate((linear_classifier(rng), two_layer_net(HIDDEN, "tanh", rng))):
        loss = train_full_batch(model, data.x[tr], data.y[tr], lr=LR, steps=STEPS, ctx=None)
        counts.append(_correct(model, data.x[va], data.y[va]))
        if report is not None:
            report((k + 1) * STEPS, 2 * STEPS, {"train_loss": float(loss), "val_accuracy": counts[-1] / len(va)})
        if time.perf_counter() - start > budget_s:
            raise CheckFailed(f"training took longer than {budget_s:.0f} s")
    (ca, cb), nv = counts, len(va)
    s = m.batch()
    ia, ib = s.wilson_interval(ca, nv, Z95), s.wilson_interval(cb, nv, Z95)
    got = s.run(ia, ib, s.ab_test(ca, nv, cb, nv), s.conclusion(ia, ib))
    want_a, want_b = ref.wilson_interval(ca, nv, Z95), ref.wilson_interval(cb, nv, Z95)
    diff, z, p_value = ref.ab_test(ca, nv, cb, nv)
    verdict = ref.conclusion(want_a, want_b)
    metrics = {"val_accuracy": cb / nv, "val_accuracy_low": want_b[0], "val_accuracy_high": want_b[1],
               "linear_val_accuracy": ca / nv, "linear_val_accuracy_low": want_a[0],
               "linear_val_accuracy_high": want_a[1], "z": z, "p_value": p_value,
               "train_seconds": time.perf_counter() - start}
    message = (f"held out {nv} points: logistic regression {ca / nv:.3f} [{want_a[0]:.3f}, {want_a[1]:.3f}], network "
               f"{cb / nv:.3f} [{want_b[0]:.3f}, {want_b[1]:.3f}]; difference {diff:+.3f}, z = {z:.2f}, p = "
               f"{p_value:.2g}: {verdict}")
    flat = [float(v) for v in (*got[0], *got[1], *got[2])]
    if not np.allclose(flat, [*want_a, *want_b, diff, z, p_value], rtol=1e-9, atol=1e-12) or got[3] != verdict:
        return 0.0, message + f"; but your report said {tuple(round(v, 4) for v in flat)}, {got[3]!r}", metrics
    width = max(want_a[1] - want_a[0], want_b[1] - want_b[0])
    if width > MAX_WIDTH:
        return 0.0, message + f"; the widest interval, {width:.3f}, is wider than {MAX_WIDTH}", metrics
    return 0.3 + 0.4 * (want_b[0] >= MIN_LOWER_BOUND) + 0.3 * (verdict == "b is better"), message, metrics
