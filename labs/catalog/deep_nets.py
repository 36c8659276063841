"""deep-nets: a 20-layer MLP on the digits, plain or fixed with batch normalisation and residual blocks.

The learner's network is `labs.nn.deep_mlp(20, width, activation, norm, residual)`; it is compared with
the PLAIN 20-layer net of the same activation and width, trained the same way on the side (the learner's
run itself, when the learner's net is plain). After every epoch a snapshot of the per-layer activation
and gradient histograms on a fixed probe batch is emitted as a sample (labs.catalog._layerstats), which
the lab screen and the attempt view draw: a vanishing gradient is visible layer by layer.

Calibrated (benchmarks/CALIBRATION.md, benchmarks/DEEPNETS.md): the defaults, a plain sigmoid stack,
stay at chance (0.10) on every seed; sigmoid with BatchNorm reaches about 0.94, so the net must beat the
plain one by MARGIN and reach TARGET.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from labs.catalog._layerstats import snapshot
from labs.catalog._training import OptimizerName, accuracy, evaluate_loss, make_optimizer, train_epoch
from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, RunContext
from labs.datasets import load_digits
from labs.events import Finished
from labs.grading import CheckSpec, partial_credit
from labs.nn import deep_mlp

DEPTH = 20  # weight layers, head included (19 hidden + head; residual: stem, 9 blocks of two, head)
FLOOR, TARGET = 0.50, 0.90  # partial credit from FLOOR; TARGET passes
MARGIN = 0.30  # the fixed net must beat the plain 20-layer net by this much test accuracy
PROBE = 64  # validation examples the histograms are measured on


class DeepParams(LabParams):
    activation: Literal["sigmoid", "tanh", "relu"] = Field("sigmoid", description="non-linearity of every layer")
    norm: Literal["none", "batch"] = Field("none", description="batch normalisation after each hidden Linear")
    residual: bool = Field(False, description="residual blocks (y = act(x + F(x))) instead of a plain stack")
    width: int = Field(64, ge=16, le=128, description="units in every hidden layer")
    optimizer: OptimizerName = Field("adam", description="update rule: sgd, momentum (SGD 0.9), adam, adamw")
    lr: float = Field(0.003, gt=0, le=1, description="learning rate")
    batch_size: int = Field(32, ge=8, le=256, description="examples per gradient step")
    epochs: int = Field(30, ge=1, le=60, description="passes over the 1083 training images")


def train_deep(model, data, p: DeepParams, rng: np.random.Generator, ctx: RunContext | None) -> int:
    """Train `model` for p.epochs; with ctx, emit the curves and a layer snapshot per epoch, and stop at
    the deadline. Returns the epochs trained."""
    opt = make_optimizer(p.optimizer, model, p.lr)
    x_tr, y_tr = data.train.x, data.train.y
    x_val, y_val = data.val.x, data.val.y
    probe_x, probe_y = x_val[:PROBE], y_val[:PROBE]
    if ctx is not None:
        ctx.sample(0, snapshot(model, probe_x, probe_y, 0).encode())
    step = 0
    for epoch in range(1, p.epochs + 1):
        loss, step = train_epoch(model, opt, x_tr, y_tr, p.batch_size, rng, ctx, step, epoch=epoch)
        if ctx is None:
            continue
        val_loss, val_acc = evaluate_loss(model, x_val, y_val)
        ctx.progress(epoch, {"train_loss": loss}, epoch=epoch, split="train")
        ctx.progress(epoch, {"val_loss": val_loss, "val_accuracy": val_acc}, epoch=epoch, split="val")
        ctx.sample(epoch, snapshot(model, probe_x, probe_y, epoch).encode())
        if ctx.deadline_reached(epoch, p.epochs):
            return epoch
    return p.epochs


class DeepNetsLab(Lab):
    id = "deep-nets"
    title = "Twenty layers deep: why plain stacks stall, and what fixes them"
    node_id = "deep-networks"
    dataset = "digits"
    description = (
        f"Train a **{DEPTH}-layer** MLP on the handwritten digits and watch each layer's activations and "
        "gradients as histograms, epoch by epoch. Your network is compared with the plain "
        f"{DEPTH}-layer stack of the same activation and width. Pass when yours reaches a test accuracy of "
        f"{TARGET:.2f} and beats the plain stack by {MARGIN:.2f}. The depth is fixed: change what the "
        "network is made of, not how deep it is."
    )
    Params = DeepParams
    checks = (
        CheckSpec(id="test_accuracy", title=f"Test accuracy of at least {TARGET:.2f}", points=60, required=True),
        CheckSpec(id="beats_plain", title=f"At least {MARGIN:.2f} above the plain {DEPTH}-layer net",
                  points=40, required=True),
    )
    pass_mark = 100.0
    time_limit_s = 120.0
    unit = "epoch"
    naive = f"a plain {DEPTH}-layer sigmoid stack, nothing to keep its gradient alive"
    good_settings = {"norm": "batch"}
    failure_modes = (
        FailureMode(id="vanishing-gradient", label="the gradient vanishes before it reaches the first layers",
                    explanation="Each sigmoid multiplies the gradient by at most 0.25, so after 19 of them the "
                                "first layers get about 1e-12 of it (the gradient histograms collapse to one "
                                "bar) and never learn: the net stays at chance. Batch normalisation after "
                                "each Linear keeps every layer's input centred and scaled, and residual "
                                "blocks add an identity path the gradient passes along untouched."),
        FailureMode(id="nothing-fixed", label="the network trains, but it is still the plain stack",
                    explanation="With ReLU and He initialisation a plain stack can train, so accuracy alone "
                                "looks fine; but the check compares your network with the plain one, and "
                                "they are the same. Add batch normalisation or residual blocks, and use an "
                                "activation where the plain stack fails (sigmoid) to see the difference."),
        FailureMode(id="undertrained", label="the fix is in, but training stopped too early or too slowly",
                    explanation="The normalised or residual net is learning (the curve falls) but has not "
                                "reached the target: give it more epochs or a better-suited rate (Adam "
                                "around 0.003)."),
        FailureMode(id="lr-too-large", label="the rate is too large: the loss blows up or stays at chance",
                    explanation="Steps that large throw the weights far from where the gradient was "
                                "measured. Lower the learning rate by a factor of ten or more."),
    )

    def run(self, params: DeepParams, ctx: RunContext) -> Outcome:
        data = load_digits()
        ctx.start(total_steps=params.epochs, dataset_hash=data.sha256)
        plain = params.norm == "none" and not params.residual
        model = deep_mlp(DEPTH, params.width, rng=ctx.rng, activation=params.activation, norm=params.norm,
                         residual=params.residual)
        trained = train_deep(model, data, params, ctx.rng, ctx)
        test_acc = accuracy(model, data.test.x, data.test.y)
        train_acc = accuracy(model, data.train.x, data.train.y)
        ctx.progress(trained, {"test_accuracy": test_acc}, epoch=trained, split="test")
        if plain:
            plain_acc = test_acc  # the learner's net IS the plain stack
        else:  # the plain stack, same activation, width and training, on its own generator
            rng = np.random.default_rng([ctx.seed, 1])
            baseline = deep_mlp(DEPTH, params.width, rng=rng, activation=params.activation)
            train_deep(baseline, data, params.model_copy(update={"epochs": trained}), rng, None)
            plain_acc = accuracy(baseline, data.test.x, data.test.y)
        gain = test_acc - plain_acc
        results = [
            ctx.check("test_accuracy", partial_credit(test_acc, FLOOR, TARGET),
                      f"test accuracy {test_acc:.4f} (target {TARGET:.2f})."),
            ctx.check("beats_plain", partial_credit(gain, 0.0, MARGIN),
                      f"your net {test_acc:.4f} vs the plain {DEPTH}-layer {params.activation} net "
                      f"{plain_acc:.4f}: {gain:+.4f} (needs +{MARGIN:.2f})."
                      + (" Your net is the plain stack itself: change what it is made of." if plain else "")),
        ]
        metrics = {"test_accuracy": test_acc, "train_accuracy": train_acc, "plain_test_accuracy": plain_acc,
                   "gain_over_plain": gain, "parameters": model.num_parameters()}
        return Outcome(results=results, metrics=metrics)

    def diagnose(self, params: DeepParams, finished: Finished) -> str | None:
        m = finished.metrics
        if "diverged_at_step" in m:
            return "lr-too-large"
        plain = params.norm == "none" and not params.residual
        if plain:
            return "vanishing-gradient" if m.get("test_accuracy", 0.0) < FLOOR else "nothing-fixed"
        if m.get("test_accuracy", 0.0) < FLOOR and params.lr >= 0.03:
            return "lr-too-large"  # a fixed net stuck near chance at a rate ten times Adam's usual one
        return "undertrained"


LAB = DeepNetsLab()
