"""bpe-tokens: the vocabulary size against bytes per token and against a model's bits per character.

The lab trains a byte-level BPE tokenizer (labs.tokenizer, GPT-2's pre-tokens) on the first 45 KB of tiny
Shakespeare, once at the largest size of SWEEP (a smaller vocabulary is a prefix of the merges), and
measures bytes per token on the validation text at every size of the sweep. Then it trains one small
ModernLM for TRAIN_STEPS steps on the tokens of the learner's vocabulary size and scores it in bits per
character, the unit that compares tokenizers:

    bits per character = (total validation nats) / (validation characters * ln 2)

Loss per token is shown too, to see why it misleads: it is lowest for raw bytes, whose tokens are the
easiest to predict one at a time, while the same steps on merged tokens cover two to three times the text
and reach far fewer bits per character. The defaults are that mistake: the 256 raw bytes.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
from pydantic import Field

from labs.catalog._lm_step import lm_step
from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, RunContext
from labs.datasets import load_text
from labs.events import Finished
from labs.grading import CheckSpec, partial_credit
from labs.nn import AdamW, SequenceCrossEntropy, WarmupCosine
from labs.nn.data import get_batch
from labs.nn.modern import ModernLM
from labs.tokenizer import Tokenizer

N_CHARS = 50_000
SWEEP = (256, 512, 1024, 2048, 4096)
TRAIN_STEPS, BATCH, CONTEXT, WIDTH, LAYERS, HEADS, WARMUP, EVAL_EVERY = 250, 16, 32, 48, 2, 4, 20, 25
TARGET_BPC = 2.9  # full marks (and required); bytes reach ~3.3 in these steps, 512-2048 tokens ~2.6-2.7
FLOOR_BPC = 4.0  # no marks
RARE_COUNT, MIN_COMMON_SHARE = 5, 0.5  # a merged token seen fewer than 5 times in training is rare


class Params(LabParams):
    vocab_size: int = Field(256, ge=256, le=4096, description="tokens: the 256 bytes plus vocab_size - 256 merges")
    lr: float = Field(0.01, gt=0, le=1, description="AdamW learning rate (peak, after warm-up)")
    steps: int = Field(TRAIN_STEPS, ge=10, le=1000, description="training steps, each on 16 windows of 32 tokens")


class BpeTokensLab(Lab):
    id = "bpe-tokens"
    title = "BPE: vocabulary size, bytes per token and bits per character"
    node_id = "tokenization"
    dataset = "tinyshakespeare"
    description = (
        "Train a **byte-level BPE** tokenizer on 45 KB of Shakespeare and see how many bytes a token holds at "
        f"vocabularies of {', '.join(map(str, SWEEP))}. Then a small modern transformer trains on the tokens of "
        "your vocabulary size, with the same steps, windows and width whatever the size. It is judged in "
        f"**bits per character** (pass at {TARGET_BPC}), the unit that compares tokenizers; its loss per token "
        "is shown too, to see why that one misleads."
    )
    naive = "the 256 raw bytes, whose loss per token is the lowest of all"
    good_settings = {"vocab_size": 1024}
    failure_modes = (
        FailureMode(id="loss-per-token", label="loss per token was the guide: bytes look best by it",
                    explanation="A byte is easy to predict one at a time, so its loss per token is low, but "
                    "the same steps and windows on merged tokens cover two to three times the text. Compare in "
                    "bits per character, loss per token / (ln 2 * characters per token), and merge: a few "
                    "hundred to a couple of thousand tokens suit this much text."),
        FailureMode(id="vocab-too-large", label="too many tokens for this much text: most are rare",
                    explanation="Each merged token needs examples for its embedding and its output row; on "
                    "45 KB a vocabulary of thousands leaves many tokens seen a handful of times. Shrink the "
                    "vocabulary until most merged tokens are common."),
        FailureMode(id="undertrained", label="the model had too few steps or too small a rate to learn",
                    explanation="Whatever the tokenizer, a model needs enough updates: keep the default 250 "
                    "steps at a rate near 0.01."),
        FailureMode(id="lr-too-large", label="the learning rate is so large that training diverged",
                    explanation="Each step overshoots; lower the rate towards 0.01."),
    )
    Params = Params
    checks = (
        CheckSpec(id="bits-per-char", title=f"Validation bits per character at or below {TARGET_BPC}", points=70,
                  required=True),
        CheckSpec(id="sweep", title="Bytes per token measured over the sweep: more merges, longer tokens", points=15),
        CheckSpec(id="common-tokens", title=f"Most merged tokens seen at least {RARE_COUNT} times in training",
                  points=15),
    )
    pass_mark = 70.0
    time_limit_s = 90.0
    unit = "step"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        corpus = load_text(N_CHARS)
        cut = int(len(corpus.text) * 0.9)
        train_text, val_text = corpus.text[:cut], corpus.text[cut:]
        ctx.start(total_steps=params.steps, dataset_hash=corpus.sha256)
        big = Tokenizer.train(train_text, max(max(SWEEP), params.vocab_size))
        sweep = {}
        for size in sorted(set(SWEEP) | {params.vocab_size}):
            tok = _prefix(big, size)
            sweep[size] = len(val_text.encode("utf-8")) / len(tok.encode(val_text))
        tok = _prefix(big, params.vocab_size)
        train_ids = np.asarray(tok.encode(train_text), dtype=np.int64)
        val_ids = np.asarray(tok.encode(val_text), dtype=np.int64)
        model, train_loss = self._train(train_ids, params, ctx)
        nats, counted = _val_nats(model, val_ids)
        ctx.save_model(model, architecture={"kind": "modern-lm", "vocab_size": params.vocab_size, "context": CONTEXT,
                                            "n_layer": LAYERS, "n_head": HEADS, "dim": WIDTH},
                       tokenizer=bpe_tokenizer(tok))
        chars = len(tok.decode(val_ids[1:counted + 1].tolist()))
        bpc = nats * counted / (chars * math.log(2))
        common = _common_share(train_ids, params.vocab_size)
        table = "\n".join(f"vocab {s:>5}: {b:.2f} bytes per token" for s, b in sorted(sweep.items()))
        ctx.sample(params.steps, f"bytes per token on the validation text:\n{table}\n\nyour model, vocab "
                   f"{params.vocab_size}: {nats:.3f} nats per token, {bpc:.3f} bits per character")
        return self._grade(ctx, params, bpc, nats, train_loss, sweep, common)

    def _train(self, ids: np.ndarray, params: Params, ctx: RunContext) -> tuple[ModernLM, float]:
        model = ModernLM(params.vocab_size, CONTEXT, n_layer=LAYERS, n_head=HEADS, dim=WIDTH, rng=ctx.rng)
        weights = model.parameters()
        opt, loss_fn = AdamW(weights, lr=params.lr), SequenceCrossEntropy()
        schedule = WarmupCosine(lr=params.lr, total_steps=params.steps, warmup_steps=min(WARMUP, params.steps - 1),
                                min_lr=params.lr / 10)
        recent, train_loss = [], float("nan")
        for step in range(1, params.steps + 1):
            x, y = get_batch(ids, BATCH, CONTEXT, ctx.rng)
            loss = lm_step(model, loss_fn, opt, weights, x, y, lr=schedule.lr_at(step - 1),
                           guard=lambda value: ctx.guard(step, "train_loss", value, blow_up=50.0))
            recent.append(loss)
            stop = ctx.deadline_reached(step, params.steps)
            if step % EVAL_EVERY == 0 or step == params.steps or stop:
                train_loss = float(np.mean(recent))
                ctx.progress(step, {"train_loss": train_loss})
                recent = []
            if stop:
                break
        model.eval()
        return model, train_loss

    def _grade(self, ctx: RunContext, params: Params, bpc: float, nats: float, train_loss: float,
               sweep: dict[int, float], common: float) -> Outcome:
        sizes = sorted(sweep)
        rising = all(sweep[a] < sweep[b] for a, b in zip(sizes, sizes[1:]))
        results = [
            ctx.check("bits-per-char", partial_credit(bpc, FLOOR_BPC, TARGET_BPC),
                      f"{bpc:.3f} bits per character (pass at {TARGET_BPC}), from {nats:.3f} nats per token"
                      + ("." if bpc <= TARGET_BPC else "; per token the loss may look fine, per character it "
                         "is not: compare tokenizers in bits per character.")),
            ctx.check("sweep", rising, f"bytes per token from {sweep[sizes[0]]:.2f} (vocab {sizes[0]}) to "
                      f"{sweep[sizes[-1]]:.2f} (vocab {sizes[-1]})."),
            ctx.check("common-tokens", common >= MIN_COMMON_SHARE,
                      f"{common:.0%} of the merged tokens occur at least {RARE_COUNT} times in training"
                      + ("." if common >= MIN_COMMON_SHARE else ": most are rare; a smaller vocabulary suits "
                         "this much text.")),
        ]
        metrics = {"bits_per_char": bpc, "val_loss": nats, "train_loss": train_loss,
                   "bytes_per_token": sweep[params.vocab_size], "common_token_share": common}
        for size in SWEEP:
            metrics[f"bytes_per_token_{size}"] = sweep[size]
        return Outcome(results=results, metrics=metrics)

    def diagnose(self, params: Params, finished: Finished) -> str | None:
        """Diverged: the rate. Too few common tokens: the vocabulary. Raw bytes (little compression):
        the loss-per-token trap. Otherwise: the training."""
        if finished.status == "passed":
            return None
        if "diverged_at_step" in finished.metrics:
            return "lr-too-large"
        if finished.metrics.get("common_token_share", 1.0) < MIN_COMMON_SHARE:
            return "vocab-too-large"
        if finished.metrics.get("bytes_per_token", 2.0) < 1.5:
            return "loss-per-token"
        return "undertrained"


def bpe_tokenizer(tok: Tokenizer) -> dict:
    """A BPE model's tokenizer as a stored model records it: the Tokenizer's documented save format."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tokenizer.txt"
        tok.save(path)
        text = path.read_text(encoding="utf-8")
    return {"kind": "bpe", "vocab_size": len(tok), "text": text}


