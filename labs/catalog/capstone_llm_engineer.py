"""capstone-llm-engineer: train the tiny GPT to a strict validation loss, under a time budget.

The transformer-chars lab on the same 50 KB of Shakespeare (so results compare), with the knobs an LLM
engineer turns: size (layers, width, heads, context), the learning rate with its warm-up and schedule,
AdamW's weight decay and residual dropout. The bar is stricter than transformer-chars' 1.95, and the
harder yardstick is the interpolated Kneser-Ney 4-gram (~1.67 nats/char on this split), not add-k.
Training stops at the budget and is graded on what it reached, so a busy machine costs the budget
check's 15 points, never the run: on target and within the gap, that still passes at 70.

Calibration (defaults, seeds 1-10, two seeds at a time on the shared 2-core machine at load 3.4-3.9,
single-threaded BLAS as the runner sets it):

    seed       1     2     3     4     5     6     7     8     9     10
    val loss 1.713 1.730 1.724 1.728 1.717 1.732 1.725 1.733 1.706 1.730
    run s      88    90    96    94    79    78    93    92    90   91

10/10 pass at 85 (all but the Kneser-Ney check), 78-96 s of the 180 s budget; without dropout and decay
the same model overfits (3000 steps: train 1.19, val 1.90, best 1.79 on the way). Beating Kneser-Ney
(1.669) takes engineering: width 96 with the default regularisers reached 1.653 in 2500 steps (136 s)
but with a 0.26 gap, so more dropout or fewer steps. Failing as they should: lr=10 (diverges
at once), lr=1e-5 (3.25), steps=200 (2.35).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from labs.catalog._language import (LoopConfig, LoopResult, chars_tokenizer, generalisation_check,
                                    train_language_model)
from labs.catalog._ngram import validation_losses
from labs.catalog.base import Lab, Outcome, RunContext
from labs.catalog.transformer_chars import BATCH, N_CHARS, NGRAM_ORDER
from labs.catalog.transformer_chars import Params as TransformerParams
from labs.datasets import load_text
from labs.grading import CheckSpec, partial_credit
from labs.nn import Dropout, Sequential
from labs.nn.language_models import TinyGPT

TARGET_VAL_LOSS = 1.75  # full marks (and required); the defaults reach 1.71-1.73
FLOOR_VAL_LOSS = 2.10  # no marks: transformer-chars' level, not an engineer's
MAX_GAP = 0.15  # validation minus training loss above this is overfitting
BUDGET_S = 180.0  # training wall-clock allowed; the run stops here and is graded on what it reached
TIME_LIMIT_S = 240.0  # the runner's hard limit: the budget plus n-gram counts, evaluation and samples


class Params(TransformerParams):
    """transformer-chars' knobs (layers, width, heads, context, lr; heads must divide the width), longer
    training, and the regularisers a model this size needs on 45 KB of text."""

    steps: int = Field(2000, ge=1, le=50000, description="training steps, each on 16 windows of `context` characters")
    warmup: int = Field(100, ge=0, le=5000, description="steps of linear warm-up from ~0 to lr")
    schedule: Literal["cosine", "constant"] = Field("cosine", description="after warm-up: anneal to lr/10, or keep lr")
    weight_decay: float = Field(0.1, ge=0, le=1, description="AdamW decoupled decay: each step w *= 1 - lr * wd")
    dropout: float = Field(0.2, ge=0, lt=0.9, description="residual dropout in every block, training only")


def add_residual_dropout(model: TinyGPT, p: float, rng: np.random.Generator) -> TinyGPT:
    """GPT-2's residual dropout: each block's attention and MLP outputs pass a Dropout before they are
    added to the stream, so no single path through the network can be memorised. Off in eval mode."""
    if p > 0:
        for block in model.children["blocks"].children.values():
            for branch_end in ("attn", "proj"):
                block.children[branch_end] = Sequential(block.children[branch_end], Dropout(p, rng=rng))
    return model


class CapstoneLlmEngineerLab(Lab):
    id = "capstone-llm-engineer"
    title = "Capstone: a tiny GPT to a strict validation loss"
    node_id = "llm-engineer"
    dataset = "tinyshakespeare"
    description = (
        f"Train the tiny GPT on 45 KB of Shakespeare to a validation loss of **{TARGET_VAL_LOSS:.2f} nats per "
        f"character** (transformer-chars asked for 1.95) within a **{BUDGET_S:g} s** training budget. Size the "
        "model (layers, width, heads, context), set the learning rate, its warm-up and schedule, AdamW's weight "
        "decay and dropout. The yardstick is the Kneser-Ney 4-gram, the best classic counting model: beat it "
        "without letting the validation loss drift far above the training loss."
    )
    Params = Params
    checks = (
        CheckSpec(id="val-loss", title=f"Validation loss at or below {TARGET_VAL_LOSS:.2f}", points=60, required=True),
        CheckSpec(id="beats-kneser-ney", title="Validation loss beats the Kneser-Ney 4-gram", points=15),
        CheckSpec(id="generalises", title=f"Validation - training loss at most {MAX_GAP}", points=10),
        CheckSpec(id="time-budget", title=f"Trains every planned step within {BUDGET_S:g} s", points=15),
    )
    pass_mark = 70.0
    time_limit_s = TIME_LIMIT_S
    unit = "step"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        corpus = load_text(N_CHARS)
        add_k, kneser_ney = validation_losses(corpus.train, corpus.val, NGRAM_ORDER, corpus.vocab_size)
        model = TinyGPT(corpus.vocab_size, params.context, n_layer=params.layers, n_head=params.heads,
                        dim=params.width, rng=ctx.rng)
        add_residual_dropout(model, params.dropout, ctx.rng)
        ctx.start(total_steps=params.steps, dataset_hash=corpus.sha256)
        result = train_language_model(model, corpus, self._loop_config(params), ctx)
        metrics = {"train_loss": result.train_loss, "val_loss": result.val_loss,
                   "kneser_ney_val_loss": kneser_ney, "add_k_val_loss": add_k,
                   "parameters": model.num_parameters(), "steps_done": result.steps_done,
                   "tokens_seen": result.steps_done * BATCH * params.context}
        ctx.save_model(model, architecture={"kind": "tinygpt", "vocab_size": corpus.vocab_size,
                                            "context": params.context, "n_layer": params.layers,
                                            "n_head": params.heads, "dim": params.width,
                                            "residual_dropout": params.dropout},
                       tokenizer=chars_tokenizer(corpus))
        results = self._checks(ctx, result, kneser_ney)
        return Outcome(results=results, metrics=metrics)  # a run the clock cut short: ctx's feedback says so

    @staticmethod
    def _loop_config(params: Params) -> LoopConfig:
        return LoopConfig(
            steps=params.steps, batch=BATCH, seq_len=params.context, lr=params.lr,
            warmup=min(params.warmup, params.steps - 1), weight_decay=params.weight_decay,
            final_lr_ratio=0.1 if params.schedule == "cosine" else 1.0,
            eval_every=max(1, min(250, params.steps // 10)), sample_every=max(1, params.steps // 3),
            time_budget_s=BUDGET_S, limit_s=BUDGET_S,
        )

    @staticmethod
    def _checks(ctx: RunContext, result: LoopResult, kneser_ney: float) -> list:
        val = result.val_loss
        return [
            ctx.check("val-loss", partial_credit(val, FLOOR_VAL_LOSS, TARGET_VAL_LOSS),
                      f"validation loss {val:.3f} per character (pass at {TARGET_VAL_LOSS:.2f})"
                      + ("." if val <= TARGET_VAL_LOSS else "; train longer, or tune the rate and its schedule.")),
            ctx.check("beats-kneser-ney", val < kneser_ney,
                      f"validation loss {val:.3f} vs the Kneser-Ney 4-gram's {kneser_ney:.3f}."),
            generalisation_check(ctx, result, MAX_GAP, "weight decay, dropout or fewer steps"),
            ctx.check("time-budget", not result.stopped_early,
                      f"{result.steps_done} steps trained"
                      + (f" within {BUDGET_S:g} s." if not result.stopped_early
                         else f" before the {BUDGET_S:g} s budget ran out.")),
        ]


LAB = CapstoneLlmEngineerLab()
