"""capstone-ai-product-manager: size a language model before anyone trains it.

The learner reads a model's description and enters three estimates a product manager must be able to
make: parameters, training compute, and training memory. Parameters are graded against the library's
built model; compute against the standard 6 x parameters x tokens rule; memory against 16 bytes per
parameter (float32 weights, gradients and Adam's two moment buffers; activations ignored).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from labs.catalog._counting import judge_estimate, relative_error
from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, RunContext
from labs.events import Finished
from labs.grading import CheckSpec
from labs.nn.language_models import TinyGPT

VOCAB, CONTEXT, LAYERS, HEADS, DIM = 65, 128, 4, 4, 128
TOKENS = 10_000_000
BYTES_PER_PARAM = 16  # weights + gradients + Adam m and v, all float32
PARAM_TOL, COST_TOL, ZERO_AT = 0.10, 0.25, 1.0
HINTS = {
    "parameters": "per block about 12 x dim^2 (attention 4 dim^2, MLP 8 dim^2), plus the token and position "
                  "embeddings and the output head",
    "train_flops": "training costs about 6 FLOPs per parameter per token (2 forward, 4 backward)",
    "train_memory_mb": "count weights, gradients and Adam's two buffers: 4 float32 numbers per parameter",
}


class Params(LabParams):
    parameters: int = Field(0, ge=0, le=10**13, description="your estimate of the model's parameter count")
    train_flops: float = Field(0.0, ge=0, le=1e30, description="your estimate of the training compute in FLOPs")
    train_memory_mb: float = Field(0.0, ge=0, le=1e12, description="your estimate of training memory in MB "
                                                                   "(1 MB = 10^6 bytes)")


class CapstoneAiProductManagerLab(Lab):
    id = "capstone-ai-product-manager"
    title = "Capstone: size a language model before it is built"
    node_id = "ai-product-manager"
    dataset = "none"
    description = (
        f"Your team proposes a character-level transformer: a vocabulary of {VOCAB} characters, a context "
        f"of {CONTEXT}, **{LAYERS} transformer blocks** of width **{DIM}** ({HEADS} heads, MLP 4x wider), "
        f"learned token and position embeddings, a final LayerNorm and an output layer, trained with Adam "
        f"in float32 on **{TOKENS:,} tokens**. Estimate its **parameters** (within {PARAM_TOL:.0%}), its "
        f"**training compute** in FLOPs and its **training memory** in MB for weights, gradients and "
        f"optimiser state (each within {COST_TOL:.0%})."
    )
    Params = Params
    naive = "no estimate yet (every answer 0)"
    failure_modes = (
        FailureMode(id="no-estimate", label="no estimate was entered", explanation="Every answer was 0: "
                    "enter your estimates as parameters (parameters=..., train_flops=..., train_memory_mb=...)."),
        FailureMode(id="parameters-off", label="the parameter count is off: a block or the embeddings miscounted",
                    explanation="Per block: attention has 4 dim^2 weights (query, key, value, output), the "
                    "MLP 8 dim^2 (dim -> 4 dim -> dim), so about 12 dim^2; then add the token and position "
                    "embeddings and the output layer (vocabulary x dim each, context x dim)."),
        FailureMode(id="forward-only-flops", label="the compute counted the forward pass only",
                    explanation="Training costs about 6 FLOPs per parameter per token: 2 for the forward "
                    "pass and 4 for the backward pass (a gradient for the inputs and one for the weights)."),
        FailureMode(id="weights-only-memory", label="the memory counted the weights only",
                    explanation="Training with Adam keeps four float32 numbers per parameter: the weight, "
                    "its gradient and Adam's two moment estimates: 16 bytes per parameter."),
    )
    checks = (
        CheckSpec(id="parameters", title=f"Parameters within {PARAM_TOL:.0%}", points=40, required=True),
        CheckSpec(id="train_flops", title=f"Training FLOPs within {COST_TOL:.0%}", points=30),
        CheckSpec(id="train_memory_mb", title=f"Training memory within {COST_TOL:.0%}", points=30),
    )
    pass_mark = 70.0
    time_limit_s = 60.0
    unit = "step"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        ctx.start(total_steps=1)
        model = TinyGPT(VOCAB, CONTEXT, n_layer=LAYERS, n_head=HEADS, dim=DIM, rng=np.random.default_rng(0))
        n = model.num_parameters()
        truth = {"parameters": n, "train_flops": 6.0 * n * TOKENS, "train_memory_mb": n * BYTES_PER_PARAM / 1e6}
        guess = params.model_dump()
        results = [judge_estimate(ctx, name, value, truth[name], hint=HINTS[name], zero_at=ZERO_AT,
                                  tolerance=PARAM_TOL if name == "parameters" else COST_TOL)
                   for name, value in guess.items()]
        errors = {f"{k}_error": relative_error(guess[k], truth[k]) for k in guess}
        ctx.progress(1, errors)
        return Outcome(results=results, metrics=errors)


    def diagnose(self, params: Params, finished: Finished) -> str | None:
        """The estimates are the evidence: the first one outside its tolerance names the slip, with the
        two classic ones (forward-only compute, weights-only memory) recognised by their value."""
        if finished.status == "passed":
            return None
        if not (params.parameters or params.train_flops or params.train_memory_mb):
            return "no-estimate"
        n = TinyGPT(VOCAB, CONTEXT, n_layer=LAYERS, n_head=HEADS, dim=DIM, rng=np.random.default_rng(0)).num_parameters()
        if relative_error(params.parameters, n) > PARAM_TOL:
            return "parameters-off"
        if relative_error(params.train_flops, 6.0 * n * TOKENS) > COST_TOL:
            return "forward-only-flops"
        if relative_error(params.train_memory_mb, n * BYTES_PER_PARAM / 1e6) > COST_TOL:
            return "weights-only-memory"
        return None


LAB = CapstoneAiProductManagerLab()
