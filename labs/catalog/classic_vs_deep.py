"""classic-vs-deep: the same spirals for a classic linear classifier and for a small neural network.

Logistic (softmax) regression draws straight boundaries, so on three spirals it tops out near 0.5; a
hidden layer bends them. Both are trained the same way and judged on points held out from training.
"""

from __future__ import annotations

from pydantic import Field

from labs.catalog._spirals import SpiralActivation, linear_classifier, spirals, train_full_batch, two_layer_net
from labs.catalog._training import accuracy
from labs.catalog.base import Lab, LabParams, Outcome, RunContext
from labs.datasets import shuffle_split
from labs.grading import CheckSpec, partial_credit

VAL_FRACTION = 0.3
TARGET, MIN_GAP = 0.90, 0.30


class Params(LabParams):
    hidden: int = Field(32, ge=1, le=256, description="hidden units of the neural network")
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
        "three spirals, then score both on 30 % of the points held out. The linear model can only draw "
        "straight boundaries and stalls near 50 %; the network learns curved ones. You pass when the "
        f"network reaches {TARGET:.2f} on the held-out points and beats the linear model by {MIN_GAP:.2f}."
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
        net = two_layer_net(params.hidden, params.activation, ctx.rng)
        train_full_batch(net, data.x[tr], data.y[tr], lr=params.lr, steps=params.steps, ctx=ctx,
                         step_offset=params.steps)
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
        return Outcome(results=results, metrics={"val_accuracy": net_acc, "linear_val_accuracy": lin_acc})


LAB = ClassicVsDeepLab()
