"""capstone-ml-engineer in the checker: the learner's split, schedule, stopping rule and evaluation on fixed
inputs, then the library's ConvNet trained through the learner's pipeline to the capstone's 0.98.

The learner's file cannot import `labs`, so the network (labs.nn ConvNet, Adam) trains here; the learner's
pieces make every decision over the pipe: which digits train and which validate, each step's rate, when to
stop and which epoch's weights to keep, and the final report, which must agree with the checker's own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from labs.catalog._digits import CNNParams, build_cnn
from labs.catalog.capstone_ml_engineer import BUDGET_S, FLOOR, TARGET
from labs.datasets import as_images, load_digits
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed, call, expect_array, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import capstone_ml_engineer as ref
from labs.nn import Adam, SoftmaxCrossEntropy

Report = Callable[[int, int, dict[str, float]], None]


def _float(name: str, value: object) -> float:
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        return float(value)
    raise CheckFailed(f"{name} should be one number (a Python float), got {type(value).__name__}")


# -- the split ---------------------------------------------------------------------------------------
def _judge_split(labels: np.ndarray, frac: float, perm: np.ndarray, got: object) -> tuple[np.ndarray, np.ndarray]:
    """The learner's split of `labels`, checked: what is wrong with it, in words, or the two index arrays."""
    tr, va = unpack("stratified_split", got, ("train_idx", "val_idx"))
    for name, idx in (("train_idx", tr), ("val_idx", va)):
        if not isinstance(idx, np.ndarray) or idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise CheckFailed(f"stratified_split's {name} should be a 1-D int64 array of indices, got "
                              f"{type(idx).__name__} {getattr(idx, 'dtype', '')} of shape {np.shape(idx)}")
    n = len(labels)
    both = np.intersect1d(tr, va)
    if len(both):
        raise CheckFailed(f"stratified_split leaks: {len(both)} samples are in both training and validation "
                          f"(e.g. index {int(both[0])}); a validation sample the model trained on says nothing "
                          "about unseen data")
    if len(np.unique(np.concatenate([tr, va]))) != n or len(tr) + len(va) != n \
            or np.concatenate([tr, va]).min() < 0 or np.concatenate([tr, va]).max() >= n:
        raise CheckFailed(f"stratified_split returns {len(tr)} + {len(va)} indices; together they should be "
                          f"every index 0..{n - 1} exactly once")
    want_tr, want_va = ref.stratified_split(labels, frac, perm)
    classes = np.unique(labels)
    got_counts, want_counts = np.bincount(labels[va], minlength=len(classes)), np.bincount(labels[want_va],
                                                                                             minlength=len(classes))
    if not np.array_equal(got_counts, want_counts):
        plain = np.sort(perm[:round(frac * n)])
        if len(va) == len(plain) and np.array_equal(np.sort(va), plain):
            why = ("that is a plain split of the shuffled order, not a stratified one: take round(val_fraction "
                   "* size) of EACH class")
        else:
            why = "each class should contribute round(val_fraction * its size) samples to validation"
        raise CheckFailed(f"stratified_split: validation holds {got_counts.tolist()} samples per class, expected "
                          f"{want_counts.tolist()}: {why}")
    if not (np.all(np.diff(tr) > 0) and np.all(np.diff(va) > 0)):
        raise CheckFailed("stratified_split: sort train_idx and val_idx ascending")
    if not np.array_equal(va, want_va):
        raise CheckFailed("stratified_split: the class counts are right, but validation should hold the FIRST "
                          "samples of each class in the order of `permutation` (so the same permutation always "
                          "gives the same split)")
    return tr, va


def check_stratified_split(m: Learner) -> str:
    r = np.random.default_rng(11)
    labels = np.repeat(np.arange(4), [30, 10, 6, 14]).astype(np.int64)  # unbalanced, so a plain split shows
    perm = np.concatenate([np.arange(20, 30), r.permutation(np.concatenate([np.arange(20), np.arange(30, 60)]))])
    perm = perm.astype(np.int64)  # the first 12 in order are all class 0: a plain split is far from stratified
    _judge_split(labels, 0.2, perm, call(m, "stratified_split", labels, 0.2, perm))
    labels2 = r.integers(0, 10, size=200).astype(np.int64)
    perm2 = r.permutation(200).astype(np.int64)
    _, va = _judge_split(labels2, 0.25, perm2, call(m, "stratified_split", labels2, 0.25, perm2))
    return f"stratified, disjoint and complete (e.g. {len(va)} of 200 validate, every class in its share)"


