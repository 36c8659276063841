"""capstone-ml-engineer: ship a digits classifier that reaches 0.98 test accuracy within a time budget.

The learner picks the model family (MLP or ConvNet) and its training. Calibrated over ten seeds: a
ConvNet with 32/64 filters trained 30 epochs with Adam from 0.003 on a cosine schedule gets 0.978-0.992
(8 of 10 seeds reach 0.985, hence the 0.98 bar: at most 7 errors in 355) in about 5 s on one core; the
MLP family tops out near 0.97 (0.963-0.969), so choosing the architecture is part of the job: the
defaults are the MLP, the model a learner already knows.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from labs.catalog._digits import CNNParams, MLPParams, build_cnn, build_mlp, cnn_architecture, mlp_architecture, train_on_digits
from labs.catalog._judgement import diverged, failed, metric
from labs.catalog.base import FailureMode, Lab, Outcome, RunContext
from labs.events import Finished
from labs.datasets import load_digits
from labs.grading import CheckSpec, partial_credit

TARGET, FLOOR = 0.98, 0.95
BUDGET_S = 60.0  # training wall-clock allowed


class Params(CNNParams):
    model: Literal["cnn", "mlp"] = Field("mlp", description="model family: cnn (ConvNet) or mlp")
    filters1: int = Field(32, ge=1, le=64, description="cnn: filters in the first convolution")
    filters2: int = Field(64, ge=0, le=128, description="cnn: filters in the second convolution (0: only one)")
    hidden: int = Field(64, ge=0, le=512, description="cnn: dense units before the output; mlp: hidden width")
    mlp_layers: int = Field(1, ge=1, le=4, description="mlp: number of hidden layers")
    weight_decay: float = Field(0.0, ge=0, le=1, description="L2 pull of the weights towards zero (Adam)")
    lr: float = Field(0.003, gt=0, le=10, description="learning rate (Adam); the starting rate with cosine")
    schedule: Literal["constant", "cosine"] = Field("cosine", description="keep the rate, or anneal it to 0")


def build(p: Params, rng):
    """The chosen model and whether it reads (n,1,8,8) images (cnn) or flat vectors (mlp)."""
    if p.model == "cnn":
        return build_cnn(p, rng), True
    return build_mlp(_mlp_params(p), rng), False


def architecture(p: Params) -> dict:
    """The chosen model as a stored model's architecture (labs.catalog._models.build_model)."""
    return cnn_architecture(p) if p.model == "cnn" else mlp_architecture(_mlp_params(p))


def _mlp_params(p: Params) -> MLPParams:
    return MLPParams(hidden_layers=p.mlp_layers, width=max(p.hidden, 4), lr=p.lr, batch_size=p.batch_size,
                     epochs=min(p.epochs, 200))


class CapstoneMlEngineerLab(Lab):
    id = "capstone-ml-engineer"
    title = "Capstone: a production-grade digits classifier"
    node_id = "ml-engineer"
    dataset = "digits"
    description = (
        f"Deliver a handwritten-digit classifier that reaches **{TARGET} test accuracy** (at most 7 errors "
        f"in 355) and trains within **{BUDGET_S:g} s**. Choose the family (MLP or ConvNet), its size and "
        "its training; the validation curve is yours to read, the test set is scored once at the end."
    )
    Params = Params
    naive = "the MLP, the model you already know"
    good_settings = {"model": "cnn"}
    failure_modes = (
        FailureMode(id="wrong-family", label="the model family cannot reach the target",
                    explanation="An MLP treats the 64 pixels as an unordered list, so it must learn every "
                    "stroke at every position separately; on 1083 digits it tops out near 0.97. A ConvNet "
                    "shares its filters across positions and gets to 0.98-0.99: choose model=cnn."),
        FailureMode(id="over-budget", label="training took longer than the time budget",
                    explanation="The model or the epochs are too large for the budget: use fewer filters "
                    "or epochs, or a larger batch."),
        FailureMode(id="undertrained", label="not trained enough: too few epochs or too small a rate",
                    explanation="The right family, stopped short: train more epochs or raise the rate."),
        FailureMode(id="lr-too-large", label="the rate is too large: the loss blew up or stalled",
                    explanation="Overshooting steps make the loss explode. Lower the rate (Adam at 0.001-0.003)."),
    )
    checks = (
        CheckSpec(id="test_accuracy", title=f"Test accuracy of at least {TARGET}", points=70, required=True),
        CheckSpec(id="time_budget", title=f"Trains within {BUDGET_S:g} s", points=30, required=True),
    )
    pass_mark = 100.0
    time_limit_s = 600.0
    unit = "epoch"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        data = load_digits()
        ctx.start(total_steps=params.epochs, dataset_hash=data.sha256)
        model, images = build(params, ctx.rng)
        r = train_on_digits(model, data, optimizer="adam", lr=params.lr, weight_decay=params.weight_decay,
                            batch_size=params.batch_size, epochs=params.epochs, rng=ctx.rng, images=images, ctx=ctx,
                            cosine=params.schedule == "cosine")
        ctx.save_model(model, architecture=architecture(params))
        errors = round((1 - r.test_accuracy) * len(data.test))
        results = [
            ctx.check("test_accuracy", partial_credit(r.test_accuracy, FLOOR, TARGET),
                      f"test accuracy {r.test_accuracy:.4f} ({errors} errors; target {TARGET})."),
            ctx.check("time_budget", r.train_seconds <= BUDGET_S,
                      f"training took {r.train_seconds:.1f} s (budget {BUDGET_S:g} s)."),
        ]
        return Outcome(results=results, metrics={**r.metrics(), "parameters": model.num_parameters()})


    def diagnose(self, params: Params, finished: Finished) -> str | None:
        """Diverged, or at chance at a rate of 0.01 or more: too large a rate. Over the clock: over budget. Short of 0.98: an MLP that
        fitted its training set (>= 0.99) is the wrong family; otherwise it was still learning."""
        if finished.status == "passed":
            return None
        if diverged(finished) or (metric(finished, "train_accuracy", 0.0) <= 0.2 and params.lr >= 0.01):
            return "lr-too-large"
        if failed(finished, "time_budget"):
            return "over-budget"
        if params.model == "mlp" and metric(finished, "train_accuracy", 0.0) >= 0.99:
            return "wrong-family"
        return "undertrained"


LAB = CapstoneMlEngineerLab()
