"""ffnn-digits in the checker: fixed-input checks of the layers, the loss, the initialiser, the minibatches,
both optimisers, the epoch loop and the evaluation, then training the learner's MLP with the learner's own
epoch loop (one round trip per epoch) and reading the held-out accuracy the learner's evaluate reports.

Optimisers are judged on the update vectors of several chained steps, to 1e-12: an optimiser is exact
arithmetic, so any difference is a different algorithm, which is then named. The epoch loop is judged
against the learner's own pieces driven by the checker step by step, so a mistake in a piece costs that
piece's check only."""

from __future__ import annotations

import time

import numpy as np

from labs.datasets import load_digits
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed, call, expect_array, expect_gradients, expect_scalar, unpack
from labs.implement.checks.digits import FLOOR, TARGET
from labs.implement.remote import Learner, LearnerRaised
from labs.implement.solutions import ffnn_digits as ref

N, D_IN, D_OUT, CLASSES = 4, 5, 3, 6


def _rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def _linear_inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r = _rng()
    return r.standard_normal((N, D_IN)), r.standard_normal((D_IN, D_OUT)), r.standard_normal(D_OUT)


def check_linear_forward(m: Learner) -> str:
    x, W, b = _linear_inputs()
    expect_array("linear_forward output", call(m, "linear_forward", x, W, b), ref.linear_forward(x, W, b),
                 mistakes={"the bias b is missing (out = x @ W + b)": x @ W})
    return f"out has shape {(N, D_OUT)} and the right values"


def check_relu_forward(m: Learner) -> str:
    x = _rng().standard_normal((N, D_IN))
    expect_array("relu_forward output", call(m, "relu_forward", x), ref.relu_forward(x),
                 mistakes={"negative inputs must become 0, positive ones pass unchanged": np.abs(x)})
    return "negatives become 0, positives pass unchanged"


def _logits_and_labels() -> tuple[np.ndarray, np.ndarray]:
    r = _rng()
    return 3.0 * r.standard_normal((N, CLASSES)), r.integers(0, CLASSES, N)


def check_softmax_loss(m: Learner) -> str:
    logits, y = _logits_and_labels()
    loss, _ = unpack("softmax_cross_entropy", call(m, "softmax_cross_entropy", logits, y), ("loss", "dlogits"))
    want, _ = ref.softmax_cross_entropy(logits, y)
    if not np.isscalar(loss) and np.shape(loss) != ():
        raise CheckFailed(f"softmax_cross_entropy: loss should be one number, got shape {np.shape(loss)}")
    expect_array("loss", np.asarray(loss, dtype=np.float64), np.asarray(want), batch=N,
                 mistakes={"the loss is the SUM over the batch; take the mean": np.asarray(want * N)})
    big = logits + 1000.0  # the softmax does not change; exp() of it overflows unless the max is subtracted
    big_loss, _ = unpack("softmax_cross_entropy", call(m, "softmax_cross_entropy", big, y), ("loss", "dlogits"))
    if not np.isfinite(big_loss) or not np.isclose(big_loss, want, rtol=1e-6):
        raise CheckFailed("softmax_cross_entropy: the loss is wrong for large logits (logits + 1000 gave "
                          f"{float(big_loss):.4g}, expected {want:.4g}); subtract each row's max before exp()")
    return f"loss {float(loss):.4f} is right, also for large logits"


def check_sgd_update(m: Learner) -> str:
    r = _rng()
    param, grad, lr = r.standard_normal((D_IN, D_OUT)), r.standard_normal((D_IN, D_OUT)), 0.1
    expect_array("sgd_update result", call(m, "sgd_update", param, grad, lr), ref.sgd_update(param, grad, lr),
                 mistakes={"the step goes UP the gradient: gradient descent subtracts lr * grad":
                           param + lr * grad})
    return "the step moves against the gradient, scaled by lr"