# -- the schedule ------------------------------------------------------------------------------------
def _schedule(m: Learner, total: int, base: float, warmup: int) -> np.ndarray:
    s = m.batch()
    out = s.run(*[s.lr_schedule(k, total, base, warmup) for k in range(total)])
    return np.array([_float(f"lr_schedule(step={k})", v) for k, v in enumerate(out)], dtype=np.float64)


def _schedule_mistakes(total: int, base: float, warmup: int) -> dict[str, np.ndarray]:
    def cos(k: int, start: int, length: int) -> float:
        return base * 0.5 * (1 + math.cos(math.pi * (k - start) / length))

    steps = range(total)
    wrong = {
        "the warm-up starts at rate 0: step 0 should already move at base_lr / warmup_steps (off by one step)":
            [base * k / warmup if k < warmup else cos(k, warmup, total - warmup) for k in steps] if warmup else None,
        "the cosine is off by one step: it reaches 0 ON the last step, which is then wasted; it should reach 0 "
        "one step after the last": [base * (k + 1) / warmup if k < warmup else cos(k, warmup - 1, total - warmup)
                                    for k in steps] if warmup else [cos(k, -1, total) for k in steps],
        "the cosine's last step is not the schedule's last: over total_steps - 1 steps it reaches 0 on the last "
        "step": [base * (k + 1) / warmup if k < warmup else cos(k, warmup, total - warmup - 1) for k in steps],
        "the cosine runs over all total_steps as if there were no warm-up: it should run over the steps AFTER "
        "the warm-up": [base * (k + 1) / warmup if k < warmup else cos(k, 0, total) for k in steps] if warmup
        else None,
        "the warm-up is missing: the rate should rise linearly over the first warmup_steps steps":
            [cos(k, 0, total) for k in steps] if warmup else None,
        "the rate never falls after the warm-up: half a cosine takes it down towards 0":
            [base * (k + 1) / warmup if k < warmup else base for k in steps] if warmup else [base] * total,
    }
    return {k: np.array(v, dtype=np.float64) for k, v in wrong.items() if v is not None}


def check_lr_schedule(m: Learner) -> str:
    for total, base, warmup in ((20, 0.01, 4), (9, 0.003, 0)):
        got = _schedule(m, total, base, warmup)
        want = np.array([ref.lr_schedule(k, total, base, warmup) for k in range(total)])
        expect_array(f"lr_schedule over {total} steps (warmup_steps={warmup})", got, want,
                     mistakes=_schedule_mistakes(total, base, warmup))
    return "warms up from the first step and anneals to just above 0 on the last"


# -- early stopping ----------------------------------------------------------------------------------
STOP_CASES = (  # (history, patience): training loss always falls; the validation loss is what matters
    ([(2.0, 1.0), (1.5, 0.8), (1.2, 0.9), (1.0, 0.95)], 3),      # 2 epochs without improving: go on
    ([(2.0, 1.0), (1.5, 0.8), (1.2, 0.9), (1.0, 0.95), (0.8, 0.97)], 3),  # 3 epochs: stop, keep epoch 1
    ([(2.0, 1.0), (1.5, 0.7), (1.2, 0.7), (1.0, 0.75)], 2),      # a tie is no improvement: keep epoch 1, stop
    ([(2.0, 1.0), (1.5, 0.9), (1.2, 0.8)], 1),                   # still improving: go on, best is the last
    ([(2.0, 1.0), (1.5, 0.9), (1.2, 0.95)], 1),                  # patience 1: one bad epoch stops
)


def _stop_mistake(history: list, patience: int, stop: bool, best: int) -> str:
    train = [t for t, _ in history]
    val = [v for _, v in history]
    if best == int(np.argmin(train)) and best != int(np.argmin(val)):
        return ("it follows the TRAINING loss, which keeps falling as the model overfits: the best epoch is the "
                "one with the lowest VALIDATION loss")
    if best == len(val) - 1 - int(np.argmin(val[::-1])) and best != int(np.argmin(val)):
        return "of equal validation losses the EARLIEST is the best: a tie is no improvement"
    if best == len(val) - 1 and best != int(np.argmin(val)):
        return "best_epoch is the last epoch; it should be the epoch with the lowest validation loss"
    waited = len(val) - 1 - int(np.argmin(val))
    if stop and waited == patience - 1:
        return (f"it stops after {waited} epochs without improvement, one too early (off by one): stop once "
                f"`patience` ({patience}) epochs have passed since the best")
    if not stop and waited == patience:
        return f"it waits one epoch too long (off by one): {waited} epochs without improvement = patience, stop"
    if stop and waited < patience:
        return f"it stops {waited} epoch(s) after the best; it should wait `patience` ({patience}) epochs"
    return f"expected stop={waited >= patience} and best_epoch={int(np.argmin(val))}"


