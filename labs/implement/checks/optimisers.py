"""optimisers in the checker: each update rule run for several steps against the reference (a rate that
changes between steps, so momentum kept on the step rather than on the velocity shows), the schedule at
every step of two budgets, then the learner's rules on an ill-conditioned quadratic, whose steps to a
tolerance must come out in the order the lesson's theory gives."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from labs.implement.checks.common import CheckFailed, call, expect_array, expect_scalar, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import optimisers as ref

Report = Callable[[int, int, dict[str, float]], None]
STEPS = 6
RATES = (0.1, 0.05, 0.2, 0.02, 0.1, 0.07)  # one per step: a schedule's rates change, and so must the test's
MU, ALPHA, BETA1, BETA2 = 0.9, 0.99, 0.9, 0.999
EPS = 1e-3  # large enough that eps inside the square root (or before it) changes the answer visibly
WD = 0.1


def _problem() -> tuple[np.ndarray, list[np.ndarray]]:
    r = np.random.default_rng(17)
    grads = [r.standard_normal((3, 4)) * s for s in (1.0, 0.5, 2.0, 0.01, 1.0, 0.3)]
    return r.standard_normal((3, 4)), grads


# -- the classic mistakes, one step each, from the same inputs as the learner's step --------------------
def _momentum_on_step(p, g, v, lr, mu):
    v = mu * v + lr * g
    return p - v, v


def _momentum_ema(p, g, v, lr, mu):
    v = mu * v + (1 - mu) * g
    return p - lr * v, v


def _rms_eps_inside(p, g, s, lr, alpha, eps):
    s = alpha * s + (1 - alpha) * g * g
    return p - lr * g / np.sqrt(s + eps), s


def _adam_uncorrected(p, g, m, v, t, lr, b1, b2, eps):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    return p - lr * m / (np.sqrt(v) + eps), m, v


def _adam_eps_inside(p, g, m, v, t, lr, b1, b2, eps):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    return p - lr * (m / (1 - b1**t)) / np.sqrt(v / (1 - b2**t) + eps), m, v


def _adam_t_from_zero(p, g, m, v, t, lr, b1, b2, eps):
    return ref.adam_step(p, g, m, v, t + 1, lr, b1, b2, eps)


def _adamw_coupled(p, g, m, v, t, lr, b1, b2, eps, wd):
    return ref.adam_step(p, g + wd * p, m, v, t, lr, b1, b2, eps)


def _adamw_unscaled(p, g, m, v, t, lr, b1, b2, eps, wd):
    return ref.adam_step(p * (1 - wd), g, m, v, t, lr, b1, b2, eps)


RULES: dict[str, dict] = {
    "sgd_step": {"state": (), "hyper": lambda lr, t: (lr,), "out": ("p",),
                 "mistakes": {"the step goes UP the gradient: descent subtracts lr * g":
                              lambda p, g, lr: (p + lr * g,)}},
    "momentum_step": {"state": ("v",), "hyper": lambda lr, t: (lr, MU), "out": ("p", "v"),
                      "mistakes": {
                          "the rate is inside the velocity (v = mu v + lr g): momentum here accumulates "
                          "gradients and the step is lr * v, so a changing rate applies at once":
                          _momentum_on_step,
                          "the velocity is an average, v = mu v + (1 - mu) g; PyTorch's momentum sums: "
                          "v = mu v + g": _momentum_ema,
                          "that is plain SGD: the velocity is not used in the step": lambda p, g, v, lr, mu:
                          (p - lr * g, mu * v + g)}},
    "nesterov_step": {"state": ("v",), "hyper": lambda lr, t: (lr, MU), "out": ("p", "v"),
                      "mistakes": {
                          "the look-ahead is missing: that is plain momentum (p - lr v); Nesterov steps "
                          "by lr (g + mu v)": ref.momentum_step,
                          "the rate is inside the velocity (v = mu v + lr g); keep it out, as in "
                          "momentum_step": lambda p, g, v, lr, mu: (p - (lr * g + mu * (mu * v + lr * g)),
                                                                    mu * v + lr * g)}},
    "rmsprop_step": {"state": ("s",), "hyper": lambda lr, t: (lr, ALPHA, EPS), "out": ("p", "s"),
                     "mistakes": {
                         "eps is inside the square root: add it after, sqrt(s) + eps": _rms_eps_inside,
                         "the step divides by s, not by its square root": lambda p, g, s, lr, a, eps: (
                             p - lr * g / ((a * s + (1 - a) * g * g) + eps), a * s + (1 - a) * g * g)}},
    "adam_step": {"state": ("m", "v"), "hyper": lambda lr, t: (t, lr, BETA1, BETA2, EPS), "out": ("p", "m", "v"),
                  "mistakes": {
                      "no bias correction: divide m by (1 - beta1**t) and v by (1 - beta2**t) before the "
                      "step, or the first steps are the wrong size": _adam_uncorrected,
                      "eps is inside the square root: add it after, sqrt(v_hat) + eps": _adam_eps_inside,
                      "the bias correction uses t + 1: t is already 1 on the first step": _adam_t_from_zero}},
    "adamw_step": {"state": ("m", "v"), "hyper": lambda lr, t: (t, lr, BETA1, BETA2, EPS, WD),
                   "out": ("p", "m", "v"),
                   "mistakes": {
                       "the weight decay is coupled: wd * p went into the gradient, through m and v (that is "
                       "Adam with L2); AdamW shrinks the weight itself by (1 - lr * wd)": _adamw_coupled,
                       "the decay is not scaled by the rate: the weight shrinks by (1 - lr * wd), not (1 - wd)":
                       _adamw_unscaled,
                       "the weight decay is missing: the answer is plain Adam's": lambda p, g, m, v, t, lr, b1, b2,
                       eps, wd: ref.adam_step(p, g, m, v, t, lr, b1, b2, eps)}},
}


def _run_rule(m: Learner, name: str) -> str:
    spec = RULES[name]
    p, grads = _problem()
    state = [np.zeros_like(p) for _ in spec["state"]]
    reference = getattr(ref, name)
    for t, (g, lr) in enumerate(zip(grads, RATES), start=1):
        args = (p, g, *state, *spec["hyper"](lr, t))
        got = unpack(name, call(m, name, *args), spec["out"])
        want = reference(*args)
        want = want if isinstance(want, tuple) else (want,)
        wrong = {message: fn(*args) for message, fn in spec["mistakes"].items()}
        wrong = {k: v if isinstance(v, tuple) else (v,) for k, v in wrong.items()}
        for i, label in enumerate(spec["out"]):
            expect_array(f"{name}'s {label} at step {t} (lr={lr:g})", got[i], want[i],
                         mistakes={k: v[i] for k, v in wrong.items()})
        p, state = want[0], list(want[1:])
    return f"{STEPS} steps equal the reference, with the rate changing between them"


def check_sgd_step(m: Learner) -> str:
    return _run_rule(m, "sgd_step")


def check_momentum_step(m: Learner) -> str:
    return _run_rule(m, "momentum_step")


def check_nesterov_step(m: Learner) -> str:
    return _run_rule(m, "nesterov_step")


def check_rmsprop_step(m: Learner) -> str:
    return _run_rule(m, "rmsprop_step")


def check_adam_step(m: Learner) -> str:
    return _run_rule(m, "adam_step")


def check_adamw_step(m: Learner) -> str:
    return _run_rule(m, "adamw_step")


def check_lr_schedule(m: Learner) -> str:
    for total, base, warm in ((20, 0.1, 5), (12, 0.03, 0)):
        got = np.array([expect_scalar("lr_schedule", call(m, "lr_schedule", k, total, base, warm))
                        for k in range(total)])
        want = np.array([ref.lr_schedule(k, total, base, warm) for k in range(total)])
        cosine = lambda k, n: base * 0.5 * (1 + math.cos(math.pi * k / n))  # noqa: E731
        mistakes = {
            "the warm-up starts at 0: at step k it is base_lr * (k + 1) / warmup_steps, so the first step "
            "already trains": np.array([base * k / warm if k < warm else cosine(k - warm, total - warm)
                                        for k in range(total)]) if warm else None,
            "the cosine runs over all total_steps; it runs over the steps after the warm-up, "
            "k = step - warmup_steps of K = total_steps - warmup_steps":
            np.array([base * (k + 1) / warm if k < warm else cosine(k, total) for k in range(total)]) if warm
            else None,
            "the warm-up is missing: the rate starts at base_lr": np.array([cosine(k, total) for k in range(total)])
            if warm else None,
        }
        expect_array(f"lr_schedule over steps 0..{total - 1} (total_steps={total}, warmup_steps={warm})", got, want,
                     mistakes={k: v for k, v in mistakes.items() if v is not None})
    return "warm-up then cosine at every step, with and without a warm-up"


CHECKS = {
    "forward:sgd_step": check_sgd_step,
    "forward:momentum_step": check_momentum_step,
    "forward:nesterov_step": check_nesterov_step,
    "forward:rmsprop_step": check_rmsprop_step,
    "forward:adam_step": check_adam_step,
    "forward:adamw_step": check_adamw_step,
    "forward:lr_schedule": check_lr_schedule,
}

# -- the race on the ill-conditioned quadratic -----------------------------------------------------------
CURVATURES = np.array([100.0, 1.0])  # L(p) = 1/2 sum curvature * p**2: condition number 100
START = np.array([1.0, -0.7])
TOL, MAX_STEPS, CHUNK = 1e-6, 2000, 25
RACE: tuple[tuple[str, str, tuple], ...] = (  # (label, function, hyperparameters after the state)
    ("sgd", "sgd_step", (0.019,)),                  # just under 2 / 100, the fastest stable rate
    ("momentum", "momentum_step", (0.01, 0.9)),
    ("nesterov", "nesterov_step", (0.01, 0.9)),
    ("rmsprop", "rmsprop_step", (0.01, ALPHA, 1e-8)),
    ("adam", "adam_step", (0.03, BETA1, BETA2, 1e-8)),
)
STATE = {"sgd_step": 0, "momentum_step": 1, "nesterov_step": 1, "rmsprop_step": 1, "adam_step": 2}


def loss(p: np.ndarray) -> float:
    return 0.5 * float(np.sum(CURVATURES * p * p))


def steps_to_tolerance(m: Learner, fn: str, hyper: tuple) -> int | None:
    """The learner's rule from START, CHUNK steps per round trip (the gradient, curvature * p, computed
    in their process by NumPy), until the loss is below TOL: the step count, or None at MAX_STEPS."""
    p, state, t = START.copy(), [np.zeros(2) for _ in range(STATE[fn])], 0
    while t < MAX_STEPS:
        s = m.batch()
        p_ref, state_refs, outs = p, list(state), []
        for _ in range(CHUNK):
            t += 1
            g = s.call("numpy.multiply", CURVATURES, p_ref)
            extra = (t, *hyper) if fn == "adam_step" else hyper
            out = s.call(fn, p_ref, g, *state_refs, *extra)
            if STATE[fn]:
                p_ref, state_refs = out[0], [out[i + 1] for i in range(STATE[fn])]
            else:
                p_ref = out
            outs.append(p_ref)
        got = s.run(*outs, *state_refs)
        ps, state = got[:CHUNK], list(got[CHUNK:])
        for k, value in enumerate(ps):
            if not isinstance(value, np.ndarray) or value.shape != (2,):
                raise CheckFailed(f"{fn} returned {type(value).__name__} for p on the quadratic, expected an "
                                  "array of shape (2,)")
            if loss(value) < TOL:
                return t - CHUNK + k + 1
            if not math.isfinite(loss(value)):
                return None
        p = ps[-1]
    return None


def train(m: Learner, budget_s: float, report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    start, counts = time.perf_counter(), {}
    for index, (label, fn, hyper) in enumerate(RACE, start=1):
        counts[label] = steps_to_tolerance(m, fn, hyper)
        if report is not None:
            report(index, len(RACE), {f"steps_{label}": float(counts[label] or MAX_STEPS)})
        if time.perf_counter() - start > budget_s:
            raise CheckFailed(f"the race took longer than {budget_s:.0f} s: each step should be a few array "
                              "operations, with no loop over entries")
    metrics = {f"steps_{k}": float(v if v is not None else MAX_STEPS) for k, v in counts.items()}
    shown = ", ".join(f"{k} {v if v is not None else f'> {MAX_STEPS}'}" for k, v in counts.items())
    message = f"steps to a loss below {TOL:g} on the condition-number-100 quadratic: {shown}"
    missing = [k for k, v in counts.items() if v is None]
    if missing:
        return 0.0, message + f"; {', '.join(missing)} never got there", metrics
    sgd = counts["sgd"]
    problems = [f"{k} ({counts[k]}) is not faster than plain SGD ({sgd})" for k in counts if k != "sgd"
                and counts[k] >= sgd]
    if counts["nesterov"] > counts["momentum"]:
        problems.append(f"Nesterov ({counts['nesterov']}) needs more steps than momentum ({counts['momentum']}) "
                        "at the same rate and mu: its look-ahead should damp the oscillation")
    if problems:
        return 0.0, message + "; but " + "; ".join(problems), metrics
    return 1.0, message + ": plain SGD slowest, Nesterov ahead of momentum, as the lesson says", metrics