def check_linear_backward(m: Learner) -> str:
    x, W, b = _linear_inputs()
    dout = _rng().standard_normal((N, D_OUT))
    got = unpack("linear_backward", call(m, "linear_backward", dout, x, W), ("dx", "dW", "db"))
    want = ref.linear_backward(dout, x, W)
    return expect_gradients(
        "linear_backward", lambda x, W, b: float(np.sum(ref.linear_forward(x, W, b) * dout)),
        {"x": x, "W": W, "b": b}, dict(zip(("x", "W", "b"), got)), dict(zip(("x", "W", "b"), want)), batch=N,
    )


def check_relu_backward(m: Learner) -> str:
    r = _rng()
    x = r.standard_normal((N, D_IN))
    x[np.abs(x) < 1e-3] = 0.5  # keep finite differences away from the kink at 0
    dout = r.standard_normal((N, D_IN))
    got = call(m, "relu_backward", dout, x)
    return expect_gradients(
        "relu_backward", lambda x: float(np.sum(ref.relu_forward(x) * dout)), {"x": x}, {"x": got},
        {"x": ref.relu_backward(dout, x)},
        mistakes={"x": {"dx equals dout everywhere: where x <= 0 the ReLU is flat, so its gradient is 0 "
                        "there (multiply by the mask x > 0)": dout}},
    )


def check_softmax_gradient(m: Learner) -> str:
    logits, y = _logits_and_labels()
    _, got = unpack("softmax_cross_entropy", call(m, "softmax_cross_entropy", logits, y), ("loss", "dlogits"))
    _, want = ref.softmax_cross_entropy(logits, y)
    return expect_gradients(
        "softmax_cross_entropy", lambda logits: ref.softmax_cross_entropy(logits, y)[0], {"logits": logits},
        {"logits": got}, {"logits": want}, batch=N,
    )



# -- the pipeline: initialisation, minibatches, optimisers, the epoch loop, evaluation ------------------
def check_he_init(m: Learner) -> str:
    fan_in, fan_out = 6, 3  # unequal, so fan_in, fan_out and their sum give three different scales
    draws = _rng().standard_normal((fan_in, fan_out))
    expect_array("he_init's W", call(m, "he_init", draws, fan_in, fan_out), ref.he_init(draws, fan_in, fan_out),
                 mistakes={
                     "this is Xavier's scale, variance 2 / (fan_in + fan_out); He's for ReLU is 2 / fan_in":
                         draws * np.sqrt(2 / (fan_in + fan_out)),
                     "the variance is 1 / fan_in (the scale for tanh); He's is 2 / fan_in, because a ReLU "
                     "zeroes half of its inputs": draws * np.sqrt(1 / fan_in),
                     "it scales by fan_out; He's variance divides by fan_in, the number of inputs a unit sums":
                         draws * np.sqrt(2 / fan_out),
                     "the draws are multiplied by the variance 2 / fan_in; multiply by its square root, the "
                     "standard deviation": draws * 2 / fan_in,
                     "the draws are returned unscaled (variance 1); He scales them to variance 2 / fan_in": draws,
                 })
    return f"W has variance 2 / fan_in (std {np.sqrt(2 / fan_in):.3f} for fan_in={fan_in})"


def check_minibatches(m: Learner) -> str:
    for n, size in ((10, 4), (8, 4)):  # with a remainder, and without (no empty batch at the end)
        perm = np.random.default_rng(n).permutation(n)
        got = call(m, "minibatches", n, size, perm)
        want = ref.minibatches(n, size, perm)
        label = f"minibatches({n}, {size}, perm)"
        if not isinstance(got, (list, tuple)) or not all(isinstance(b, np.ndarray) for b in got):
            raise CheckFailed(f"{label} should return a list of index arrays, got {type(got).__name__}"
                              + (" holding other things" if isinstance(got, (list, tuple)) else ""))
        if [len(b) for b in got] == [len(b) for b in want] and all(np.array_equal(a, b) for a, b in zip(got, want)):
            if not all(np.issubdtype(b.dtype, np.integer) for b in got):
                raise CheckFailed(f"{label}: the index arrays should hold integers, got {got[0].dtype}")
            continue
        seen = np.concatenate(got) if got else np.array([], dtype=int)
        sizes = [len(b) for b in got]
        if len(seen) == n - n % size and n % size and np.array_equal(seen, perm[:len(seen)]):
            raise CheckFailed(f"{label} gave {len(got)} batches of sizes {sizes}: the last, smaller batch of "
                              f"{n % size} samples is dropped, so those samples never train; keep it")
        if sizes and sizes[-1] == 0:
            raise CheckFailed(f"{label} ends with an empty batch (sizes {sizes})")
        if np.array_equal(np.sort(seen), np.arange(n)) and not np.array_equal(seen, perm):
            order = "0, 1, 2, ... (the permutation is ignored)" if np.array_equal(seen, np.arange(n)) \
                else "another order than the permutation's"
            raise CheckFailed(f"{label} visits the samples in {order}: take them in the order of `permutation`")
        raise CheckFailed(f"{label} gave batches of sizes {sizes}, expected {[len(b) for b in want]}: "
                          f"consecutive runs of {size} entries of the permutation, every sample exactly once")
    return "every sample once per epoch, in the permutation's order, the remainder kept as a last batch"


