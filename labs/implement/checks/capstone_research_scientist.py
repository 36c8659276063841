"""capstone-research-scientist in the checker: the learner's summary, effect, verdict and stopping rule on
fixed accuracies, then the capstone's dropout ablation trained with the library's MLP, one seed pair at a
time until the learner's need_more_seeds says the experiment may stop, and reported by the learner's pieces.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from labs.catalog._digits import MLPParams, build_mlp, train_on_digits
from labs.catalog.capstone_research_scientist import ARMS, MAX_STD_ERROR, MIN_ACCURACY, MIN_SEEDS
from labs.datasets import load_digits
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed, call, expect_array, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import capstone_research_scientist as ref

Report = Callable[[int, int, dict[str, float]], None]
ON = [0.962, 0.975, 0.951, 0.968]
OFF = [0.941, 0.955, 0.949]  # unequal numbers of seeds, so a formula that ignores them shows


def _floats(name: str, values: object, names: tuple[str, ...]) -> np.ndarray:
    out = []
    for label, v in zip(names, unpack(name, values, names)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
            raise CheckFailed(f"{name}'s {label} should be a Python float, got {type(v).__name__}")
        out.append(float(v))
    return np.array(out)


def _pop(a: list[float]) -> float:
    return float(np.std(a))


def check_summarise(m: Learner) -> str:
    got = _floats("summarise", call(m, "summarise", ON), ("mean", "std"))
    mean, std = ref.summarise(ON)
    expect_array("summarise's (mean, std)", got, np.array([mean, std]), mistakes={
        "std is the POPULATION standard deviation (ddof=0); a few seeds are a sample: divide by n - 1 (ddof=1)":
            np.array([mean, _pop(ON)]),
        "that is the variance; the spread is its square root": np.array([mean, std ** 2]),
    })
    one = _floats("summarise", call(m, "summarise", [0.95]), ("mean", "std"))
    if one[0] != 0.95 or not math.isnan(one[1]):
        raise CheckFailed(f"summarise([0.95]) gave ({one[0]:g}, {one[1]:g}); expected (0.95, nan): one seed shows "
                          "no spread, and a std of 0 would claim it has none")
    return f"mean {mean:.4f} +- {std:.4f} (sample std); one seed: nan"


def _summary(m: Learner, arm: list[float]) -> tuple[float, float]:
    """The learner's own summarise of an arm: each piece is judged on its own logic, given the learner's
    earlier pieces, so one mistake costs one check."""
    mean, std = _floats("summarise", call(m, "summarise", arm), ("mean", "std"))
    return float(mean), float(std)


def _effect_of(m: Learner, on: list[float], off: list[float]) -> tuple[float, float]:
    diff, se = _floats("effect", call(m, "effect", on, off), ("difference", "std_error"))
    return float(diff), float(se)


def _welch(m: Learner, on: list[float], off: list[float]) -> tuple[float, float]:
    """What effect should return, from the learner's summarise."""
    (m1, s1), (m2, s2) = _summary(m, on), _summary(m, off)
    return m1 - m2, math.sqrt(s1 ** 2 / len(on) + s2 ** 2 / len(off))


def _judged(diff: float, se: float, threshold: float) -> tuple[float, str]:
    """What verdict should say, from the learner's effect (the reference's rule)."""
    if not math.isfinite(se) or se == 0:
        return float("nan"), "cannot be judged"
    t = diff / se
    return t, "exceeds the noise" if abs(t) >= threshold else "within the noise"