def _prefix(big: Tokenizer, size: int) -> Tokenizer:
    """The tokenizer of the first size - 256 merges of `big` (BPE's merges are learned in order)."""
    merges = big.merges[:size - 256]
    vocab = {i: big.vocab[i] for i in range(256)}
    for a, b in merges:
        vocab[len(vocab)] = a + b
    return Tokenizer(vocab, merges)


def _val_nats(model: ModernLM, ids: np.ndarray) -> tuple[float, int]:
    """Mean nats per token over the validation tokens read in windows of CONTEXT, and how many were scored."""
    n = (len(ids) - 1) // CONTEXT * CONTEXT
    xs, ys = ids[:n].reshape(-1, CONTEXT), ids[1:n + 1].reshape(-1, CONTEXT)
    loss_fn, total = SequenceCrossEntropy(), 0.0
    for i in range(0, len(xs), 32):
        total += loss_fn.forward(model.forward(xs[i:i + 32]), ys[i:i + 32]) * ys[i:i + 32].size
    return total / ys.size, int(ys.size)


def _common_share(ids: np.ndarray, vocab_size: int) -> float:
    """Share of the merged tokens (ids >= 256) seen at least RARE_COUNT times; 1 when there are none."""
    if vocab_size <= 256:
        return 1.0
    counts = np.bincount(ids, minlength=vocab_size)[256:]
    return float(np.mean(counts >= RARE_COUNT))


LAB = BpeTokensLab()
