"""classic-vs-deep: the same spirals for a classic linear classifier and for a small neural network.

Logistic (softmax) regression draws straight boundaries, so on three spirals it tops out near 0.5; a
hidden layer bends them. Both are trained the same way and judged on points held out from training.
"""

from __future__ import annotations

from pydantic import Field

from labs.catalog._spirals import SpiralActivation, linear_classifier, spirals, train_full_batch, two_layer_net
from labs.catalog._training import accuracy
from labs.catalog._judgement import diverged, failed, metric, still_falling
from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, RunContext
from labs.events import Finished
from labs.datasets import shuffle_split
from labs.grading import CheckSpec, partial_credit

VAL_FRACTION = 0.3
TARGET, MIN_GAP = 0.90, 0.30


class Params(LabParams):
    hidden: int = Field(2, ge=1, le=256, description="hidden units of the neural network")
    activation: SpiralActivation = Field("tanh", description="the network's non-linearity")
    lr: float = Field(0.3, gt=0, le=10, description="learning rate of both models (momentum GD, full batch)")
    steps: int = Field(1000, ge=1, le=5000, description="training steps of each model")


class ClassicVsDeepLab(Lab):
    id = "classic-vs-deep"
    title = "A linear classifier and a neural network on the same spirals"
    node_id = "classic-vs-deep"
    dataset = "spirals"
    description = (
        "Train **logistic regression** (a classic linear model) and a **one-hidden-layer network** on "
        "three spirals, then score both on 30 % of the points held out. You pass when the network "
        f"reaches {TARGET:.2f} on the held-out points and beats the linear model by {MIN_GAP:.2f}."
    )
    naive = "a network with 2 hidden units"
    good_settings = {"hidden": 32, "activation": "tanh", "lr": 0.3, "steps": 1000}
    failure_modes = (
        FailureMode(id="too-few-hidden-units", label="too few hidden units: the network can barely bend its "
                    "boundaries", explanation="Each hidden unit adds one bend to the decision boundary; two "
                    "units give a boundary hardly more curved than the linear model's, so training flattens "
                    "out well short of the target. Give the network more hidden units (tens, for three arms)."),
        FailureMode(id="too-few-steps", label="too few steps: the loss was still falling when training "
                    "stopped", explanation="The network can draw the spirals, but it had not finished "
                    "learning them: the training loss still fell at the end. Train for more steps."),
        FailureMode(id="lr-too-small", label="the rate is too small: the weights barely moved",
                    explanation="With a tiny rate every step is tiny, so the loss creeps down and the "
                    "network stays close to its random start. Raise the rate (0.1-1 for momentum GD here)."),
        FailureMode(id="lr-too-large", label="the rate is too large: the loss blew up or the units saturated",
                    explanation="Steps that overshoot throw the weights far out: the loss explodes, or the "
                    "tanh units saturate and their gradients vanish. Lower the rate."),
    )
    Params = Params
    checks = (
        CheckSpec(id="network_accuracy", title=f"The network reaches {TARGET:.2f} on held-out points",
                  points=70, required=True),
        CheckSpec(id="beats_linear", title=f"The network beats the linear model by {MIN_GAP:.2f}", points=30),
    )
    pass_mark = 70.0
    time_limit_s = 120.0
    unit = "step"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        data = spirals()
        tr, val = shuffle_split(len(data.y), VAL_FRACTION, seed=0)
        ctx.start(total_steps=2 * params.steps, dataset_hash=data.sha256)
        linear = linear_classifier(ctx.rng)
        train_full_batch(linear, data.x[tr], data.y[tr], lr=params.lr, steps=params.steps, ctx=ctx,
                         prefix="linear_")
        net, trace = two_layer_net(params.hidden, params.activation, ctx.rng), []
        train_full_batch(net, data.x[tr], data.y[tr], lr=params.lr, steps=params.steps, ctx=ctx,
                         step_offset=params.steps, trace=trace)
        lin_acc, net_acc = accuracy(linear, data.x[val], data.y[val]), accuracy(net, data.x[val], data.y[val])
        ctx.sample(2 * params.steps, f"held-out accuracy: logistic regression {lin_acc:.3f}, "
                                     f"neural network {net_acc:.3f}")
        gap = net_acc - lin_acc
        results = [
            ctx.check("network_accuracy", partial_credit(net_acc, 0.5, TARGET),
                      f"the network scores {net_acc:.4f} on held-out points (target {TARGET:.2f})."),
            ctx.check("beats_linear", gap >= MIN_GAP,
                      f"network {net_acc:.4f} vs logistic regression {lin_acc:.4f} (gap {gap:+.4f})."),
        ]
        late = trace[max(0, len(trace) - 1 - len(trace) // 10)]  # the loss 90 % of the way through
        return Outcome(results=results, metrics={"val_accuracy": net_acc, "linear_val_accuracy": lin_acc,
                                                 "train_loss": trace[-1], "late_train_loss": late})

    def diagnose(self, params: Params, finished: Finished) -> str | None:
        """Diverged: too large a rate. Short of the target with the loss still falling over the last tenth
        of training: too few steps; a rate under 0.03 barely moves it. Flat but short: the network cannot
        draw the boundary, too few hidden units (or units saturated by a rate above 3)."""
        if finished.status == "passed":
            return None
        if diverged(finished):
            return "lr-too-large"
        if not failed(finished, "network_accuracy"):
            return None
        if params.lr < 0.03:  # the loss crept down from its start (chance, ln 3): steps too small
            return "lr-too-small"
        # momentum GD oscillates by a few per cent near a plateau: "still falling" means by more than 9 %
        if still_falling(metric(finished, "late_train_loss"), metric(finished, "train_loss"), tolerance=0.09):
            return "too-few-steps"
        return "lr-too-large" if params.lr > 3 else "too-few-hidden-units"


LAB = ClassicVsDeepLab()