def check_effect(m: Learner) -> str:
    got = _floats("effect", call(m, "effect", ON, OFF), ("difference", "std_error"))
    diff, se = _welch(m, ON, OFF)
    s1, s2 = _summary(m, ON)[1], _summary(m, OFF)[1]
    expect_array("effect's difference", got[:1], np.array([diff]), mistakes={
        "it compares single seeds (the first of each arm); compare the arms' MEANS over all seeds":
            np.array([ON[0] - OFF[0]]),
        "the sign is reversed: the effect is on minus off": np.array([-diff]),
    })
    expect_array("effect's std_error", got[1:], np.array([se]), mistakes={
        "the standard error ignores the numbers of seeds: each arm's variance is divided by its own n":
            np.array([math.sqrt(s1 ** 2 + s2 ** 2)]),
        "the standard error uses the population spreads (ddof=0); use each arm's sample std":
            np.array([math.sqrt(_pop(ON) ** 2 / len(ON) + _pop(OFF) ** 2 / len(OFF))]),
        "the standard errors of the two means are added, not their variances: sqrt(s1**2/n1 + s2**2/n2)":
            np.array([s1 / math.sqrt(len(ON)) + s2 / math.sqrt(len(OFF))]),
        "the error divides by the total number of seeds: each arm's variance is divided by its own n":
            np.array([math.sqrt((s1 ** 2 + s2 ** 2) / (len(ON) + len(OFF)))]),
    })
    return f"effect {diff:+.4f} +- {se:.4f} (Welch)"


VERDICTS = (  # (on, off, threshold)
    (ON, OFF, 2.0),                                         # a clear positive effect
    ([0.941, 0.955, 0.949], ON, 2.0),                       # the same, negative: an effect too
    ([0.95, 0.96, 0.97], [0.955, 0.965, 0.945], 2.0),       # within the noise
    ([0.97], [0.94], 2.0),                                  # one seed each: no spread, no verdict
)


def check_verdict(m: Learner) -> str:
    for on, off, threshold in VERDICTS:
        t, words = unpack("verdict", call(m, "verdict", on, off, threshold), ("t", "words"))
        diff, se = _effect_of(m, on, off)
        want_t, want_words = _judged(diff, se, threshold)
        if not isinstance(words, str) or words not in ("exceeds the noise", "within the noise", "cannot be judged"):
            raise CheckFailed(f"verdict's words should be 'exceeds the noise', 'within the noise' or 'cannot be "
                              f"judged', got {words!r}")
        case = f"verdict(on={on}, off={off}, threshold={threshold:g})"
        if want_words == "cannot be judged":
            if words != want_words:
                raise CheckFailed(f"{case} said {words!r}: with one seed per arm there is no spread, so no "
                                  "standard error; comparing single seeds 'cannot be judged'")
            continue
        t = _floats("verdict", (t,), ("t",))[0] if not isinstance(t, float) else t
        if words != want_words:
            why = ("a NEGATIVE effect beyond the noise exceeds it too: compare |t| with the threshold"
                   if want_t < 0 and words == "within the noise" else
                   f"t is {want_t:.2f}; the effect exceeds the noise exactly when |t| >= the threshold")
            raise CheckFailed(f"{case} said {words!r}, expected {want_words!r}: {why}")
        expect_array(f"{case}'s t", np.array([t]), np.array([want_t]),
                     mistakes={"t uses the difference of single seeds: divide the difference of the MEANS by its "
                               "standard error": np.array([(on[0] - off[0]) / se])})
    return f"all {len(VERDICTS)} verdicts right, negative effects and single seeds included"


STOPS = (  # (on, off, min_seeds, max_std_error)
    (ON[:2], OFF[:2], 3, 0.5),          # the error is small, but two seeds are too few
    (ON[:3], OFF[:2], 3, 0.5),          # one arm has enough, the other not
    (ON, OFF, 3, 0.001),                # enough seeds, the error still too large
    (ON, OFF, 3, 0.5),                  # done
    ([0.97], [0.94], 1, 0.5),           # one seed each: the error is nan, which is no bound met
)


def check_need_more_seeds(m: Learner) -> str:
    for on, off, k, bound in STOPS:
        got = call(m, "need_more_seeds", on, off, k, bound)
        if not isinstance(got, (bool, np.bool_)):
            raise CheckFailed(f"need_more_seeds should return a bool, got {type(got).__name__}")
        se = _effect_of(m, on, off)[1]
        want = min(len(on), len(off)) < k or not se < bound  # the rule, on the learner's own effect
        if bool(got) == want:
            continue
        if len(on) < 2:
            why = ("with one seed per arm the standard error is nan, and nan is not below any bound: more seeds "
                   "are needed (write the test as `not se < bound`, or check the seeds first)")
        elif min(len(on), len(off)) < k:
            why = (f"an arm has {min(len(on), len(off))} seed(s), fewer than min_seeds={k}: BOTH arms need "
                   "min_seeds seeds before the experiment may stop")
        else:
            why = f"the standard error {se:.4f} is {'not ' if want else ''}below the bound {bound:g}"
        raise CheckFailed(f"need_more_seeds with {len(on)} and {len(off)} seeds said {bool(got)}, expected "
                          f"{want}: {why}")
    return f"asks for seeds until both arms have enough and the error is small, in all {len(STOPS)} cases"


