"""capstone-llm-engineer: a modern language model on BPE tokens, trained to a validation target in bits per
character within a time budget, and generating through its KV cache.

The pieces of Tokenization, The modern transformer and Decoding together: a byte-level BPE tokenizer
(VOCAB entries) trained on the training split of 400 KB of Shakespeare, a ModernLM (RMSNorm, SwiGLU,
rotary positions; optionally tied) trained with AdamW, warm-up and a cosine (or constant) rate, judged in
bits per character on the validation split:

    bits per character = (total validation nats over the scored tokens) / (their characters * ln 2)

(metrics val_loss and train_loss are in nats per CHARACTER, as the character labs' are, so the app compares
them; the per-token losses are kept beside them), then sampled with top-k and temperature through the KV
cache (labs.nn.decoding.generate), whose logits must equal the full forward pass's. Training stops at the
budget, BUDGET_S seconds of this process's CPU time (a busy machine slows the clock on the wall, not this
one), and is graded on what it reached. The defaults are a beginner's recipe: the rate often quoted for
Adam, 3e-4, held constant, which in this budget leaves the model far from the target.
Calibration: benchmarks/CALIBRATION.md (python benchmarks/calibrate_labs.py --labs capstone-llm-engineer).
"""

from __future__ import annotations

import math
import time
from typing import Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from labs.catalog._lm_step import lm_step
from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, RunContext
from labs.catalog.bpe_tokens import bpe_tokenizer
from labs.catalog.modern_lm import val_bits_per_char
from labs.datasets import load_text
from labs.events import Finished
from labs.grading import CheckSpec, partial_credit
from labs.nn import AdamW, SequenceCrossEntropy, WarmupCosine
from labs.nn.data import get_batch
from labs.nn.decoding import generate
from labs.nn.modern import ModernLM
from labs.tokenizer import Tokenizer

N_CHARS, VOCAB, BATCH, EVAL_EVERY, TOP_K, TEMPERATURE = 400_000, 512, 16, 50, 20, 0.8
TARGET_BPC = 2.7  # full marks (and required); calibration: benchmarks/CALIBRATION.md
FLOOR_BPC = 3.6  # no marks
MAX_GAP = 0.15  # validation minus training loss, in nats per character, above this is overfitting
CACHE_TOL = 1e-4  # float32: the cached logits against the full pass's
BUDGET_S = 60.0  # training CPU seconds allowed (this process's, so other jobs on the machine do not count)
TIME_LIMIT_S = 300.0  # the runner's wall-clock limit: the budget on a busy machine, the tokenizer, evaluation