STEPS, EXACT = 4, 1e-12
"""optimiser steps chained in a check, and how far an update may be from the reference's"""


def _optimizer_problem(scale: float = 1.0) -> tuple[np.ndarray, list[np.ndarray]]:
    r = np.random.default_rng(99)
    return r.standard_normal((3, 4)), [scale * r.standard_normal((3, 4)) for _ in range(STEPS)]


def _learner_chain(m: Learner, name: str, p0: np.ndarray, grads: list[np.ndarray], state: tuple, extra) -> list:
    """The parameters after each of STEPS chained calls of the learner's optimiser (one round trip), each
    step fed the state the learner's previous step returned. `extra(t)` gives the arguments after the state."""
    names = ("p", "v") if len(state) == 1 else ("p", "m", "v")
    first = unpack(name, call(m, name, p0, grads[0], *state, *extra(1)), names)
    for what, value in zip(names, first):
        if not isinstance(value, np.ndarray) or value.shape != p0.shape:
            raise CheckFailed(f"{name} should return {len(names)} arrays of shape {p0.shape}; {what} is "
                              f"{type(value).__name__}" + (f" of shape {value.shape}" if isinstance(value, np.ndarray)
                                                           else ""))
    s = m.batch()
    refs, out = [], None
    for t, g in enumerate(grads, start=1):
        args = (p0, *state) if out is None else (out[0], *(out[i] for i in range(1, 1 + len(state))))
        out = s.call(name, args[0], g, *args[1:], *extra(t))
        refs.append(out[0])
    return list(s.run(*refs))


def _chain(step, p0: np.ndarray, grads: list[np.ndarray], state: tuple, extra) -> list[np.ndarray]:
    out, p = [], p0
    for t, g in enumerate(grads, start=1):
        p, *state = step(p, g, *state, *extra(t))
        out.append(p)
    return out


def _expect_updates(name: str, got: list, p0: np.ndarray, want: list[np.ndarray],
                    variants: dict[str, list[np.ndarray]], first_step_nan: str = "") -> str:
    """The learner's STEPS updates (p_t - p_(t-1)) against the reference's, to EXACT; a known variant of the
    algorithm is named, a first step right and a later one wrong points at the state carried between steps."""
    for t, p in enumerate(got, start=1):
        if not isinstance(p, np.ndarray) or p.shape != p0.shape:
            raise CheckFailed(f"{name}: the parameter after step {t} is {type(p).__name__} "
                              f"{np.shape(p) if isinstance(p, np.ndarray) else ''}, expected shape {p0.shape}")
        if not np.all(np.isfinite(p)):
            raise CheckFailed(f"{name}: step t={t} gave NaN or infinity{first_step_nan if t == 1 else ''}")
    updates = np.diff(np.stack([p0, *got]), axis=0)
    right = np.diff(np.stack([p0, *want]), axis=0)
    off = np.abs(updates - right).max(axis=(1, 2))
    if off.max() <= EXACT:
        return f"{STEPS} chained steps give the reference's updates (within {EXACT:g})"
    for message, variant in variants.items():
        if np.allclose(updates, np.diff(np.stack([p0, *variant]), axis=0), rtol=1e-9, atol=EXACT):
            raise CheckFailed(f"{name}: {message}")
    first = int(np.argmax(off > EXACT)) + 1
    if first > 1:
        raise CheckFailed(f"{name}: step 1 is right but step {first}'s update is off by up to {off[first - 1]:.3g}: "
                          "is the state updated and returned, so the next step continues from it?")
    c = float(np.vdot(updates[0], right[0]) / np.vdot(right[0], right[0]))
    detail = f" (it is {c:.4g} times the right one)" if np.allclose(updates[0], c * right[0], rtol=1e-6) else ""
    raise CheckFailed(f"{name}: step 1's update is off by up to {off[0]:.3g}{detail}")


