"""What the language labs share: text windows, validation loss, the training loop and text samples.

Not a lab (no LAB), so the catalogue skips it. The loop is Adam (AdamW when given a weight decay) with
a warm-up then cosine decay and global gradient-norm clipping, the recipe that trains both recurrent
nets and transformers without per-lab tuning. Evaluation and sampling run in eval mode (no dropout). It watches the clock: the schedule advances with whichever is further along, the
steps or the time budget, and the run stops when the budget (or the run's deadline, if sooner) is
spent, recorded through `ctx.cut_short` so the grade says so. On a slow or busy machine a
run therefore still anneals its learning rate and is graded on what it reached, never killed. When
the clock is not the limit (the defaults, on an idle machine), a seed gives bit-identical results.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from labs.catalog.base import RunContext
from labs.grading import CheckResult, partial_credit
from labs.datasets import TextCorpus
from labs.nn import AdamW, Layer, SequenceCrossEntropy, WarmupCosine, clip_grad_norm
from labs.nn.language_models import CharRNN

BLOW_UP_LOSS = 50.0  # nats per character; chance on 65 characters is ln 65 = 4.2
EVAL_STREAMS = 16  # the validation text is read as this many contiguous streams side by side


class LoopConfig(BaseModel):
    steps: int = Field(gt=0)
    batch: int = Field(gt=0)
    seq_len: int = Field(gt=1)
    lr: float = Field(gt=0)
    warmup: int = Field(ge=0)
    clip: float = Field(1.0, gt=0)
    weight_decay: float = Field(0.0, ge=0, description="AdamW's decoupled decay; 0 is plain Adam")
    final_lr_ratio: float = Field(0.1, gt=0, le=1, description="the cosine ends at lr * this; 1 keeps lr constant")
    eval_every: int = Field(gt=0)
    sample_every: int = Field(0, ge=0, description="0: one sample at the end only")
    time_budget_s: float = Field(gt=0, description="seconds this training may take, from its first step "
                                 "(never past the run's deadline)")
    limit_s: float | None = Field(None, description="the limit the budget stands for, named in the feedback "
                                  "when it stops training; None: the run's time limit")


@dataclass(frozen=True)
class LoopResult:
    train_loss: float  # mean over the last evaluation interval
    val_loss: float
    steps_done: int
    stopped_early: bool
    sample: str


def random_windows(ids: np.ndarray, batch: int, seq_len: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`batch` windows at random offsets: inputs (B, T) and the next character at each position (B, T)."""
    starts = rng.integers(0, len(ids) - seq_len, size=batch)
    windows = ids[starts[:, None] + np.arange(seq_len + 1)]
    return windows[:, :-1], windows[:, 1:]


def _in_eval_mode(fn):
    """Run `fn(model, ...)` with dropout (and any other training-only behaviour) off, then back on."""
    @functools.wraps(fn)
    def wrapper(model: Layer, *args, **kwargs):
        model.eval()
        try:
            return fn(model, *args, **kwargs)
        finally:
            model.train()
    return wrapper


@_in_eval_mode
def evaluate(model: Layer, ids: np.ndarray, seq_len: int) -> float:
    """Mean loss per character over `ids`, read as contiguous streams in chunks of `seq_len`.

    A CharRNN carries its state from chunk to chunk, so every character after the first is predicted
    from all the text before it in its stream; a transformer sees the chunk so far (its context).
    """
    rows = len(ids) // EVAL_STREAMS
    if rows < 2:
        raise ValueError(f"validation text of {len(ids)} characters is too short to evaluate")
    streams = ids[: rows * EVAL_STREAMS].reshape(EVAL_STREAMS, rows)
    loss_fn, total, count, state = SequenceCrossEntropy(), 0.0, 0, None
    for start in range(0, rows - 1, seq_len):
        x = streams[:, start : start + seq_len]
        y = streams[:, start + 1 : start + seq_len + 1]
        x = x[:, : y.shape[1]]
        if isinstance(model, CharRNN):
            logits = model.forward(x, initial_state=state)
            state = model.final_state
        else:
            logits = model.forward(x)
        total += loss_fn.forward(logits, y) * y.size
        count += y.size
    return total / count