class Params(LabParams):
    """The model's size (layers, width, heads, context; heads of even width), the optimiser's recipe, and
    tying; the tokenizer is fixed at 512 BPE tokens."""

    layers: int = Field(2, ge=1, le=6, description="modern blocks (RMSNorm, rotary attention, SwiGLU)")
    width: int = Field(48, ge=16, le=256, description="features per token; heads must divide it into even widths")
    heads: int = Field(4, ge=1, le=16, description="attention heads")
    context: int = Field(32, ge=8, le=256, description="tokens per training window")
    lr: float = Field(0.0003, gt=0, le=10, description="AdamW peak learning rate")
    steps: int = Field(600, ge=1, le=20000, description=f"training steps, each on {BATCH} windows")
    warmup: int = Field(0, ge=0, le=5000, description="steps of linear warm-up from 0 to lr")
    schedule: Literal["cosine", "constant"] = Field("constant", description="after warm-up: anneal to lr/10, or keep lr")
    weight_decay: float = Field(0.0, ge=0, le=1, description="AdamW decoupled decay: each step w *= 1 - lr * wd")
    tie_weights: bool = Field(False, description="the output matrix is the embedding table's transpose")

    @field_validator("heads")
    @classmethod
    def _heads_split_width_evenly(cls, heads: int, info: ValidationInfo) -> int:
        width = info.data.get("width")
        if width is not None and (width % heads or (width // heads) % 2):
            raise ValueError(f"width {width} does not split into {heads} heads of even width (rotary positions "
                             "turn pairs of features); choose heads dividing the width into an even number")
        return heads


class CapstoneLlmEngineerLab(Lab):
    id = "capstone-llm-engineer"
    title = "Capstone: a modern LM on BPE tokens, to a target in bits per character"
    node_id = "llm-engineer"
    dataset = "tinyshakespeare"
    description = (
        f"Train a **modern transformer** (RMSNorm, SwiGLU, rotary positions) on **{VOCAB} BPE tokens** of 360 KB of "
        f"Shakespeare to **{TARGET_BPC} bits per character** on the validation text within a **{BUDGET_S:g} s** "
        "training budget (CPU time), then let it write through its **KV cache**. Size the model, set the rate, its warm-up "
        "and schedule, AdamW's decay and tying; keep the validation loss close to the training loss."
    )
    naive = "the rate often quoted for Adam, 3e-4, held constant: far too slow for this budget"
    good_settings = {"lr": 0.01, "warmup": 50, "schedule": "cosine", "weight_decay": 0.1}
    failure_modes = (
        FailureMode(id="lr-too-small", label="the rate is too small: the model was still far from learned",
                    explanation="3e-4 suits big models trained for days; a small model in a few hundred steps needs "
                    "a larger peak, about 0.01, with a short warm-up and a cosine down to a tenth of it."),
        FailureMode(id="lr-too-large", label="the learning rate is so large that training diverged",
                    explanation="Each step overshoots and the loss explodes; lower the peak rate towards 0.01 and "
                    "keep a warm-up."),
        FailureMode(id="over-budget", label="the plan did not fit the time budget: training was cut short",
                    explanation=f"The budget stopped training before the last step, and the cosine never annealed. "
                    f"Plan fewer steps, or a smaller model, so every step fits in {BUDGET_S:g} s."),
        FailureMode(id="overfits", label="the model memorised the training text",
                    explanation="Validation loss far above training loss: add weight decay, tie the embeddings, "
                    "or train fewer steps on this much text."),
    )
    Params = Params
    checks = (
        CheckSpec(id="bits-per-char", title=f"Validation bits per character at or below {TARGET_BPC}", points=60,
                  required=True),
        CheckSpec(id="kv-cache", title="Generation through the KV cache gives the full pass's logits", points=10),
        CheckSpec(id="generalises", title=f"Validation - training loss at most {MAX_GAP} nats per character",
                  points=15),
        CheckSpec(id="time-budget", title=f"Trains every planned step within {BUDGET_S:g} s of CPU time", points=15),
    )
    pass_mark = 70.0
    time_limit_s = TIME_LIMIT_S
    unit = "step"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        corpus = load_text(N_CHARS)
        cut = int(len(corpus.text) * 0.9)
        train_text, val_text = corpus.text[:cut], corpus.text[cut:]
        ctx.start(total_steps=params.steps, dataset_hash=corpus.sha256)
        tok = Tokenizer.train(train_text, VOCAB)
        train_ids = np.asarray(tok.encode(train_text), dtype=np.int64)
        val_ids = np.asarray(tok.encode(val_text), dtype=np.int64)
        model = ModernLM(VOCAB, params.context, n_layer=params.layers, n_head=params.heads, dim=params.width,
                         tie_weights=params.tie_weights, rng=ctx.rng)
        train_loss, done, stopped = self._train(model, train_ids, params, ctx)
        val_nats, bpc = val_bits_per_char(model, tok, val_ids, params.context)
        prompt = val_ids[None, : min(8, params.context // 2)]
        cache_error = cached_logit_error(model, val_ids[None, : params.context])
        text = tok.decode(generate(model, prompt, params.context - prompt.shape[1], ctx.rng, temperature=TEMPERATURE,
                                   top_k=TOP_K, use_cache=True)[0].tolist())  # through the cache, up to the context
        ctx.sample(done, text)
        ctx.save_model(model, architecture={"kind": "modern-lm", "vocab_size": VOCAB, "context": params.context,
                                            "n_layer": params.layers, "n_head": params.heads, "dim": params.width,
                                            "tie_weights": params.tie_weights},
                       tokenizer=bpe_tokenizer(tok))
        chars_per_token = len(train_text) / len(train_ids)  # training losses per token -> per character
        val_char, train_char = bpc * math.log(2), train_loss / chars_per_token
        gap = val_char - train_char
        results = [
            ctx.check("bits-per-char", partial_credit(bpc, FLOOR_BPC, TARGET_BPC),
                      f"{bpc:.3f} bits per character on the validation text (pass at {TARGET_BPC}), "
                      f"{val_nats:.3f} nats per token" + ("." if bpc <= TARGET_BPC else
                                                          "; tune the rate, its warm-up and schedule, or the size.")),
            ctx.check("kv-cache", cache_error <= CACHE_TOL,
                      f"cached decoding's logits within {cache_error:.1e} of the full pass at every position."),
            ctx.check("generalises", partial_credit(gap, 2 * MAX_GAP, MAX_GAP),
                      f"validation exceeds training loss by {gap:.3f} nats per character"
                      + ("." if gap <= MAX_GAP else "; the model memorises: weight decay, tying or fewer steps.")),
            ctx.check("time-budget", not stopped,
                      f"{done} steps trained" + (f" within {BUDGET_S:g} s of CPU time." if not stopped
                                                 else f" before the {BUDGET_S:g} s budget ran out.")),
        ]
        metrics = {"bits_per_char": bpc, "val_loss": val_char, "train_loss": train_char,
                   "val_loss_per_token": val_nats, "train_loss_per_token": train_loss,
                   "max_logit_error": cache_error, "parameters": model.num_parameters(), "steps_done": done,
                   "stopped_by_budget": float(stopped), "tokens_seen": done * BATCH * params.context}
        return Outcome(results=results, metrics=metrics)

    def _train(self, model: ModernLM, ids: np.ndarray, params: Params, ctx: RunContext) -> tuple[float, int, bool]:
        """(last training loss in nats per token, steps done, stopped by the budget)."""
        weights = model.parameters()
        opt, loss_fn = AdamW(weights, lr=params.lr, weight_decay=params.weight_decay), SequenceCrossEntropy()
        final = params.lr / 10 if params.schedule == "cosine" else params.lr
        schedule = WarmupCosine(lr=params.lr, total_steps=params.steps,
                                warmup_steps=min(params.warmup, params.steps - 1), min_lr=final)
        start, recent, train_loss, step = time.process_time(), [], float("nan"), 0
        stopped = False
        for step in range(1, params.steps + 1):
            x, y = get_batch(ids, BATCH, params.context, ctx.rng)
            loss = lm_step(model, loss_fn, opt, weights, x, y,
                           lr=schedule.lr_at(step - 1),  # "constant": the cosine from lr to lr
                           guard=lambda value: ctx.guard(step, "train_loss", value, blow_up=50.0))
            recent.append(loss)
            stopped = time.process_time() - start > BUDGET_S and step < params.steps
            stop = stopped or ctx.deadline_reached(step, params.steps)
            if step % EVAL_EVERY == 0 or step == params.steps or stop:
                train_loss = float(np.mean(recent))
                ctx.progress(step, {"train_loss": train_loss, "lr": opt.lr})
                recent = []
            if stop:
                break
        model.eval()
        return train_loss, step, stopped

    def diagnose(self, params: Params, finished: Finished) -> str | None:
        """Diverged: the rate. Cut by the clock: the budget. A wide gap: overfitting. Otherwise too slow a rate."""
        if finished.status == "passed":
            return None
        m = finished.metrics
        if "diverged_at_step" in m:
            return "lr-too-large"
        if m.get("stopped_by_budget", 0.0) > 0 or finished.stopped_at_limit:
            return "over-budget"
        if m.get("val_loss", 0.0) - m.get("train_loss", 0.0) > MAX_GAP:
            return "overfits"
        return "lr-too-small"


def add_residual_dropout(model, p: float, rng: np.random.Generator):
    """GPT-2's residual dropout on a TinyGPT (each block's attention and MLP outputs pass a Dropout before
    they join the stream; off in eval mode). The capstone trained TinyGPTs so before it moved to the modern
    model; models stored then are rebuilt with it (labs.catalog._models)."""
    from labs.nn import Dropout, Sequential

    if p > 0:
        for block in model.children["blocks"].children.values():
            for branch_end in ("attn", "proj"):
                block.children[branch_end] = Sequential(block.children[branch_end], Dropout(p, rng=rng))
    return model


def cached_logit_error(model: ModernLM, ids: np.ndarray) -> float:
    """Largest |logit| difference between decoding ids (1, T) one token at a time through the KV cache and
    the full forward pass, over every position."""
    full = model.forward(ids)
    cache = model.new_cache(1, ids.shape[1])
    steps = [model.forward_cached(ids[:, t:t + 1], cache) for t in range(ids.shape[1])]
    return float(np.max(np.abs(np.concatenate(steps, axis=1) - full)))


LAB = CapstoneLlmEngineerLab()