def check_momentum_step(m: Learner) -> str:
    p0, grads = _optimizer_problem()
    lr, beta = 0.1, 0.9
    v0 = np.zeros_like(p0)
    extra = lambda t: (lr, beta)  # noqa: E731
    got = _learner_chain(m, "momentum_step", p0, grads, (v0,), extra)

    def variant(update):
        return _chain(update, p0, grads, (v0,), extra)

    return _expect_updates("momentum_step", got, p0, variant(ref.momentum_step), {
        "beta multiplies the parameter instead of the velocity: momentum decays the velocity, "
        "v = beta * v + g, and the parameter moves against v":
            variant(lambda p, g, v, lr, beta: (beta * p - lr * g, v)),
        "the parameter moved against g alone: the step must use the velocity, which remembers past gradients":
            variant(lambda p, g, v, lr, beta: (p - lr * g, beta * v + g)),
        "the step used the velocity from BEFORE this gradient was added; update v first, then step with it":
            variant(lambda p, g, v, lr, beta: (p - lr * v, beta * v + g)),
        "the velocity averages (1 - beta) * g: in this lab's (heavy-ball) form it sums, v = beta * v + g":
            variant(lambda p, g, v, lr, beta: (p - lr * (beta * v + (1 - beta) * g), beta * v + (1 - beta) * g)),
        "the step goes UP the velocity: move the parameter against it":
            variant(lambda p, g, v, lr, beta: (p + lr * (beta * v + g), beta * v + g)),
    })


def _adam(correct_m: bool = True, correct_v: bool = True, shift: int = 0, eps_inside: bool = False,
          root: bool = True):
    """Adam and its classic variants: which averages are bias-corrected (with t + shift), where eps goes."""
    def step(p, g, m, v, t, lr, b1, b2, eps):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** (t + shift)) if correct_m else m
        v_hat = v / (1 - b2 ** (t + shift)) if correct_v else v
        scale = np.sqrt(v_hat + eps) if eps_inside else (np.sqrt(v_hat) if root else v_hat) + eps
        return p - lr * m_hat / scale, m, v
    return step


def check_adam_step(m: Learner) -> str:
    # small gradients and a large eps, so where eps goes (inside or outside the root) changes every update
    p0, grads = _optimizer_problem(scale=0.1)
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-2
    zeros = np.zeros_like(p0)
    extra = lambda t: (t, lr, b1, b2, eps)  # noqa: E731
    got = _learner_chain(m, "adam_step", p0, grads, (zeros, zeros), extra)

    def variant(**how):
        return _chain(_adam(**how), p0, grads, (zeros, zeros), extra)

    return _expect_updates("adam_step", got, p0, _chain(ref.adam_step, p0, grads, (zeros, zeros), extra), {
        "there is no bias correction: m and v start at zero, so early on they are too small; divide them by "
        "1 - beta1**t and 1 - beta2**t": variant(correct_m=False, correct_v=False),
        "only v is bias-corrected; m needs its 1 - beta1**t too": variant(correct_m=False),
        "only m is bias-corrected; v needs its 1 - beta2**t too": variant(correct_v=False),
        "the bias correction uses t + 1: t is already the number of this step, 1 for the first":
            variant(shift=1),
        "eps is inside the square root: the lesson's step divides by sqrt(v_hat) + eps":
            variant(eps_inside=True),
        "the step divides by v_hat itself: it is scaled by the square root of v_hat": variant(root=False),
    }, first_step_nan=": the bias correction divides by 1 - beta**t, which is 0 only when t starts at 0; "
                      "t is 1 on the first step")


