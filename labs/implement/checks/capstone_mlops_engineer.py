"""capstone-mlops-engineer in the checker: the learner's hash, bit-exact comparison, latency reading and
regression gate on fixed inputs, then the capstone's checks on the library's MLP (two trainings with one
seed, a save/load round trip, single-image timings, the gate against a smaller baseline) with every verdict
the learner's, compared with the checker's own.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from labs.catalog._digits import MLPParams, build_mlp
from labs.catalog._training import predict_logits
from labs.catalog.capstone_mlops_engineer import LATENCY_BUDGET_MS, MIN_ACCURACY, train_once
from labs.datasets import load_digits
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed, call, expect_array
from labs.implement.remote import Learner
from labs.implement.solutions import capstone_mlops_engineer as ref

Report = Callable[[int, int, dict[str, float]], None]
HEX = re.compile(r"^[0-9a-f]{64}$")


def _digest(m: Learner, arrays: list[np.ndarray]) -> str:
    got = call(m, "digest", arrays)
    if not isinstance(got, str) or not HEX.match(got):
        raise CheckFailed(f"digest should return a 64-character lowercase hex string (hashlib's hexdigest), got "
                          f"{got!r:.80}")
    return got


def check_digest(m: Learner) -> str:
    r = np.random.default_rng(3)
    w = [r.standard_normal((4, 3)), r.standard_normal(3)]
    first = _digest(m, w)
    if _digest(m, [a.copy() for a in w]) != first:
        raise CheckFailed("digest gave two different hashes for equal arrays: a fingerprint depends only on the "
                          "contents (no time, id() or random salt in it)")
    if _digest(m, [np.asfortranarray(w[0]), w[1]]) != first:
        raise CheckFailed("digest of the same values stored in another memory order (a transposed view) differs: "
                          "hash the values in one fixed order (C order, as tobytes() gives)")
    bumped = [w[0].copy(), w[1]]
    bumped[0][2, 1] = np.nextafter(bumped[0][2, 1], np.inf)
    if _digest(m, bumped) == first:
        raise CheckFailed("digest did not change when one weight moved by one ulp: hash the exact bytes, not "
                          "rounded or printed values")
    big = np.zeros(5000)
    big2 = big.copy()
    big2[2500] = 1.0
    if _digest(m, [big]) == _digest(m, [big2]):
        raise CheckFailed("digest is the same for two 5000-value arrays that differ in the middle: str() or repr() "
                          "of a large array abbreviates it with '...'; hash the array's bytes")
    if _digest(m, [w[0].reshape(3, 4), w[1]]) == first:
        raise CheckFailed("digest is the same for a (4, 3) array and its reshape to (3, 4): put each array's shape "
                          "into the hash, not only its bytes")
    if _digest(m, [np.zeros(3, np.int32)]) == _digest(m, [np.zeros(3, np.float32)]):
        raise CheckFailed("digest is the same for int32 zeros and float32 zeros (the same bytes): put each "
                          "array's dtype into the hash")
    if _digest(m, [w[1], w[0]]) == first:
        raise CheckFailed("digest is the same when the arrays come in the other order: hash them in turn, "
                          "without sorting or summing them")
    if _digest(m, [np.arange(4.0), np.arange(2.0)]) == _digest(m, [np.arange(4.0)[:3], np.r_[3.0, 0.0, 1.0]]):
        raise CheckFailed("digest is the same for [4 values, 2 values] and [3 values, 3 values] with the same "
                          "bytes in a row: each array's shape must be hashed with it")
    return "stable for equal contents; changes with a value (one ulp), a shape, a dtype or the order"


def check_identical(m: Learner) -> str:
    r = np.random.default_rng(4)
    w = [r.standard_normal((5, 4)), r.standard_normal(4)]
    ulp = [w[0].copy(), w[1]]
    ulp[0][1, 1] = np.nextafter(ulp[0][1, 1], np.inf)
    nan = [np.array([1.0, np.nan, 3.0])]
    cases = (
        (w, [a.copy() for a in w], "two copies of the same weights"),
        (w, ulp, "weights one ulp apart"),
        ([w[1]], [w[1].astype(np.float32).astype(np.float64)], "float64 weights against the same rounded to float32"),
        ([np.arange(3.0)], [np.arange(3, dtype=np.float32)], "the same values as float64 and as float32"),
        (nan, [nan[0].copy()], "arrays with a NaN in the same place"),
        (w, w[:1], "two weights against the first of them only"),
        ([np.ones(2)], [np.ones((1, 2))], "shape (2,) against shape (1, 2), equal values"),
    )
    why = {
        "weights one ulp apart": "a tolerance (np.allclose?) hides exactly the non-determinism a reproducibility "
                                 "check is for: compare bit for bit",
        "float64 weights against the same rounded to float32": "a tolerance hides a lost precision: compare bit "
                                                               "for bit",
        "the same values as float64 and as float32": "the dtypes differ, so the runs are not identical",
        "arrays with a NaN in the same place": "NaN != NaN in ==; equal_nan=True treats a NaN in the same place as "
                                               "equal",
        "two weights against the first of them only": "zip stops at the shorter list: compare the lengths first",
        "shape (2,) against shape (1, 2), equal values": "== broadcasts the shapes; compare the shapes first",
        "two copies of the same weights": "equal copies are identical",
    }
    for a, b, what in cases:
        got = call(m, "identical", a, b)
        if not isinstance(got, (bool, np.bool_)):
            raise CheckFailed(f"identical should return a bool, got {type(got).__name__}")
        want = ref.identical(a, b)
        if bool(got) != want:
            raise CheckFailed(f"identical said {bool(got)} for {what}, expected {want}: {why[what]}")
    return f"bit-exact in all {len(cases)} cases (one ulp, dtypes, NaN, lengths, shapes)"


def check_latency_ms(m: Learner) -> str:
    times = [0.02, 0.011, 0.0004, 0.0005, 0.0003, 0.05, 0.0004, 0.0006, 0.0004]  # cold calls, then one spike
    warmup = 2
    got = call(m, "latency_ms", times, warmup)
    if isinstance(got, bool) or not isinstance(got, (int, float, np.floating)):
        raise CheckFailed(f"latency_ms should return a Python float, got {type(got).__name__}")
    want = ref.latency_ms(times, warmup)
    after = np.array(times[warmup:])
    expect_array("latency_ms", np.array([float(got)]), np.array([want]), mistakes={
        "that is the mean: one scheduler spike moves it; the median ignores spikes":
            np.array([after.mean() * 1000]),
        "the warm-up calls are included: leave out the first `warmup` ones": np.array([np.median(times) * 1000]),
        "the warm-up is off by one: the first `warmup` calls are times_s[:warmup]":
            np.array([np.median(times[warmup + 1:]) * 1000]),
        "that is in seconds; the latency is asked in milliseconds": np.array([np.median(after)]),
    })
    return f"median {want:.3f} ms after the warm-up"


GATES = (  # (candidate, baseline, min_accuracy, max_drop), all exact in binary so the bounds are exact
    (0.5, 0.75, 0.5, 0.25, "exactly at both bounds"),
    (0.875, 0.75, 0.5, 0.0, "better than the baseline"),
    (0.75, 0.9375, 0.5, 0.125, "more than max_drop below the baseline"),
    (0.625, 0.5, 0.75, 0.25, "better than a weak baseline but below min_accuracy"),
)


def check_regression_gate(m: Learner) -> str:
    for cand, base, floor, drop, what in GATES:
        got = call(m, "regression_gate", cand, base, floor, drop)
        if not isinstance(got, (bool, np.bool_)):
            raise CheckFailed(f"regression_gate should return a bool, got {type(got).__name__}")
        want = ref.regression_gate(cand, base, floor, drop)
        if bool(got) != want:
            why = {"exactly at both bounds": "being exactly at a bound passes (>=, not >)",
                   "better than the baseline": "a candidate better than the baseline and above the floor ships",
                   "more than max_drop below the baseline": "the drop from the baseline is baseline - candidate; "
                   "more than max_drop is a regression",
                   "better than a weak baseline but below min_accuracy": "beating a weak baseline is not enough: "
                   "the candidate must also reach min_accuracy"}[what]
            raise CheckFailed(f"regression_gate({cand}, baseline={base}, min_accuracy={floor}, max_drop={drop}) "
                              f"said {bool(got)} for a candidate {what}, expected {want}: {why}")
    return f"ships and blocks as it should in all {len(GATES)} cases"


CHECKS = {
    "forward:digest": check_digest,
    "forward:identical": check_identical,
    "forward:latency_ms": check_latency_ms,
    "forward:regression_gate": check_regression_gate,
}

# -- training ----------------------------------------------------------------------------------------
SEED, WIDTH, BASELINE_WIDTH, EPOCHS, CALLS, WARMUP, MAX_DROP = 0, 128, 32, 20, 200, 10, 0.005
"""the capstone's defaults (one hidden layer of 128, 20 epochs); the baseline a 32-unit MLP of the same
recipe; single-image timings: 10 warm-up calls and 200 measured, as the lab does"""


def _weights(model) -> list[np.ndarray]:
    state = model.state_dict()
    return [state[k] for k in sorted(state)]


def train(m: Learner, budget_s: float, report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    """The capstone's operational checks on the library's MLP, each verdict asked of the learner's pieces."""
    data, start = load_digits(), time.perf_counter()
    p = MLPParams.model_construct(hidden_layers=1, width=WIDTH, epochs=EPOCHS)
    first, acc, _ = train_once(p, data, SEED, None)
    if report is not None:
        report(1, 4, {"test_accuracy": acc})
    second, acc2, _ = train_once(p, data, SEED, None)
    baseline, base_acc, _ = train_once(p.model_copy(update={"width": BASELINE_WIDTH}), data, SEED, None)
    if report is not None:
        report(2, 4, {"test_accuracy": acc})
    fresh = build_mlp(p, np.random.default_rng(12345))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.npz"
        first.save(str(path))
        fresh.load(str(path))
    before, after = predict_logits(first, data.test.x), predict_logits(fresh, data.test.x)
    first.eval()
    times = []
    for i in range(CALLS + WARMUP):
        t0 = time.perf_counter()
        first.forward(data.test.x[i % len(data.test.x)][None])
        times.append(time.perf_counter() - t0)
    first.train()
    if report is not None:
        report(3, 4, {"test_accuracy": acc})
    w1, w2 = _weights(first), _weights(second)
    s = m.batch()
    got = s.run(s.identical(w1, w2), s.digest(w1), s.digest(w2), s.identical([before], [after]),
                s.latency_ms(times, WARMUP), s.regression_gate(acc, base_acc, MIN_ACCURACY, MAX_DROP))
    same, d1, d2, portable, latency, ship = got
    want = (ref.identical(w1, w2) and acc == acc2, ref.identical([before], [after]), ref.latency_ms(times, WARMUP),
            ref.regression_gate(acc, base_acc, MIN_ACCURACY, MAX_DROP))
    if report is not None:
        report(4, 4, {"test_accuracy": acc, "latency_ms": want[2]})
    metrics = {"test_accuracy": acc, "baseline_accuracy": base_acc, "latency_ms": want[2],
               "train_seconds": time.perf_counter() - start}
    message = (f"two trainings {'bit-identical' if want[0] else 'DIFFERENT'} (fingerprint {str(d1)[:12]}), round trip "
               f"{'identical' if want[1] else 'DIFFERENT'}, median latency {want[2]:.3f} ms (budget "
               f"{LATENCY_BUDGET_MS:g}), test accuracy {acc:.4f} against the baseline's {base_acc:.4f}: "
               f"{'ship' if want[3] else 'blocked'}")
    yours = (bool(same) and d1 == d2, bool(portable), float(latency), bool(ship))
    if yours[0] != want[0] or yours[1] != want[1] or yours[3] != want[3] or not np.isclose(yours[2], want[2]):
        return 0.0, message + f"; but your verdicts said {yours}", metrics
    if not (want[0] and want[1]):
        return 0.0, message, metrics
    latency_ok = want[2] <= LATENCY_BUDGET_MS
    return 0.5 * latency_ok + 0.5 * partial_credit(acc, 0.8, MIN_ACCURACY), message, metrics