CHECKS = {
    "forward:summarise": check_summarise,
    "forward:effect": check_effect,
    "forward:verdict": check_verdict,
    "forward:need_more_seeds": check_need_more_seeds,
}

# -- training ----------------------------------------------------------------------------------------
FACTOR, EPOCHS, SEED, MAX_SEEDS, THRESHOLD = "dropout", 15, 0, 10, 2.0
"""the capstone's default ablation (dropout 0.3 against none, MLP 128 units, Adam, 15 epochs per run)"""


def _one_run(data, cfg: dict, seed: tuple[int, int]) -> float:
    p = MLPParams(epochs=EPOCHS, **cfg)
    rng = np.random.default_rng(seed)
    r = train_on_digits(build_mlp(p, rng), data, optimizer=p.optimizer, lr=p.lr, weight_decay=p.weight_decay,
                        batch_size=p.batch_size, epochs=p.epochs, rng=rng, images=False, ctx=None)
    return r.test_accuracy


def train(m: Learner, budget_s: float, report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    """Run seed pairs until the learner's need_more_seeds says stop; the learner's report must match ours,
    and the experiment must meet the capstone's standards."""
    data = load_digits()
    on_cfg, off_cfg = ARMS[FACTOR]
    on, off, start = [], [], time.perf_counter()
    while len(on) < MAX_SEEDS:
        more = call(m, "need_more_seeds", list(on), list(off), MIN_SEEDS, MAX_STD_ERROR)
        if not more:
            break
        i = len(on)
        on.append(_one_run(data, on_cfg, (SEED, i)))
        off.append(_one_run(data, off_cfg, (SEED, i)))
        if report is not None:
            report(i + 1, MAX_SEEDS, {"on_test_accuracy": on[-1], "off_test_accuracy": off[-1]})
        if time.perf_counter() - start > budget_s:
            raise CheckFailed(f"the experiment took longer than {budget_s:.0f} s ({i + 1} seed pairs)")
    s = m.batch()
    got = s.run(s.summarise(on), s.summarise(off), s.effect(on, off), s.verdict(on, off, THRESHOLD))
    want = (ref.summarise(on), ref.summarise(off), ref.effect(on, off), ref.verdict(on, off, THRESHOLD))
    (m_on, s_on), (m_off, s_off), (diff, se), (t, words) = want
    metrics = {"seeds": float(len(on)), "on_mean": m_on, "off_mean": m_off, "on_std": s_on, "off_std": s_off,
               "effect": diff, "effect_std_error": se, "t": t, "train_seconds": time.perf_counter() - start,
               "test_accuracy": min(m_on, m_off)}  # the weaker arm's mean: what the capstone's `trained` grades
    message = (f"{len(on)} seeds per arm: dropout 0.3 {m_on:.4f} +- {s_on:.4f}, none {m_off:.4f} +- {s_off:.4f}; "
               f"effect {diff:+.4f} +- {se:.4f} (t = {t:.2f}), {words}")
    flat_got = [float(v) for pair in got[:3] for v in pair] + [float(got[3][0])]
    flat_want = [m_on, s_on, m_off, s_off, diff, se, t]
    if not np.allclose(flat_got, flat_want, rtol=1e-9, equal_nan=True) or got[3][1] != words:
        return 0.0, message + f"; but your report said {tuple(round(v, 4) for v in flat_got)}, {got[3][1]!r}", metrics
    if len(on) < MIN_SEEDS or not (math.isfinite(se) and se < MAX_STD_ERROR):
        return 0.0, message + (f"; the capstone asks for at least {MIN_SEEDS} seeds per arm and a standard error "
                               f"below {MAX_STD_ERROR}: your need_more_seeds stopped too soon"), metrics
    return partial_credit(min(m_on, m_off), 0.8, MIN_ACCURACY), message, metrics