def check_accuracy(m: Learner) -> str:
    r = _rng()
    logits, y = r.standard_normal((7, 4)), r.integers(0, 4, 7)
    y[:3] = logits[:3].argmax(axis=1)  # at least three right, so the accuracy is neither 0 nor 1 by chance
    want = ref.accuracy(logits, y)
    got = expect_scalar("accuracy", call(m, "accuracy", logits, y))
    expect_array("accuracy", np.asarray(got), np.asarray(want), mistakes={
        "it is the number of right rows; the accuracy is their share (divide by N)": np.asarray(want * len(y)),
        "it is the error rate, 1 - accuracy": np.asarray(1 - want),
    })
    return f"accuracy {got:.4f} is right"


def _small_network(r: np.random.Generator) -> list[np.ndarray]:
    return [r.standard_normal((D_IN, 4)), r.standard_normal(4), r.standard_normal((4, D_OUT)), r.standard_normal(D_OUT)]


def check_evaluate(m: Learner) -> str:
    r = _rng()
    params = _small_network(r)
    x_train, x_test = r.standard_normal((12, D_IN)), r.standard_normal((9, D_IN))
    logits = lambda x: ref.linear_forward(ref.relu_forward(ref.linear_forward(x, *params[:2])), *params[2:])  # noqa
    y_train = logits(x_train).argmax(axis=1)  # all right on the training data, not on the held-out data
    y_test = (logits(x_test).argmax(axis=1) + (np.arange(9) % 3 > 0)) % D_OUT  # a third right
    train_acc, test_acc = (expect_scalar(f"evaluate's {n}", v) for n, v in zip(
        ("train_accuracy", "test_accuracy"),
        unpack("evaluate", call(m, "evaluate", params, x_train, y_train, x_test, y_test),
               ("train_accuracy", "test_accuracy"))))
    # what the learner's own forward pass and accuracy give on each split (their mistakes are their checks')
    s = m.batch()
    scores = [s.accuracy(s.linear_forward(s.relu_forward(s.linear_forward(x, *params[:2])), *params[2:]), labels)
              for x, labels in ((x_train, y_train), (x_test, y_test))]
    want_train, want_test = (expect_scalar("accuracy", a) for a in s.run(*scores))
    if np.isclose(train_acc, want_test) and np.isclose(test_acc, want_train):
        raise CheckFailed("evaluate returned (test_accuracy, train_accuracy): the first is the training data's")
    expect_array("evaluate's train_accuracy", np.asarray(train_acc), np.asarray(want_train))
    expect_array("evaluate's test_accuracy", np.asarray(test_acc), np.asarray(want_test), mistakes={
        "it is the accuracy on the TRAINING data: the held-out score must be computed on x_test, y_test, "
        "data the network never trained on": np.asarray(want_train)})
    return f"train accuracy {train_acc:.3f} and held-out accuracy {test_acc:.3f}, each on its own data"


# the epoch loop, on a problem small enough to drive step by step: 10 samples in batches of 4, 4 and 2
EPOCH_N, EPOCH_BATCH, EPOCH_LR = 10, 4, 0.05
PARAM_NAMES = ("W1", "b1", "W2", "b2")


def _fresh_state(params: list[np.ndarray]) -> tuple:
    return [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params], 0


def _drive_epoch(m: Learner, params, x, y, perm, state, optimizer: str = "adam") -> tuple:
    """What train_epoch should return, from the LEARNER's minibatches, layers, loss and adam_step (or
    sgd_update), called by the checker one step per round trip in the order the contract gives."""
    params, (ms, vs, t), losses = list(params), (list(state[0]), list(state[1]), state[2]), []
    for idx in m.minibatches(len(y), EPOCH_BATCH, perm):
        xb, yb = x[idx], y[idx]
        t += 1
        s = m.batch()
        pre = s.linear_forward(xb, params[0], params[1])
        hidden = s.relu_forward(pre)
        loss = s.softmax_cross_entropy(s.linear_forward(hidden, params[2], params[3]), yb)
        back2 = s.linear_backward(loss[1], hidden, params[2])
        back1 = s.linear_backward(s.relu_backward(back2[0], pre), xb, params[0])
        grads = (back1[1], back1[2], back2[1], back2[2])
        if optimizer == "adam":
            steps = [s.adam_step(p, g, mi, vi, t, EPOCH_LR, ref.BETA1, ref.BETA2, ref.EPS)
                     for p, g, mi, vi in zip(params, grads, ms, vs)]
            value, *out = s.run(loss[0], *steps)
            params, ms, vs = [o[0] for o in out], [o[1] for o in out], [o[2] for o in out]
        else:
            value, *params = s.run(loss[0], *(s.sgd_update(p, g, EPOCH_LR) for p, g in zip(params, grads)))
        losses.append(float(value))
    return params, (ms, vs, t), float(np.mean(losses)), losses


