"""model-size: estimate how big a described network is before building it; graded against the library.

The learner enters three numbers as parameters. Nothing trains: the run builds the described network,
counts it (labs.catalog._counting) and compares. The numbers are tiny next to a large model, which is
the point of the lesson: the same arithmetic, scaled, gives billions.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from labs.catalog._counting import forward_macs, judge_estimate, relative_error, weight_bytes
from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, RunContext
from labs.events import Finished
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
    naive = "no estimate yet (every answer 0)"
    failure_modes = (
        FailureMode(id="no-estimate", label="no estimate was entered", explanation="Every answer was 0: "
                    "enter your three estimates as parameters (parameters=..., flops=..., memory_kb=...)."),
        FailureMode(id="forgot-biases", label="the parameter count left out the biases",
                    explanation="A fully connected layer from n to m units has n x m weights AND m biases, "
                    "one per output: add them for every layer."),
        FailureMode(id="macs-not-flops", label="a multiply-add was counted as one FLOP, not two",
                    explanation="Each weight is used once per image in a multiply and an add: two FLOPs. "
                    "Counting multiply-adds (or parameters) gives half the FLOPs."),
        FailureMode(id="wrong-bytes", label="the memory used the wrong size per number or per kB",
                    explanation="float32 is 4 bytes per parameter, and here 1 kB is 1000 bytes: memory is "
                    "parameters x 4 / 1000 kB (not x 8, the float64 size, nor the count itself)."),
    )
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

    def diagnose(self, params: Params, finished: Finished) -> str | None:
        """The estimates are the evidence: each classic slip gives a predictable wrong number."""
        if finished.status == "passed":
            return None
        if not (params.parameters or params.flops or params.memory_kb):
            return "no-estimate"
        model = MLP(list(SIZES), rng=np.random.default_rng(0))
        n = model.num_parameters()
        weights, macs = n - sum(SIZES[1:]), forward_macs(model, (SIZES[0],))
        if relative_error(params.parameters, n) > PARAM_TOL and _near(params.parameters, weights):
            return "forgot-biases"
        if relative_error(params.flops, 2 * macs) > COST_TOL and (_near(params.flops, macs) or _near(params.flops, n)):
            return "macs-not-flops"
        if relative_error(params.memory_kb, weight_bytes(model) / 1000) > COST_TOL:
            return "wrong-bytes"
        return None

    @staticmethod
    def _judge(ctx: RunContext, name: str, guess: float, truth: float):
        return judge_estimate(ctx, "memory" if name == "memory_kb" else name, guess, truth, hint=HINTS[name],
                              tolerance=PARAM_TOL if name == "parameters" else COST_TOL, zero_at=ZERO_AT)

def _near(guess: float, value: float) -> bool:
    return relative_error(guess, value) <= 0.02


LAB = ModelSizeLab()