@_in_eval_mode
def sample_text(model: Layer, corpus: TextCorpus, rng: np.random.Generator, n: int = 200,
                temperature: float = 0.8) -> str:
    """n characters generated after a newline (the start of a speech)."""
    prompt = corpus.encode("\n")[None, :]
    return corpus.decode(model.generate(prompt, n, rng, temperature)[0, 1:])


def train_language_model(model: Layer, corpus: TextCorpus, cfg: LoopConfig, ctx: RunContext, *,
                         step_offset: int = 0, emit_samples: bool = True) -> LoopResult:
    """Train on corpus.train, reporting train/val loss every `eval_every` steps (numbered from
    step_offset + 1, so several models can share one run's chart); returns the final figures.

    A loss that blows up (above BLOW_UP_LOSS, or non-finite) stops the run with `Diverged`, after the
    mean of the interval's finite losses is emitted at that step: the curve runs up to the stop."""
    params = model.parameters()
    opt = AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = WarmupCosine(lr=cfg.lr, total_steps=cfg.steps, warmup_steps=min(cfg.warmup, cfg.steps - 1),
                            min_lr=cfg.lr * cfg.final_lr_ratio)
    loss_fn, rng = SequenceCrossEntropy(), ctx.rng
    interval_losses: list[float] = []
    train_loss = val_loss = float("nan")
    # The budget, unless the run's deadline comes first (a runner's shorter limit): then that is the limit.
    budget, limit_s = cfg.time_budget_s, cfg.limit_s
    if ctx.remaining() < budget:
        budget, limit_s = max(ctx.remaining(), 1e-9), None
    step, stopped_early, t0 = 0, False, ctx.elapsed()
    for step in range(1, cfg.steps + 1):
        time_used = (ctx.elapsed() - t0) / budget
        opt.lr = schedule.lr_at(max(step - 1, int(time_used * cfg.steps)))
        x, y = random_windows(corpus.train, cfg.batch, cfg.seq_len, rng)
        opt.zero_grad()
        loss = loss_fn.forward(model.forward(x), y)
        if not loss <= BLOW_UP_LOSS:  # diverging (nan fails <= too): draw the curve up to this step first
            finite = [v for v in (*interval_losses, loss) if np.isfinite(v)]
            if finite:
                ctx.progress(step_offset + step, {"train_loss": float(np.mean(finite))}, split="train")
        ctx.guard(step_offset + step, "train_loss", loss, blow_up=BLOW_UP_LOSS)
        model.backward(loss_fn.backward())
        clip_grad_norm(params, cfg.clip)
        opt.step()
        interval_losses.append(loss)
        stopped_early = ctx.elapsed() - t0 > budget and step < cfg.steps
        if step % cfg.eval_every == 0 or step == cfg.steps or stopped_early:
            train_loss = float(np.mean(interval_losses))
            interval_losses.clear()
            val_loss = evaluate(model, corpus.val, cfg.seq_len)
            ctx.progress(step_offset + step, {"train_loss": train_loss}, split="train")
            ctx.progress(step_offset + step, {"val_loss": val_loss}, split="val")
        if emit_samples and cfg.sample_every and step % cfg.sample_every == 0 and step < cfg.steps:
            ctx.sample(step_offset + step, sample_text(model, corpus, rng))
        if stopped_early:
            ctx.cut_short(cfg.steps - step, limit_s)  # the grade's feedback says so
            break
    sample = sample_text(model, corpus, rng)
    if emit_samples:
        ctx.sample(step_offset + step, sample)
    return LoopResult(train_loss, val_loss, step, stopped_early, sample)


def chars_tokenizer(corpus: TextCorpus) -> dict:
    """A character model's tokenizer as a stored model records it: id i is corpus.chars[i]."""
    return {"kind": "chars", "vocab_size": corpus.vocab_size, "chars": corpus.chars}


def generalisation_check(ctx: RunContext, result: LoopResult, max_gap: float, remedy: str) -> CheckResult:
    """The `generalises` check every language lab scores: full credit while validation exceeds training
    loss by at most `max_gap`, none at twice that; `remedy` says what to change when the model memorises."""
    gap = result.val_loss - result.train_loss
    return ctx.check("generalises", partial_credit(gap, 2 * max_gap, max_gap),
                     f"validation exceeds training loss by {gap:.3f}"
                     + ("." if gap <= max_gap else f"; the model memorises: {remedy}."))