def _learner_epoch(m: Learner, params, x, y, perm, state, when: str) -> tuple:
    out = unpack("train_epoch", call(m, "train_epoch", params, x, y, EPOCH_BATCH, perm, EPOCH_LR, state),
                 ("params", "state", "mean_loss"))
    got_params, got_state, loss = out
    if not isinstance(got_params, (list, tuple)) or len(got_params) != 4:
        raise CheckFailed(f"train_epoch ({when}): params should come back as a list [W1, b1, W2, b2]")
    for name, got, want in zip(PARAM_NAMES, got_params, params):
        if not isinstance(got, np.ndarray) or got.shape != want.shape:
            raise CheckFailed(f"train_epoch ({when}): {name} should be an array of shape {want.shape}, got "
                              f"{type(got).__name__} {np.shape(got) if isinstance(got, np.ndarray) else ''}")
    if not (isinstance(got_state, (list, tuple)) and len(got_state) == 3):
        raise CheckFailed(f"train_epoch ({when}): state should come back as (m, v, t)")
    return list(got_params), tuple(got_state), expect_scalar("train_epoch's mean_loss", loss)


def _epoch_mismatch(got: tuple, want: tuple) -> str | None:
    (gp, (gm, gv, gt), gl), (wp, (wm, wv, wt), wl, _) = got, want
    for name, a, b in zip(PARAM_NAMES, gp, wp):  # NaN matches NaN: a NaN from the learner's adam_step is theirs
        if not np.allclose(a, b, rtol=RTOL_EPOCH, atol=1e-9, equal_nan=True):
            if not np.all(np.isfinite(a)) and np.all(np.isfinite(b)):
                return (f"{name} became NaN or infinity, which your adam_step does not give when driven step "
                        "by step: is t advanced BEFORE adam_step, so the first step has t = 1?")
            return f"{name} differs after the epoch by up to {np.abs(a - b).max():.3g}"
    if not isinstance(gt, (int, np.integer)) or isinstance(gt, bool) or gt != wt:
        return f"the state's step count t is {gt!r}, expected {wt} (one more per minibatch step)"
    for label, got_list, want_list in (("m", gm, wm), ("v", gv, wv)):
        if not isinstance(got_list, (list, tuple)) or len(got_list) != 4 or not all(
                isinstance(a, np.ndarray) and a.shape == b.shape
                and np.allclose(a, b, rtol=RTOL_EPOCH, atol=1e-12, equal_nan=True)
                for a, b in zip(got_list, want_list)):
            return f"the state's {label} is not the list of Adam's {label} per parameter after the epoch"
    if not np.isclose(gl, wl, rtol=1e-9, equal_nan=True):
        return f"mean_loss is {gl:.6g}, expected {wl:.6g}"
    return None


RTOL_EPOCH = 1e-7


