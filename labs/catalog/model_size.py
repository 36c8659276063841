"""model-size: estimate how big a described network is before building it; graded against the library.

The learner enters three numbers as parameters. Nothing trains: the run builds the described network,
counts it (labs.catalog._counting) and compares. The numbers are tiny next to a large model, which is
the point of the lesson: the same arithmetic, scaled, gives billions.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from labs.catalog._counting import forward_macs, judge_estimate, relative_error, weight_bytes
from labs.catalog.base import Lab, LabParams, Outcome, RunContext
from labs.grading import CheckSpec
from labs.nn import MLP

SIZES = (64, 128, 64, 10)  # the described network
PARAM_TOL, COST_TOL = 0.01, 0.10  # relative tolerances for full credit
ZERO_AT = 0.5  # an estimate 50 % off earns nothing
HINTS = {"parameters": "each layer has inputs x outputs weights plus one bias per output",
         "flops": "each weight is used once per image, for one multiply and one add",
         "memory_kb": "every parameter is a 4-byte float32"}


class Params(LabParams):
    parameters: int = Field(0, ge=0, le=10**12, description="your count of the network's weights and biases")
    flops: int = Field(0, ge=0, le=10**15, description="your count of FLOPs for one forward pass of one image "
                                                      "(a multiply-add = 2 FLOPs; ignore activations)")
    memory_kb: float = Field(0.0, ge=0, le=10**9, description="your estimate of the weights' memory in kB "
                                                              "(float32, 1 kB = 1000 bytes)")


class ModelSizeLab(Lab):
    id = "model-size"
    title = "How big is a model? Count it"
    node_id = "large-models"
    dataset = "none"
    description = (
        "A network reads an 8x8 image as 64 numbers and has fully connected layers of sizes "
        "**64 -> 128 -> 64 -> 10**, each with a bias. Estimate, and enter as parameters: its number of "
        "**parameters**; the **FLOPs** of one forward pass for one image (count a multiply-add as 2 FLOPs, "
        "ignore the activations); and the **memory** of its weights in float32, in kB. The lab builds the "
        f"network and counts: within {PARAM_TOL:.0%} on parameters and {COST_TOL:.0%} on the others passes."
    )
    Params = Params
    checks = (
        CheckSpec(id="parameters", title=f"Parameter count within {PARAM_TOL:.0%}", points=50, required=True),
        CheckSpec(id="flops", title=f"FLOPs within {COST_TOL:.0%}", points=25),
        CheckSpec(id="memory", title=f"Memory within {COST_TOL:.0%}", points=25),
    )
    pass_mark = 75.0
    time_limit_s = 30.0
    unit = "step"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        ctx.start(total_steps=1)
        model = MLP(list(SIZES), rng=np.random.default_rng(0))
        truth = {"parameters": model.num_parameters(), "flops": 2 * forward_macs(model, (SIZES[0],)),
                 "memory_kb": weight_bytes(model) / 1000}
        guess = {"parameters": params.parameters, "flops": params.flops, "memory_kb": params.memory_kb}
        results = [self._judge(ctx, name, guess[name], truth[name]) for name in guess]
        errors = {f"{name}_error": relative_error(guess[name], truth[name]) for name in guess}
        ctx.progress(1, errors)
        return Outcome(results=results, metrics=errors)

    @staticmethod
    def _judge(ctx: RunContext, name: str, guess: float, truth: float):
        return judge_estimate(ctx, "memory" if name == "memory_kb" else name, guess, truth, hint=HINTS[name],
                              tolerance=PARAM_TOL if name == "parameters" else COST_TOL, zero_at=ZERO_AT)

LAB = ModelSizeLab()