def check_early_stopping(m: Learner) -> str:
    for history, patience in STOP_CASES:
        stop, best = unpack("early_stopping", call(m, "early_stopping", [list(h) for h in history], patience),
                            ("stop", "best_epoch"))
        if not isinstance(stop, (bool, np.bool_)) or isinstance(best, bool) or not isinstance(best, (int, np.integer)):
            raise CheckFailed(f"early_stopping should return (a bool, an int), got ({type(stop).__name__}, "
                              f"{type(best).__name__})")
        want_stop, want_best = ref.early_stopping(history, patience)
        if bool(stop) != want_stop or int(best) != want_best:
            val = ", ".join(f"{v:g}" for _, v in history)
            raise CheckFailed(f"early_stopping with validation losses [{val}] and patience {patience} said "
                              f"stop={bool(stop)}, best_epoch={int(best)}; expected stop={want_stop}, "
                              f"best_epoch={want_best}: " + _stop_mistake(history, patience, bool(stop), int(best)))
    return f"stops and keeps the right epoch in all {len(STOP_CASES)} cases"


# -- the evaluation ----------------------------------------------------------------------------------
def _logits(r: np.random.Generator, y: np.ndarray, right: float) -> np.ndarray:
    """Logits whose argmax is y for a share `right` of the samples (and a wrong class for the others)."""
    out = r.standard_normal((len(y), 10))
    hit = r.random(len(y)) < right
    target = np.where(hit, y, (y + 1 + r.integers(0, 9, len(y))) % 10)
    out[np.arange(len(y)), target] += 10.0
    return out


def _normal(p: float, n: int, z: float) -> tuple[float, float]:
    half = z * math.sqrt(p * (1 - p) / n)
    return p - half, p + half


def check_evaluate(m: Learner) -> str:
    r = np.random.default_rng(5)
    y_tr, y_te = r.integers(0, 10, 400).astype(np.int64), r.integers(0, 10, 120).astype(np.int64)
    l_tr, l_te = _logits(r, y_tr, 0.99), _logits(r, y_te, 0.85)
    z = 1.96
    got = unpack("evaluate", call(m, "evaluate", l_tr, y_tr, l_te, y_te, z),
                 ("train_accuracy", "test_accuracy", "low", "high"))
    got = np.array([_float(f"evaluate's {n}", v) for n, v in
                    zip(("train_accuracy", "test_accuracy", "low", "high"), got)])
    want = np.array(ref.evaluate(l_tr, y_tr, l_te, y_te, z))
    expect_array("evaluate's (train_accuracy, test_accuracy)", got[:2], want[:2],
                 mistakes={"the accuracies are swapped: return (train_accuracy, test_accuracy, ...)": want[1::-1]})
    p_tr, p_te, n_tr, n_te = want[0], want[1], len(y_tr), len(y_te)
    wilson_train = np.array(ref.evaluate(l_te, y_te, l_tr, y_tr, z)[2:])
    mistakes = {
        "the interval is computed from the TRAINING set: it must describe the test accuracy, on the test set's "
        "size": wilson_train,
        "the interval is built around the training accuracy with the test set's size: use the test accuracy":
            _wilson(p_tr, n_te, z),
        "that is the normal approximation p +- z * sqrt(p(1-p)/n); the Wilson score interval is asked for (it "
        "stays inside [0, 1] and does not collapse at 100 %)": np.array(_normal(p_te, n_te, z)),
        "the interval is the normal approximation on the TRAINING set: describe the test accuracy with the "
        "Wilson interval": np.array(_normal(p_tr, n_tr, z)),
        "the interval ignores the sample size (the standard error divides by n)": _wilson(p_te, 1, z),
    }
    expect_array("evaluate's (low, high)", got[2:], want[2:], mistakes=mistakes)
    return f"test accuracy {want[1]:.3f} in [{want[2]:.3f}, {want[3]:.3f}], the Wilson interval on the test set"


def _wilson(p: float, n: int, z: float) -> np.ndarray:
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.array([centre - half, centre + half])


CHECKS = {
    "forward:stratified_split": check_stratified_split,
    "forward:lr_schedule": check_lr_schedule,
    "forward:early_stopping": check_early_stopping,
    "forward:evaluate": check_evaluate,
}

# -- training ----------------------------------------------------------------------------------------
SEED, VAL_FRACTION, EPOCHS, BATCH, BASE_LR, WARMUP_EPOCHS, PATIENCE, Z = 4, 0.25, 30, 32, 0.003, 1, 5, 1.96
"""the recipe the capstone's lab calibrated (ConvNet 32/64 filters, Adam from 0.003, cosine, 30 epochs), with
one epoch of warm-up; the split is of the development digits (the lab's train + validation)"""