def check_train_epoch(m: Learner) -> str:
    r = np.random.default_rng(5)
    x, y = r.standard_normal((EPOCH_N, D_IN)), r.integers(0, D_OUT, EPOCH_N)
    params = _small_network(r)
    state = _fresh_state(params)
    perm1, perm2 = r.permutation(EPOCH_N), r.permutation(EPOCH_N)
    try:
        want = _drive_epoch(m, params, x, y, perm1, state)
    except LearnerRaised as piece:  # the learner's own pieces cannot run an epoch
        return _judge_where_pieces_stop(m, piece, params, x, y, perm1, state)
    got = _learner_epoch(m, params, x, y, perm1, state, "first epoch")
    problem = _epoch_mismatch(got, want)
    if problem:
        raise CheckFailed("train_epoch: " + _diagnose_epoch(m, got, want, problem, params, x, y, perm1, state))
    # a fresh permutation, from the same start: the result must change with it
    again = _learner_epoch(m, params, x, y, perm2, state, "another permutation")
    problem = _epoch_mismatch(again, _drive_epoch(m, params, x, y, perm2, state))
    if problem:  # (the learner's own minibatches decide whether another perm changes anything)
        if _epoch_mismatch(again, (*got, None)) is None:
            raise CheckFailed("train_epoch returned the same result for a different `perm`: it reuses one "
                              "shuffle for every epoch (or makes its own); visit the minibatches of the `perm` "
                              "it is given")
        raise CheckFailed(f"train_epoch with a second permutation: {problem}")
    # a second epoch continues the first one's state
    second = _learner_epoch(m, got[0], x, y, perm2, got[1], "second epoch")
    problem = _epoch_mismatch(second, _drive_epoch(m, got[0], x, y, perm2, got[1]))
    if problem:
        if _epoch_mismatch(second, _drive_epoch(m, got[0], x, y, perm2, _fresh_state(params))) is None:
            raise CheckFailed("train_epoch restarted Adam from zero in the second epoch: continue from the "
                              "(m, v, t) it is given")
        raise CheckFailed(f"train_epoch in a second epoch (continuing the first's state): {problem}")
    return (f"3 minibatches an epoch with your adam_step, a fresh permutation followed, the state carried over; "
            f"mean loss {got[2]:.4f} then {second[2]:.4f}")


def _judge_where_pieces_stop(m: Learner, piece: LearnerRaised, params, x, y, perm, state) -> str:
    """The learner's pieces, driven in the contract's order, raise (a gradient of the wrong shape, say):
    the loop is right if it stops with the very same error at the very same line, since the piece's own
    check already names that mistake; a piece not written yet leaves the loop unjudged."""
    if piece.type_name == "NotImplementedError":
        raise CheckFailed(f"train_epoch can be checked once the functions it calls are written: {piece.fn} is "
                          "not written yet")
    try:
        m.train_epoch(params, x, y, EPOCH_BATCH, perm, EPOCH_LR, state)
    except LearnerRaised as loop:
        if (loop.type_name, loop.message, loop.line) == (piece.type_name, piece.message, piece.line):
            return (f"as far as your pieces run, train_epoch calls them as the contract says: both stop with "
                    f"the same {piece.type_name} in {piece.fn}{piece.where}; the pieces' own checks name the mistake")
        raise CheckFailed(f"train_epoch raised {loop.type_name}: {loop.message}{loop.where}") from None
    raise CheckFailed(f"train_epoch ran, but your own functions called in the contract's order stop in {piece.fn} "
                      f"with {piece.type_name}: {piece.message}{piece.where}; does train_epoch call minibatches, "
                      "the layers, the loss and adam_step as its docstring says?")


def _diagnose_epoch(m: Learner, got, want, problem: str, params, x, y, perm, state) -> str:
    loss, losses = got[2], want[3]
    if "NaN" in problem or problem.startswith("the state's step count"):
        return problem
    if _epoch_mismatch(got, _drive_epoch(m, params, x, y, np.arange(len(y)), state)) is None:
        return "it walked the samples in order 0, 1, 2, ...: visit the minibatches of the `perm` it is given"
    sgd = _drive_epoch(m, params, x, y, perm, state, optimizer="sgd")[0]
    if all(np.allclose(a, b, rtol=RTOL_EPOCH, atol=1e-9) for a, b in zip(got[0], sgd)):  # whatever its state says
        return "the parameters moved by plain sgd_update: this loop steps every parameter with adam_step"
    if problem.startswith("mean_loss"):
        for wrong, words in ((losses[-1], "the last minibatch's loss"), (sum(losses), "the SUM of the losses")):
            if np.isclose(loss, wrong, rtol=1e-9):
                return f"{problem}: that is {words}; return the plain mean over the epoch's minibatches"
    return (f"{problem} (compared with your own minibatches, layers, loss and adam_step run one step at a time "
            "in the contract's order)")


