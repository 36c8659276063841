"""ffnn-digits: a multi-layer perceptron on the 8x8 handwritten digits, every knob in the learner's hands.

Calibrated (benchmarks/CALIBRATION.md): the defaults, four sigmoid layers trained by plain SGD, stay near
chance (the gradient vanishes through the saturating layers); the good settings, 64-128-10 ReLU with
Adam, reach 0.97-0.98 test accuracy over ten seeds in about a second, so the target 0.965 passes there
and fails after one epoch or with a rate too small to learn.
"""

from __future__ import annotations

from pydantic import Field

from labs.catalog._digits import Activation, MLPParams, build_mlp, mlp_architecture, train_on_digits
from labs.catalog._judgement import diverged, failed, metric
from labs.catalog._training import OptimizerName
from labs.catalog.base import FailureMode, Lab, Outcome, RunContext
from labs.events import Finished
from labs.datasets import load_digits
from labs.grading import CheckSpec, partial_credit

FLOOR, TARGET = 0.90, 0.965  # partial credit starts at FLOOR; TARGET passes
MAX_GAP = 0.05  # train accuracy this much above test accuracy counts as overfitting
CHANCE_LEVEL = 0.2  # train accuracy at or below this (chance is 0.1): the network learned nothing


class Params(MLPParams):
    """The shared MLP knobs (labs.catalog._digits.MLPParams) with this lab's naive defaults: a deep stack
    of sigmoids trained by plain SGD. The other digit labs keep MLPParams' own defaults."""

    hidden_layers: int = Field(4, ge=1, le=4, description="number of hidden layers")
    activation: Activation = Field("sigmoid", description="non-linearity between the layers")
    optimizer: OptimizerName = Field("sgd", description="update rule: sgd, momentum (SGD 0.9), adam, adamw")
    lr: float = Field(0.05, gt=0, le=10, description="learning rate")


class FfnnDigitsLab(Lab):
    id = "ffnn-digits"
    title = "A feed-forward network reads handwritten digits"
    node_id = "ffnn"
    dataset = "digits"
    description = (
        "Train a **multi-layer perceptron** on 1083 handwritten 8x8 digits and test it on 355 it has "
        "never seen. You choose the depth, width, activation, optimiser, learning rate, batch size, "
        f"epochs, weight decay and dropout. Pass with a test accuracy of {TARGET:.3f}, and train and test "
        f"accuracy within {MAX_GAP:.2f} of each other."
    )
    Params = Params
    naive = "four sigmoid layers trained by plain SGD"
    good_settings = {"hidden_layers": 1, "activation": "relu", "optimizer": "adam", "lr": 0.003}
    failure_modes = (
        FailureMode(id="vanishing-gradients", label="the gradient vanished through saturating layers",
                    explanation="A sigmoid's slope is at most 0.25, so backprop through four of them shrinks "
                    "the gradient reaching the first layer by 0.25^4 or more, and plain SGD barely moves it: "
                    "the network stays at chance (0.1). Use ReLU, fewer layers, or an adaptive optimiser (Adam)."),
        FailureMode(id="lr-too-large", label="the rate is too large: the loss blew up",
                    explanation="Steps that overshoot make the loss explode (or pin the network at "
                    "chance). Lower the rate: about 0.001-0.01 for Adam, 0.01-0.1 for SGD."),
        FailureMode(id="undertrained", label="not trained enough: too few epochs or too small a rate",
                    explanation="The network was learning (well above chance) but stopped short: the "
                    "validation accuracy was still climbing. Train more epochs, or raise a timid rate."),
        FailureMode(id="overfitting", label="it memorised the training set: train accuracy far above test",
                    explanation="A large network fits the 1083 training digits exactly but not new ones. "
                    "Add weight decay or dropout, or stop earlier."),
    )
    checks = (
        CheckSpec(id="test_accuracy", title=f"Test accuracy of at least {TARGET:.3f}", points=80, required=True),
        CheckSpec(id="generalisation", title=f"Train and test accuracy within {MAX_GAP:.2f}", points=20),
    )
    pass_mark = 80.0
    time_limit_s = 300.0
    unit = "epoch"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        data = load_digits()
        ctx.start(total_steps=params.epochs, dataset_hash=data.sha256)
        model = build_mlp(params, ctx.rng)
        r = train_on_digits(model, data, optimizer=params.optimizer, lr=params.lr,
                            weight_decay=params.weight_decay, batch_size=params.batch_size,
                            epochs=params.epochs, rng=ctx.rng, images=False, ctx=ctx)
        ctx.save_model(model, architecture=mlp_architecture(params))
        gap = r.train_accuracy - r.test_accuracy
        results = [
            ctx.check("test_accuracy", partial_credit(r.test_accuracy, FLOOR, TARGET),
                      f"test accuracy {r.test_accuracy:.4f} (target {TARGET:.3f}, no credit below {FLOOR:.2f})."
                      + ("" if r.test_accuracy >= TARGET else
                         " Try more epochs, a better-suited learning rate, or Adam.")),
            self._generalisation(ctx, r.train_accuracy, r.test_accuracy),
        ]
        return Outcome(results=results, metrics={**r.metrics(), "parameters": model.num_parameters()})


    def diagnose(self, params: Params, finished: Finished) -> str | None:
        """Diverged: too large. Train accuracy at chance: nothing was learned, through saturating layers
        (sigmoid/tanh, several of them), else a rate too large (>= 0.1) or too small to move. Test short
        of the target: at a train accuracy of 0.99 or more it memorised, else it was still learning
        (undertrained). Test on target but the gap too wide: overfitting."""
        if finished.status == "passed":
            return None
        if diverged(finished):
            return "lr-too-large"
        train = metric(finished, "train_accuracy", 0.0)
        if train <= CHANCE_LEVEL:
            saturating = params.activation in ("sigmoid", "tanh") and params.hidden_layers >= 2
            if saturating:
                return "vanishing-gradients"
            return "lr-too-large" if params.lr >= 0.1 else "undertrained"  # blown away, or never moved
        if failed(finished, "test_accuracy"):
            return "overfitting" if train >= 0.99 else "undertrained"
        return "overfitting" if failed(finished, "generalisation") else None

    @staticmethod
    def _generalisation(ctx: RunContext, train_acc: float, test_acc: float):
        gap = train_acc - test_acc
        if test_acc < FLOOR:
            return ctx.check("generalisation", False, f"not judged until the test accuracy reaches {FLOOR:.2f}.")
        return ctx.check("generalisation", gap <= MAX_GAP,
                         f"train {train_acc:.4f} vs test {test_acc:.4f} (gap {gap:+.4f})."
                         + ("" if gap <= MAX_GAP else " The network memorises: add weight decay or dropout."))


LAB = FfnnDigitsLab()
