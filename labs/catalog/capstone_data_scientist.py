"""capstone-data-scientist: compare two models honestly: held-out data and confidence intervals.

Logistic regression and a one-hidden-layer network are trained on the same training points and scored
on points they never saw; each accuracy is reported with a 95 % Wilson interval. The grade rewards the
protocol: a validation set large enough for the intervals to mean something, and a conclusion (the
network is better) that the intervals actually support.
"""

from __future__ import annotations

import math

from pydantic import Field

from labs.catalog._spirals import SpiralActivation, linear_classifier, spirals, train_full_batch, two_layer_net
from labs.catalog._training import accuracy
from labs.catalog._judgement import diverged, failed
from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, RunContext
from labs.events import Finished
from labs.datasets import shuffle_split
from labs.grading import CheckSpec

Z95 = 1.96
MIN_LOWER_BOUND = 0.85  # the network's interval must sit above this
MAX_WIDTH = 0.15  # a wider interval says the validation set is too small to conclude anything


class Params(LabParams):
    n_per_arm: int = Field(300, ge=10, le=1000, description="points generated per spiral arm")
    val_fraction: float = Field(0.03, gt=0, lt=1, description="share of the points held out for validation")
    hidden: int = Field(32, ge=1, le=256, description="hidden units of the network")
    activation: SpiralActivation = Field("tanh", description="the network's non-linearity")
    lr: float = Field(0.3, gt=0, le=10, description="learning rate of both models (momentum GD, full batch)")
    steps: int = Field(1000, ge=1, le=5000, description="training steps of each model")


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion: sound at 0 or n successes, unlike p +- z*se."""
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


class CapstoneDataScientistLab(Lab):
    id = "capstone-data-scientist"
    title = "Capstone: a comparison you can defend"
    node_id = "data-scientist"
    dataset = "spirals"
    description = (
        "Compare **logistic regression** with a **small neural network** on spiral data the way a data "
        "scientist must: choose how much data to generate and how much to hold out, train both on the "
        "training part only, and report each held-out accuracy with a **95 % confidence interval**. "
        f"Pass when the intervals are narrow (width <= {MAX_WIDTH}), the network's lies above "
        f"{MIN_LOWER_BOUND}, and the two intervals do not overlap."
    )
    Params = Params
    naive = "holding out 3 % of the points, to train on as many as possible"
    good_settings = {"val_fraction": 0.3}
    failure_modes = (
        FailureMode(id="validation-too-small", label="too few held-out points: the intervals are too wide",
                    explanation="An accuracy measured on n points is uncertain by about 1/sqrt(n): 27 points "
                    "give an interval some 0.3 wide, too wide to tell the models apart. Hold out more (a "
                    "quarter to a third) or generate more data."),
        FailureMode(id="undertrained", label="the network did not learn the spirals well enough",
                    explanation="The intervals are narrow but the network's lies low: it needs more steps, "
                    "more hidden units or a better rate before it can be compared."),
        FailureMode(id="lr-too-large", label="the rate is too large: the loss blew up",
                    explanation="Both models share the rate; one too large blows the loss up. Lower it "
                    "(0.1-1 for momentum GD here)."),
    )
    checks = (
        CheckSpec(id="precise", title=f"Both intervals narrower than {MAX_WIDTH}", points=30, required=True),
        CheckSpec(id="network_good", title=f"The network's interval lies above {MIN_LOWER_BOUND}", points=40),
        CheckSpec(id="separated", title="The network's interval lies above the linear model's", points=30),
    )
    pass_mark = 70.0
    time_limit_s = 300.0
    unit = "step"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        data = spirals(params.n_per_arm)
        tr, val = shuffle_split(len(data.y), params.val_fraction, seed=ctx.seed)
        ctx.start(total_steps=2 * params.steps, dataset_hash=data.sha256)
        models = {"logistic regression": linear_classifier(ctx.rng),
                  "neural network": two_layer_net(params.hidden, params.activation, ctx.rng)}
        intervals = {}
        for k, (name, model) in enumerate(models.items()):
            train_full_batch(model, data.x[tr], data.y[tr], lr=params.lr, steps=params.steps, ctx=ctx,
                             prefix="linear_" if k == 0 else "", step_offset=k * params.steps)
            acc = accuracy(model, data.x[val], data.y[val])
            intervals[name] = (acc, *wilson_interval(round(acc * len(val)), len(val)))
        text = f"held-out accuracy on {len(val)} points (95 % Wilson interval):\n" + "\n".join(
            f"  {name:<20} {a:.3f}  [{lo:.3f}, {hi:.3f}]" for name, (a, lo, hi) in intervals.items())
        ctx.sample(2 * params.steps, text)
        return Outcome(results=self._grade(ctx, intervals, len(val)), metrics=_metrics(intervals), feedback=text)

    @staticmethod
    def _grade(ctx: RunContext, intervals: dict, n_val: int) -> list:
        (_, lin_lo, lin_hi), (net, net_lo, net_hi) = intervals.values()
        width = max(lin_hi - lin_lo, net_hi - net_lo)
        return [
            ctx.check("precise", width <= MAX_WIDTH,
                      f"widest interval {width:.3f} from {n_val} held-out points"
                      + ("." if width <= MAX_WIDTH else "; hold out more points or generate more data.")),
            ctx.check("network_good", net_lo >= MIN_LOWER_BOUND,
                      f"the network's interval [{net_lo:.3f}, {net_hi:.3f}]."),
            ctx.check("separated", net_lo > lin_hi,
                      f"network [{net_lo:.3f}, {net_hi:.3f}] vs logistic regression [{lin_lo:.3f}, {lin_hi:.3f}]."),
        ]


    def diagnose(self, params: Params, finished: Finished) -> str | None:
        """Diverged: too large a rate. Intervals too wide: too few held-out points. Else the network's
        interval too low (or not above the linear model's): undertrained."""
        if finished.status == "passed":
            return None
        if diverged(finished):
            return "lr-too-large"
        return "validation-too-small" if failed(finished, "precise") else "undertrained"


def _metrics(intervals: dict) -> dict[str, float]:
    (lin, lin_lo, lin_hi), (net, net_lo, net_hi) = intervals.values()
    return {"val_accuracy": net, "val_accuracy_low": net_lo, "val_accuracy_high": net_hi,
            "linear_val_accuracy": lin, "linear_val_accuracy_low": lin_lo, "linear_val_accuracy_high": lin_hi}


LAB = CapstoneDataScientistLab()
