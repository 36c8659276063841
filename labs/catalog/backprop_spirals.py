"""backprop-spirals: prove the backward pass right with a gradient check, then use it to learn spirals.

The check runs on the untrained float64 network over a slice of the data; every parameter's analytic
gradient is compared with central differences. Only then does training start, so a wrong backward pass
is caught before it wastes a run. Calibrated (benchmarks/CALIBRATION.md): the defaults, a rate of 0.01,
barely move the loss in 1000 steps and fail; the good settings, 32 tanh units, gradient descent with
momentum at 0.3, 1000 full-batch steps, reach 0.99 train accuracy in about a quarter of a second; a rate
of 10 saturates the tanh units and fails.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from labs.catalog._spirals import SpiralActivation, spirals, train_full_batch, two_layer_net
from labs.catalog._training import accuracy
from labs.catalog._judgement import diverged, failed, metric, still_falling
from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, RunContext
from labs.events import Finished
from labs.grading import CheckSpec, partial_credit
from labs.nn import SoftmaxCrossEntropy, gradcheck_model

NORMWISE_TOL = 1e-6
TARGET_ACCURACY = 0.95
CHECK_POINTS = 30  # points of the data the gradient check runs on (each entry costs two forward passes)
# Each arm starts at the origin, where a fresh net's pre-activations equal its zero biases: exactly on the
# ReLU kink, where finite differences disagree with any one-sided derivative. Those points are left out.
KINK_RADIUS = 0.05


class Params(LabParams):
    hidden: int = Field(32, ge=1, le=256, description="units in the hidden layer")
    activation: SpiralActivation = Field("tanh", description="the hidden layer's non-linearity")
    lr: float = Field(0.01, gt=0, le=10, description="learning rate (gradient descent with momentum, full batch)")
    steps: int = Field(1000, ge=1, le=5000, description="full-batch training steps")


class BackpropSpiralsLab(Lab):
    id = "backprop-spirals"
    title = "Backpropagation, checked, on three spirals"
    node_id = "backpropagation"
    dataset = "spirals"
    description = (
        "A two-layer network must separate three interleaved spirals, which no straight line can. First "
        "the **gradient checker** compares every backpropagated gradient with a finite-difference "
        f"estimate (normwise error below {NORMWISE_TOL:g}, in float64); then the network trains on all 300 "
        f"points. Pass with a verified gradient and a training accuracy of {TARGET_ACCURACY:.2f}."
    )
    naive = "a cautious learning rate of 0.01"
    good_settings = {"hidden": 32, "activation": "tanh", "lr": 0.3, "steps": 1000}
    failure_modes = (
        FailureMode(id="lr-too-small", label="the rate is too small: the loss barely moved from its start",
                    explanation="The gradient is right (the check passed), but each step moves the weights "
                    "by lr times it: at 0.01 a thousand steps leave the loss near where it began, ln 3 for "
                    "three classes. Raise the rate (0.1-1 with momentum on this data)."),
        FailureMode(id="too-few-steps", label="too few steps: the loss was still falling at the end",
                    explanation="Backprop was learning the spirals but ran out of steps with the loss "
                    "still going down. Train longer."),
        FailureMode(id="too-few-hidden-units", label="too few hidden units to draw three spirals",
                    explanation="Each hidden unit contributes one bend; a handful cannot wrap around three "
                    "arms, so the loss flattens above zero however long it trains. Add hidden units."),
        FailureMode(id="lr-too-large", label="the rate is too large: the loss blew up or the units saturated",
                    explanation="Overshooting steps throw the pre-activations far from zero, where tanh is "
                    "flat and backprop passes almost no gradient, or blow the loss up. Lower the rate."),
    )
    Params = Params
    checks = (
        CheckSpec(id="gradcheck", title=f"Backprop matches finite differences (< {NORMWISE_TOL:g})",
                  points=50, required=True),
        CheckSpec(id="train_accuracy", title=f"Train accuracy of at least {TARGET_ACCURACY:.2f}",
                  points=50, required=True),
    )
    pass_mark = 100.0
    time_limit_s = 120.0
    unit = "step"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        data = spirals()
        ctx.start(total_steps=params.steps, dataset_hash=data.sha256)
        model = two_layer_net(params.hidden, params.activation, ctx.rng)
        subset = ctx.rng.choice(np.flatnonzero(np.linalg.norm(data.x, axis=1) > KINK_RADIUS), size=CHECK_POINTS,
                                replace=False)
        report = gradcheck_model(model, SoftmaxCrossEntropy(), data.x[subset], data.y[subset],
                                 rng=np.random.default_rng(ctx.seed))
        worst = report.worst()
        ctx.sample(0, "gradient check\n" + str(report))
        trace: list[float] = []
        train_full_batch(model, data.x, data.y, lr=params.lr, steps=params.steps, ctx=ctx, trace=trace)
        acc = accuracy(model, data.x, data.y)
        grad_ok = report.max_normwise < NORMWISE_TOL
        results = [
            ctx.check("gradcheck", grad_ok,
                      f"largest normwise error {report.max_normwise:.2e} (in {worst.name}), limit {NORMWISE_TOL:g}."),
            ctx.check("train_accuracy", partial_credit(acc, 1 / 3, TARGET_ACCURACY),
                      f"train accuracy {acc:.4f} (target {TARGET_ACCURACY:.2f}; chance is 0.33)."
                      + ("" if acc >= TARGET_ACCURACY else " Try more hidden units, more steps or another rate.")),
        ]
        metrics = {"train_accuracy": acc, "gradcheck_normwise": report.max_normwise,
                   "gradcheck_elementwise": report.max_elementwise, "train_loss": trace[-1],
                   "start_train_loss": trace[0], "late_train_loss": trace[max(0, len(trace) - 1 - len(trace) // 10)]}
        return Outcome(results=results, metrics=metrics)

    def diagnose(self, params: Params, finished: Finished) -> str | None:
        """Diverged: too large. Short of the target: a loss still within 20 % of where it started has
        barely moved (too small a rate, or a rate under 0.03 whose curve has flattened into a crawl; above
        a rate of 3, saturated units); still falling over the last tenth: too few steps; flat: too few
        hidden units."""
        if finished.status == "passed":
            return None
        if diverged(finished):
            return "lr-too-large"
        if not failed(finished, "train_accuracy"):
            return None
        start, end = metric(finished, "start_train_loss"), metric(finished, "train_loss")
        if end > 0.8 * start or params.lr < 0.03:  # barely moved, or moved by steps far too small
            return "lr-too-large" if params.lr > 3 else "lr-too-small"
        if still_falling(metric(finished, "late_train_loss"), end, tolerance=0.09):  # beyond momentum's wobble
            return "too-few-steps"
        return "too-few-hidden-units"


LAB = BackpropSpiralsLab()
