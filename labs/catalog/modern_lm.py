"""modern-lm: a GPT-2-style block against a modern one at equal compute, on BPE tokens, in bits per character.

Both models read the same BPE tokens of tiny Shakespeare (a 512-entry byte-level vocabulary trained on
the training split), have the same width, depth, heads and context, and train on the SAME batches with
the same AdamW, warm-up and cosine schedule, in one loop. They differ only in the block:

    GPT-2 style   learned positions; h = x + attn(LN(x)); y = h + W2 GELU(W1 LN(h))      (biases, LN's beta)
    modern        RoPE on q and k;    h = x + attn(RMS(x)); y = h + W2 (SiLU(W1 RMS(h)) * W3 RMS(h))

A block costs what its matrices cost (about 6 multiply-adds per weight per token, forward and backward),
so "equal compute" is equal block parameters: GPT-2's MLP has 2 * C * 4C weights, SwiGLU's three
matrices 3 * C * F, equal when F = 8C/3. The defaults are the classic mistake of keeping GPT-2's 4C
hidden width in SwiGLU: a third more weights per block, so any win proves nothing. Scores are in bits
per character, total validation nats / (characters * ln 2), so tokenizers and models compare fairly.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import Field

from labs.catalog._lm_step import lm_step
from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, RunContext
from labs.catalog.bpe_tokens import bpe_tokenizer
from labs.datasets import load_text
from labs.events import Finished
from labs.grading import CheckSpec, partial_credit
from labs.nn import AdamW, SequenceCrossEntropy, WarmupCosine
from labs.nn.data import get_batch
from labs.nn.language_models import TinyGPT
from labs.nn.modern import ModernBlock, ModernLM, default_ffn_dim
from labs.nn.attention import TransformerBlock
from labs.tokenizer import Tokenizer

N_CHARS = 50_000
VOCAB, CONTEXT, WIDTH, LAYERS, HEADS, BATCH, WARMUP, EVAL_EVERY = 512, 32, 48, 2, 4, 16, 20, 25
TARGET_BPC = 2.9  # full marks (and required) for the modern model; calibration: benchmarks/CALIBRATION.md
FLOOR_BPC = 4.0  # no marks
COMPUTE_TOLERANCE = 0.05  # block parameters within 5 % of GPT-2's count as equal compute


class Params(LabParams):
    ffn_dim: int = Field(4 * WIDTH, ge=8, le=512,
                         description=f"SwiGLU hidden width F (W1, W3: {WIDTH} x F, W2: F x {WIDTH}); GPT-2's MLP is "
                                     f"{4 * WIDTH} wide with two matrices")
    tie_weights: bool = Field(False, description="the modern model's output matrix is its embedding table")
    lr: float = Field(0.01, gt=0, le=1, description="AdamW learning rate (peak, after warm-up), both models")
    steps: int = Field(300, ge=10, le=1000, description=f"training steps, each on {BATCH} windows of {CONTEXT} tokens")


def block_parameters(ffn_dim: int, dim: int = WIDTH) -> tuple[int, int]:
    """(GPT-2-style, modern) parameters of one block: 12C^2 + 13C against 4C^2 + 3CF + 2C."""
    return TransformerBlock.count_parameters(dim), ModernBlock.count_parameters(dim, ffn_dim)


def train_bpe(text: str, vocab_size: int) -> Tokenizer:
    return Tokenizer.train(text, vocab_size)


def val_bits_per_char(model, tok: Tokenizer, ids: np.ndarray, context: int) -> tuple[float, float]:
    """(nats per token, bits per character) over the validation ids read in windows of `context`: the
    total nats of the scored tokens over the characters those tokens decode to, times 1/ln 2."""
    n = (len(ids) - 1) // context * context
    xs, ys = ids[:n].reshape(-1, context), ids[1:n + 1].reshape(-1, context)
    loss_fn, total = SequenceCrossEntropy(), 0.0
    for i in range(0, len(xs), 32):
        total += loss_fn.forward(model.forward(xs[i:i + 32]), ys[i:i + 32]) * ys[i:i + 32].size
    chars = len(tok.decode(ids[1:n + 1].tolist()))
    return total / ys.size, total / (chars * math.log(2))


class ModernLmLab(Lab):
    id = "modern-lm"
    title = "GPT-2-style vs modern block at equal compute, in bits per character"
    node_id = "modern-transformer"
    dataset = "tinyshakespeare"
    description = (
        f"Two transformers of width {WIDTH}, {LAYERS} layers and {HEADS} heads learn the same {VOCAB}-token BPE "
        "text of Shakespeare on the same batches: a **GPT-2-style** one (LayerNorm, GELU MLP, learned positions) "
        "and a **modern** one (RMSNorm, SwiGLU, rotary positions). Set the modern model so the comparison is "
        f"fair (**equal compute**: its blocks within {COMPUTE_TOLERANCE:.0%} of GPT-2's weights) and reach "
        f"**{TARGET_BPC} bits per character** with it; the GPT-2 model is the yardstick."
    )
    naive = "SwiGLU kept at GPT-2's 4C hidden width: a third more weights per block"
    good_settings = {"ffn_dim": default_ffn_dim(WIDTH)}
    failure_modes = (
        FailureMode(id="unequal-compute", label="the modern blocks have more (or fewer) weights than GPT-2's",
                    explanation="SwiGLU has three matrices where GPT-2's MLP has two, so at GPT-2's hidden width "
                    "4C it costs 12C^2 instead of 8C^2 and a win proves nothing. Equal compute needs 3CF = 8C^2, "
                    f"F = 8C/3: {default_ffn_dim(WIDTH)} here (LLaMA rounds it up to a multiple of 8)."),
        FailureMode(id="undertrained", label="too few steps or too small a rate: the model had not learned yet",
                    explanation="Both models need enough updates: keep about 300 steps at a rate near 0.01; "
                    "below that the bits per character are still falling when training stops."),
        FailureMode(id="lr-too-large", label="the learning rate is so large that training diverged",
                    explanation="Each step overshoots and the loss explodes; lower the rate towards 0.01."),
    )
    Params = Params
    checks = (
        CheckSpec(id="equal-compute", title=f"Modern blocks within {COMPUTE_TOLERANCE:.0%} of GPT-2's weights",
                  points=20, required=True),
        CheckSpec(id="bits-per-char", title=f"Modern model at or below {TARGET_BPC} bits per character", points=50,
                  required=True),
        CheckSpec(id="beats-gpt2", title="The modern model beats the GPT-2-style one in bits per character", points=30),
    )
    pass_mark = 70.0
    time_limit_s = 120.0
    unit = "step"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        corpus = load_text(N_CHARS)
        cut = int(len(corpus.text) * 0.9)
        train_text, val_text = corpus.text[:cut], corpus.text[cut:]
        ctx.start(total_steps=params.steps, dataset_hash=corpus.sha256)
        tok = train_bpe(train_text, VOCAB)
        train_ids = np.asarray(tok.encode(train_text), dtype=np.int64)
        val_ids = np.asarray(tok.encode(val_text), dtype=np.int64)
        gpt2 = TinyGPT(VOCAB, CONTEXT, n_layer=LAYERS, n_head=HEADS, dim=WIDTH, rng=ctx.rng)
        modern = ModernLM(VOCAB, CONTEXT, n_layer=LAYERS, n_head=HEADS, dim=WIDTH, ffn_dim=params.ffn_dim,
                          tie_weights=params.tie_weights, rng=ctx.rng)
        losses = self._train(gpt2, modern, train_ids, params, ctx)
        gpt2_nats, gpt2_bpc = val_bits_per_char(gpt2, tok, val_ids, CONTEXT)
        nats, bpc = val_bits_per_char(modern, tok, val_ids, CONTEXT)
        gpt2_block, modern_block = block_parameters(params.ffn_dim)
        ratio = modern_block / gpt2_block
        ctx.sample(params.steps, f"bits per character on the validation text: GPT-2-style {gpt2_bpc:.3f}, "
                   f"modern {bpc:.3f}\nweights per block: GPT-2-style {gpt2_block:,}, modern {modern_block:,} "
                   f"({ratio:.2f}x)")
        ctx.save_model(modern, architecture={"kind": "modern-lm", "vocab_size": VOCAB, "context": CONTEXT,
                                             "n_layer": LAYERS, "n_head": HEADS, "dim": WIDTH,
                                             "ffn_dim": params.ffn_dim, "tie_weights": params.tie_weights},
                       tokenizer=bpe_tokenizer(tok))
        fair = abs(ratio - 1) <= COMPUTE_TOLERANCE
        results = [
            ctx.check("equal-compute", fair, f"a modern block holds {modern_block:,} weights, a GPT-2-style one "
                      f"{gpt2_block:,} ({ratio:.2f}x)" + ("." if fair else "; at unequal compute the comparison "
                      "says nothing about the architectures: size SwiGLU's hidden width so 3CF = 8C^2.")),
            ctx.check("bits-per-char", partial_credit(bpc, FLOOR_BPC, TARGET_BPC),
                      f"modern model {bpc:.3f} bits per character (pass at {TARGET_BPC}), {nats:.3f} nats per token."),
            ctx.check("beats-gpt2", bpc < gpt2_bpc,
                      f"modern {bpc:.3f} vs GPT-2-style {gpt2_bpc:.3f} bits per character on the same batches."),
        ]
        metrics = {"bits_per_char": bpc, "gpt2_bits_per_char": gpt2_bpc, "val_loss": nats,
                   "gpt2_val_loss": gpt2_nats, "train_loss": losses[1], "gpt2_train_loss": losses[0],
                   "block_ratio": ratio, "parameters": modern.num_parameters(),
                   "gpt2_parameters": gpt2.num_parameters()}
        return Outcome(results=results, metrics=metrics)

    def _train(self, gpt2: TinyGPT, modern: ModernLM, ids: np.ndarray, params: Params,
               ctx: RunContext) -> tuple[float, float]:
        """Both models, one batch per step for the two, the same optimiser settings; (train losses)."""
        models = (gpt2, modern)
        weights = [m.parameters() for m in models]
        opts = [AdamW(w, lr=params.lr) for w in weights]
        loss_fns = [SequenceCrossEntropy(), SequenceCrossEntropy()]
        schedule = WarmupCosine(lr=params.lr, total_steps=params.steps, warmup_steps=min(WARMUP, params.steps - 1),
                                min_lr=params.lr / 10)
        recent: list[list[float]] = [[], []]
        means = (float("nan"), float("nan"))
        for step in range(1, params.steps + 1):
            x, y = get_batch(ids, BATCH, CONTEXT, ctx.rng)
            for i, (model, opt, loss_fn) in enumerate(zip(models, opts, loss_fns)):
                name = "train_loss" if i else "gpt2_train_loss"
                loss = lm_step(model, loss_fn, opt, weights[i], x, y, lr=schedule.lr_at(step - 1),
                               guard=lambda value: ctx.guard(step, name, value, blow_up=50.0))
                recent[i].append(loss)
            stop = ctx.deadline_reached(step, params.steps)
            if step % EVAL_EVERY == 0 or step == params.steps or stop:
                means = (float(np.mean(recent[0])), float(np.mean(recent[1])))
                ctx.progress(step, {"train_loss": means[1], "gpt2_train_loss": means[0]})
                recent = [[], []]
            if stop:
                break
        for m in models:
            m.eval()
        return means

    def diagnose(self, params: Params, finished: Finished) -> str | None:
        """Diverged: the rate. Unequal blocks: the compute. Otherwise the training was too short or too slow."""
        if finished.status == "passed":
            return None
        if "diverged_at_step" in finished.metrics:
            return "lr-too-large"
        gpt2_block, modern_block = block_parameters(params.ffn_dim)
        if abs(modern_block / gpt2_block - 1) > COMPUTE_TOLERANCE:
            return "unequal-compute"
        return "undertrained"


LAB = ModernLmLab()