CHECKS = {
    "forward:linear_forward": check_linear_forward,
    "forward:relu_forward": check_relu_forward,
    "forward:softmax_cross_entropy": check_softmax_loss,
    "forward:sgd_update": check_sgd_update,
    "forward:he_init": check_he_init,
    "forward:minibatches": check_minibatches,
    "forward:momentum_step": check_momentum_step,
    "forward:adam_step": check_adam_step,
    "forward:train_epoch": check_train_epoch,
    "forward:accuracy": check_accuracy,
    "forward:evaluate": check_evaluate,
    "gradient:linear_backward": check_linear_backward,
    "gradient:relu_backward": check_relu_backward,
    "gradient:softmax_cross_entropy": check_softmax_gradient,
}

# -- training ------------------------------------------------------------------------------------------
HIDDEN, EPOCHS, BATCH, LR = 64, 20, 32, 0.01
"""a 64-64-10 MLP, trained by the learner's train_epoch with Adam at lr 0.01"""


def train(m: Learner, budget_s: float, report=None) -> tuple[float, str, dict[str, float]]:
    """Train with the learner's own pipeline: he_init for the weights, then per epoch ONE round trip that
    runs the learner's train_epoch (on a fresh permutation) and evaluate; the held-out accuracy the
    learner's evaluate reports must be the one the checker computes from the final weights."""
    data = load_digits()
    x, y = data.train.x.astype(np.float64), data.train.y
    x_test, y_test = data.test.x.astype(np.float64), data.test.y
    features, rng = x.shape[1], np.random.default_rng(0)
    s = m.batch()
    W1, W2 = s.run(s.he_init(rng.standard_normal((features, HIDDEN)), features, HIDDEN),
                   s.he_init(rng.standard_normal((HIDDEN, 10)), HIDDEN, 10))
    params = [W1, np.zeros(HIDDEN), W2, np.zeros(10)]
    state = _fresh_state(params)
    start, loss, accs = time.perf_counter(), float("nan"), (float("nan"), float("nan"))
    for epoch in range(1, EPOCHS + 1):
        s = m.batch()
        out = s.train_epoch(params, x, y, BATCH, rng.permutation(len(y)), LR, state)
        done, accs = s.run(out, s.evaluate(out[0], x, y, x_test, y_test))
        params, state, loss = list(done[0]), done[1], expect_scalar("train_epoch's mean_loss", done[2])
        if not np.isfinite(loss):
            raise CheckFailed(f"training diverged: the mean loss became {loss} in epoch {epoch}")
        accs = tuple(expect_scalar("evaluate's accuracy", a) for a in accs)
        if report is not None:
            report(epoch, EPOCHS, {"train_loss": loss, "train_accuracy": accs[0], "test_accuracy": accs[1]})
        if time.perf_counter() - start > budget_s:
            raise CheckFailed(f"training took longer than {budget_s:.0f} s (stopped in epoch {epoch} of {EPOCHS}): "
                              "use whole-batch matrix products, no loop over samples")
    W1, b1, W2, b2 = params
    logits = ref.linear_forward(ref.relu_forward(ref.linear_forward(x_test, W1, b1)), W2, b2)
    accuracy = float(np.mean(logits.argmax(axis=1) == y_test))
    if not np.isclose(accs[1], accuracy):
        raise CheckFailed(f"your evaluate reported a held-out accuracy of {accs[1]:.3f}, but your trained network "
                          f"scores {accuracy:.3f} on the test split: report the held-out data's accuracy")
    seconds = time.perf_counter() - start
    metrics = {"test_accuracy": accuracy, "train_accuracy": accs[0], "train_loss": loss, "train_seconds": seconds}
    message = (f"held-out accuracy {accuracy:.3f} (target {TARGET:.2f}; train {accs[0]:.3f}) after {EPOCHS} epochs "
               f"of your train_epoch with your adam_step in {seconds:.1f} s, final mean loss {loss:.3f}")
    return partial_credit(accuracy, FLOOR, TARGET), message, metrics