def train(m: Learner, budget_s: float, report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    """Train the library's ConvNet through the learner's pipeline; the grade is the test accuracy of the
    weights the learner's stopping rule kept, as the learner's evaluate reports it (checked against ours)."""
    data = load_digits()
    x_dev = as_images(np.concatenate([data.train.x, data.val.x]))
    y_dev = np.concatenate([data.train.y, data.val.y]).astype(np.int64)
    rng = np.random.default_rng(SEED)
    perm = rng.permutation(len(y_dev)).astype(np.int64)
    tr, va = _judge_split(y_dev, VAL_FRACTION, perm, call(m, "stratified_split", y_dev, VAL_FRACTION, perm))
    model = build_cnn(CNNParams(filters1=32, filters2=64, hidden=64), rng)
    params = model.parameters()
    opt, loss_fn = Adam(params, lr=BASE_LR), SoftmaxCrossEntropy()
    per_epoch = math.ceil(len(tr) / BATCH)
    total, warmup = EPOCHS * per_epoch, WARMUP_EPOCHS * per_epoch
    history, kept, start, step = [], [], time.perf_counter(), 0
    budget_s = max(budget_s, BUDGET_S)  # the capstone's own budget: the library's ConvNet, not the learner, is slow
    stop, best = False, 0
    for epoch in range(EPOCHS):
        s = m.batch()
        rates = s.run(*[s.lr_schedule(k, total, BASE_LR, warmup) for k in range(step, step + per_epoch)])
        order = tr[rng.permutation(len(tr))]
        losses = []
        for i, rate in enumerate(rates):
            rate = _float("lr_schedule", rate)
            if not (math.isfinite(rate) and 0 < rate <= BASE_LR * (1 + 1e-9)):
                raise CheckFailed(f"lr_schedule gave {rate!r} for step {step + i}; rates stay in (0, base_lr]")
            idx = order[i * BATCH:(i + 1) * BATCH]
            opt.zero_grad()
            loss = loss_fn.forward(model.forward(x_dev[idx]), y_dev[idx])
            model.backward(loss_fn.backward())
            opt.lr = rate
            opt.step()
            losses.append(float(loss) * len(idx))
        step += per_epoch
        model.eval()
        val_loss = float(loss_fn.forward(model.forward(x_dev[va]), y_dev[va]))
        model.train()
        history.append((sum(losses) / len(tr), val_loss))
        kept.append([p.data.copy() for p in params])
        stop, best = unpack("early_stopping", call(m, "early_stopping", [list(h) for h in history], PATIENCE),
                            ("stop", "best_epoch"))
        if isinstance(best, bool) or not isinstance(best, (int, np.integer)) or not 0 <= int(best) <= epoch:
            raise CheckFailed(f"early_stopping's best_epoch {best!r} after epoch {epoch} is not an epoch trained")
        if report is not None:
            report(step, total, {"train_loss": history[-1][0], "val_loss": val_loss, "lr": rates[-1]})
        if time.perf_counter() - start > budget_s:
            raise CheckFailed(f"training took longer than {budget_s:.0f} s ({epoch + 1} of {EPOCHS} epochs)")
        if stop:
            break
    best = int(best)
    for p, saved in zip(params, kept[best]):
        p.data[...] = saved
    model.eval()
    l_tr, l_te = model.forward(x_dev[tr]), model.forward(as_images(data.test.x))
    y_te = data.test.y.astype(np.int64)
    got = unpack("evaluate", call(m, "evaluate", l_tr, y_dev[tr], l_te, y_te, Z), ("a", "b", "low", "high"))
    want = ref.evaluate(l_tr, y_dev[tr], l_te, y_te, Z)
    acc, low, high = want[1], want[2], want[3]
    errors = round((1 - acc) * len(y_te))
    metrics = {"test_accuracy": acc, "ci_low": low, "ci_high": high, "train_accuracy": want[0],
               "epochs_trained": float(len(history)), "best_epoch": float(best), "val_loss": history[best][1],
               "train_seconds": time.perf_counter() - start}
    message = (f"{len(history)} epochs ({'stopped early' if stop else 'all'}), weights of epoch {best} kept: test "
               f"accuracy {acc:.4f} ({errors} errors), 95 % interval [{low:.3f}, {high:.3f}]; target {TARGET}")
    if not np.allclose([_float("evaluate", v) for v in got], want, rtol=1e-9, atol=1e-12):
        return 0.0, message + f"; but your evaluate reported {tuple(round(float(v), 4) for v in got)}", metrics
    return partial_credit(acc, FLOOR, TARGET), message, metrics
