"""optimisers: the same digits MLP, the same short budget, six update rules and three schedules.

The network (64-128-10, ReLU) and its batches are fixed; the learner chooses the update rule, the rate,
the schedule and (for AdamW) the decay, and trains for BUDGET_EPOCHS epochs. Beside it the same network,
from the same initial weights and on the same batches, trains with plain SGD at BASELINE_LR, constant,
so the comparison is paired: only the optimiser and its rate differ.

Update rules, per parameter p with gradient g at step t (PyTorch's conventions, as in the lesson):

    sgd       p -= lr g
    momentum  v = mu v + g;                   p -= lr v                          (mu = 0.9)
    nesterov  v = mu v + g;                   p -= lr (g + mu v)
    rmsprop   s = a s + (1 - a) g^2;          p -= lr g / (sqrt(s) + eps)        (a = 0.99)
    adam      m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
              p -= lr m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)
    adamw     p -= lr wd p, then the adam step (decay decoupled from the moments)

Schedules over the T steps of the budget: constant lr; cosine lr_t = lr (1 + cos(pi t / T)) / 2;
warmup-cosine: linear from 0 over the first 10 % of the steps, then the cosine over the rest.

Calibrated (benchmarks/CALIBRATION.md): the defaults, plain SGD at a timid 0.005, fall far short of the
baseline on every seed; momentum at 0.05 with a cosine schedule (or Adam at 0.003, constant) beats it by
more than MARGIN and gets the training loss under CONVERGED.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from labs.catalog._training import accuracy, evaluate_loss, train_epoch
from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, RunContext
from labs.datasets import load_digits
from labs.events import Finished
from labs.grading import CheckSpec, partial_credit
from labs.nn import MLP, Parameter

Rule = Literal["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"]
Schedule = Literal["constant", "cosine", "warmup-cosine"]
BUDGET_EPOCHS = 3
BATCH = 32
BASELINE_LR = 0.05
MARGIN = 0.03  # test accuracy above the plain-SGD baseline
CONVERGED = 0.35  # training loss at the end of the budget
MU, ALPHA, BETA1, BETA2, EPS = 0.9, 0.99, 0.9, 0.999, 1e-8
WARMUP_SHARE = 0.1


def lr_at(schedule: Schedule, base: float, t: int, total: int) -> float:
    """The rate of 0-based step t of `total` (see the module docstring)."""
    if schedule == "constant":
        return base
    if schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * t / total))
    warm = max(1, int(WARMUP_SHARE * total))
    if t < warm:
        return base * (t + 1) / warm
    return base * 0.5 * (1.0 + math.cos(math.pi * (t - warm) / max(1, total - warm)))


class RuleOptimizer:
    """One of the update rules above over a list of Parameters; `lr` may be changed between steps."""

    def __init__(self, params: list[Parameter], rule: Rule, lr: float, weight_decay: float = 0.0):
        self.params, self.rule, self.lr, self.weight_decay = params, rule, lr, weight_decay
        self.t = 0
        self.state: list[dict[str, np.ndarray]] = [{} for _ in params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad[...] = 0

    def step(self) -> None:
        self.t += 1
        lr, t = self.lr, self.t
        for p, s in zip(self.params, self.state):
            g = p.grad
            if self.rule == "sgd":
                p.data -= lr * g
            elif self.rule in ("momentum", "nesterov"):
                v = s.setdefault("v", np.zeros_like(p.data))
                v *= MU
                v += g
                p.data -= lr * (g + MU * v if self.rule == "nesterov" else v)
            elif self.rule == "rmsprop":
                sq = s.setdefault("s", np.zeros_like(p.data))
                sq *= ALPHA
                sq += (1 - ALPHA) * g * g
                p.data -= lr * g / (np.sqrt(sq) + EPS)
            else:
                m = s.setdefault("m", np.zeros_like(p.data))
                v = s.setdefault("v", np.zeros_like(p.data))
                m *= BETA1
                m += (1 - BETA1) * g
                v *= BETA2
                v += (1 - BETA2) * g * g
                if self.rule == "adamw" and self.weight_decay:
                    p.data *= 1 - lr * self.weight_decay
                m_hat, v_hat = m / (1 - BETA1**t), v / (1 - BETA2**t)
                p.data -= lr * m_hat / (np.sqrt(v_hat) + EPS)


class OptParams(LabParams):
    optimizer: Rule = Field("sgd", description="update rule: sgd, momentum, nesterov, rmsprop, adam, adamw")
    lr: float = Field(0.005, gt=0, le=5, description="base learning rate")
    schedule: Schedule = Field("constant", description="how the rate moves over the budget's steps")
    weight_decay: float = Field(0.0, ge=0, le=0.5, description="AdamW's decoupled decay (other rules ignore it)")


def _train(model, rule: Rule, lr: float, schedule: Schedule, wd: float, data, rng, ctx: RunContext | None) -> int:
    """Train for the budget with the rule and schedule; with ctx, emit the curves. Returns the epochs."""
    opt = RuleOptimizer(model.parameters(), rule, lr, wd)
    per_epoch = math.ceil(len(data.train.y) / BATCH)
    total = per_epoch * BUDGET_EPOCHS
    step = 0
    for epoch in range(1, BUDGET_EPOCHS + 1):
        # the schedule moves per step: train_epoch calls opt.step once per batch, so a wrapper sets lr first
        opt_step = opt.step

        def scheduled_step(opt=opt, opt_step=opt_step) -> None:
            opt.lr = lr_at(schedule, lr, opt.t, total)
            opt_step()

        opt.step = scheduled_step  # type: ignore[method-assign]
        loss, step = train_epoch(model, opt, data.train.x, data.train.y, BATCH, rng, ctx, step, epoch=epoch)
        opt.step = opt_step  # type: ignore[method-assign]
        if ctx is not None:
            val_loss, val_acc = evaluate_loss(model, data.val.x, data.val.y)
            ctx.progress(epoch, {"train_loss": loss}, epoch=epoch, split="train")
            ctx.progress(epoch, {"val_loss": val_loss, "val_accuracy": val_acc, "lr": opt.lr},
                         epoch=epoch, split="val")
            if ctx.deadline_reached(epoch, BUDGET_EPOCHS):
                return epoch
    return BUDGET_EPOCHS


class OptimisersLab(Lab):
    id = "optimisers"
    title = "Optimisers: beat plain SGD on the same budget"
    node_id = "optimisation"
    dataset = "digits"
    description = (
        f"The digits MLP (64-128-10, ReLU) trains for only {BUDGET_EPOCHS} epochs. Beside your run, the same "
        f"network from the same weights, on the same batches, trains with plain SGD at lr={BASELINE_LR:g}. "
        f"Choose the update rule, the learning rate and the schedule so that your test accuracy beats that "
        f"baseline by {MARGIN:.2f}. The loss curve and the rate's path are drawn as it trains."
    )
    Params = OptParams
    checks = (
        CheckSpec(id="beats_sgd", title=f"Test accuracy {MARGIN:.2f} above plain SGD at lr={BASELINE_LR:g}",
                  points=70, required=True),
        CheckSpec(id="converged", title=f"Training loss below {CONVERGED:g} at the end of the budget", points=30),
    )
    pass_mark = 100.0
    time_limit_s = 60.0
    unit = "epoch"
    naive = "plain SGD with a timid rate: every step is safe, and far too small"
    good_settings = {"optimizer": "momentum", "lr": 0.05, "schedule": "cosine"}
    failure_modes = (
        FailureMode(id="rate-too-small", label="the rate is too small: the budget ends long before the minimum",
                    explanation="Each step moves the weights by lr times the gradient; at a timid rate a few "
                                "hundred steps cover almost no distance. Raise the rate, or use a rule "
                                "(momentum, Adam) whose effective step is larger along the flat directions."),
        FailureMode(id="rate-too-large", label="the rate is too large: steps overshoot and the loss blows up",
                    explanation="Past about 2 / (the largest curvature) a step overshoots the valley and the "
                                "loss grows. Lower the rate; Adam and RMSProp want rates near 0.001-0.01, "
                                "far below plain SGD's."),
        FailureMode(id="no-better-than-sgd", label="it trains, but no faster than plain SGD",
                    explanation="A rule is only better at a rate suited to it: momentum multiplies the "
                                "effective step by about 1 / (1 - 0.9) = 10, so it wants a tenth of SGD's "
                                "rate; Adam's steps are about lr per entry whatever the gradient's scale. "
                                "Try Adam near 0.003, and a cosine schedule to settle at the end."),
    )

    def run(self, params: OptParams, ctx: RunContext) -> Outcome:
        data = load_digits()
        ctx.start(total_steps=BUDGET_EPOCHS, dataset_hash=data.sha256)
        model = MLP([64, 128, 10], activation="relu", rng=np.random.default_rng(ctx.seed))
        trained = _train(model, params.optimizer, params.lr, params.schedule, params.weight_decay, data,
                         np.random.default_rng([ctx.seed, 1]), ctx)
        train_loss, _ = evaluate_loss(model, data.train.x, data.train.y)
        test_acc = accuracy(model, data.test.x, data.test.y)
        ctx.progress(trained, {"test_accuracy": test_acc}, epoch=trained, split="test")
        baseline = MLP([64, 128, 10], activation="relu", rng=np.random.default_rng(ctx.seed))  # same weights
        _train(baseline, "sgd", BASELINE_LR, "constant", 0.0, data, np.random.default_rng([ctx.seed, 1]), None)
        base_acc = accuracy(baseline, data.test.x, data.test.y)
        gain = test_acc - base_acc
        results = [
            ctx.check("beats_sgd", partial_credit(gain, 0.0, MARGIN),
                      f"test accuracy {test_acc:.4f} vs plain SGD at lr={BASELINE_LR:g} {base_acc:.4f}: "
                      f"{gain:+.4f} (needs +{MARGIN:.2f})."),
            ctx.check("converged", train_loss < CONVERGED, f"training loss {train_loss:.3f} after {trained} epochs."),
        ]
        metrics = {"test_accuracy": test_acc, "sgd_test_accuracy": base_acc, "gain_over_sgd": gain,
                   "final_train_loss": train_loss}
        return Outcome(results=results, metrics=metrics)

    def diagnose(self, params: OptParams, finished: Finished) -> str | None:
        m = finished.metrics
        if "diverged_at_step" in m or m.get("final_train_loss", 0.0) > 2.0 and params.lr > 0.1:
            return "rate-too-large"
        if m.get("final_train_loss", 0.0) > 0.5:
            return "rate-too-small"
        return "no-better-than-sgd"


LAB = OptimisersLab()
