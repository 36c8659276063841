"""decoding-sweep: how the decoding rule, not the model, decides whether the text is dull or absurd.

The model is "your model" when the run is given one (the learner's stored model of modern-lm,
bpe-tokens, transformer-chars or capstone-llm-engineer, with its tokenizer: characters or BPE); otherwise the
lab trains a small modern character model (ModernLM: RMSNorm, SwiGLU, rotary positions) on Shakespeare
for TRAIN_STEPS steps, the same for a given seed (calibration runs are given none). It then decodes
PROMPTS prompts from the validation text (labs.nn.decoding.generate: a KV cache when the model has one and
the text fits its context, else the sliding window) at every point of a fixed grid of temperatures and
top-p values, and at the learner's own setting, and measures on the decoded TEXT, so a BPE model is judged
on the same scale as a character model:

    distinct_4       distinct 4-grams / all 4-grams of the generated characters (repetition lowers it)
    mean_loglik      sum of ln p(token) of the generated tokens under the model at temperature 1, per
                     generated character (draws from the tail lower it)

The learner's setting passes when both are acceptable: distinct_4 >= MIN_DISTINCT and mean_loglik >=
MIN_LOGLIK. The defaults are greedy decoding, the natural first try, which repeats itself.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from labs.catalog._language import chars_tokenizer
from labs.catalog._lm_step import lm_step
from labs.catalog.base import FailureMode, Lab, LabParams, Outcome, RunContext
from labs.datasets import load_text
from labs.events import Finished
from labs.grading import CheckSpec
from labs.nn import AdamW, SequenceCrossEntropy, WarmupCosine
from labs.nn.data import get_batch
from labs.nn.decoding import generate
from labs.nn.losses import softmax
from labs.nn.modern import ModernLM
from labs.tokenizer import Tokenizer

import numpy as np

N_CHARS = 50_000
TRAIN_STEPS, BATCH, CONTEXT, WIDTH, LAYERS, HEADS, LR, WARMUP = 200, 16, 64, 48, 2, 4, 0.01, 20
PROMPTS, PROMPT_CHARS, EVAL_EVERY = 8, 16, 20
GRID = ((0.0, 1.0), (0.5, 1.0), (0.8, 1.0), (1.0, 1.0), (1.5, 1.0), (0.8, 0.9), (1.0, 0.9), (1.5, 0.9))
MIN_DISTINCT = 0.55
MIN_LOGLIK = -2.3


class Params(LabParams):
    temperature: float = Field(0.0, ge=0, le=3, description="logits are divided by it before sampling; 0 = greedy")
    top_p: float = Field(1.0, gt=0, le=1, description="keep the smallest set of likeliest tokens of this mass; 1 = off")
    top_k: int = Field(0, ge=0, le=65, description="keep only the k likeliest tokens; 0 = off")
    tokens: int = Field(120, ge=20, le=200, description="characters generated after each of the 8 prompts")


def distinct_ngrams(rows: list, n: int = 4) -> float:
    """Distinct n-grams over all n-grams of the rows (each row its own sequence: a string or ids)."""
    grams = [tuple(r[i:i + n]) for r in rows for i in range(len(r) - n + 1)]
    return len(set(grams)) / max(len(grams), 1)


def token_logprobs(model: Any, out: np.ndarray, start: int) -> np.ndarray:
    """ln p(out[:, t] | out[:, :t]) at temperature 1 for t >= start, (B, T - start). Within the model's
    context in one pass; beyond it in windows of the context, each scoring its last half (so every token
    is scored with at least half a context before it)."""
    context, total = int(model.context), out.shape[1]
    scored = np.empty((out.shape[0], total - start))
    rows, t, step = np.arange(out.shape[0]), start, max(1, context // 2)
    while t < total:
        end = total if total <= context else min(t + step, total)
        lo = max(0, end - 1 - context)
        logp = np.log(np.maximum(softmax(np.asarray(model.forward(out[:, lo:end - 1]), dtype=np.float64)), 1e-300))
        for pos in range(t, end):  # the logits at column j predict out[:, lo + j + 1]
            scored[:, pos - start] = logp[rows, pos - lo - 1, out[:, pos]]
        t = end
    return scored


class DecodingSweepLab(Lab):
    id = "decoding-sweep"
    title = "Decoding: temperature and top-p against repetition and nonsense"
    node_id = "decoding"
    dataset = "tinyshakespeare"
    description = (
        "A small modern character model is trained on Shakespeare (the same one for a given seed), then "
        "writes after 8 prompts with a **KV cache**, at a grid of temperatures and top-p values and at your "
        "setting. For each the lab measures the share of **distinct 4-grams** (repetition lowers it) and the "
        "**mean log-likelihood** of the written characters under the model (drawing from the tail lowers "
        f"it). You pass when your setting reaches at least {MIN_DISTINCT:.2f} distinct 4-grams and a mean "
        f"log-likelihood of at least {MIN_LOGLIK:.1f} nats per character."
    )
    naive = "greedy decoding (temperature 0): always the single most likely character"
    uses_models: ClassVar[tuple[str, ...]] = ("modern-lm", "bpe-tokens", "transformer-chars",
                                              "capstone-llm-engineer")
    good_settings = {"temperature": 0.8, "top_p": 0.9}
    failure_modes = (
        FailureMode(id="repetition", label="it repeats itself: the rule is (close to) greedy",
                    explanation="At temperature 0 (or very low) the argmax path reinforces itself: once a "
                    "phrase repeats, repeating it again is the likeliest continuation, so distinct 4-grams "
                    "collapse. Sample instead: a temperature near 0.8 with top-p near 0.9."),
        FailureMode(id="too-hot", label="it drifts into nonsense: the temperature flattens the distribution",
                    explanation="Dividing the logits by a large temperature gives the long tail real "
                    "probability; over a hundred characters some absurd ones are drawn and the model continues "
                    "from them, so the mean log-likelihood falls. Lower the temperature, or cut the tail with "
                    "top-p."),
        FailureMode(id="nucleus-too-small", label="top-p is so small that only the top token survives",
                    explanation="A nucleus of small mass holds one token wherever the model is fairly sure, "
                    "which is greedy decoding again, with its loops. Use a p near 0.9."),
        FailureMode(id="top-k-too-small", label="top-k keeps too few tokens: the choice is (almost) forced",
                    explanation="With k of 1 or 2 the draw has almost no alternatives, so the text loops as "
                    "greedy text does. Use a larger k, or top-p, which adapts to the model's confidence."),
    )
    Params = Params
    checks = (
        CheckSpec(id="variety", title=f"Your setting: distinct 4-grams at least {MIN_DISTINCT:.2f}", points=40,
                  required=True),
        CheckSpec(id="plausible", title=f"Your setting: mean log-likelihood at least {MIN_LOGLIK:.1f}", points=40,
                  required=True),
        CheckSpec(id="trade-off", title="The sweep shows the trade-off: hotter is more varied and less likely",
                  points=20),
    )
    pass_mark = 70.0
    time_limit_s = 90.0
    unit = "step"

    def run(self, params: Params, ctx: RunContext) -> Outcome:
        corpus = load_text(N_CHARS)
        yours = ctx.your_model is not None
        trained = 0 if yours else TRAIN_STEPS
        total = trained + len(GRID) + 1
        ctx.start(total_steps=total, dataset_hash=corpus.sha256)
        if yours:
            model = ctx.load_model()
            encode, decode = _codec(ctx.your_model.tokenizer)
            ctx.sample(0, f"decoding your model from {ctx.your_model.lab_id} ({ctx.your_model.sha256[:12]})")
        else:
            model = self._train(corpus.train.astype(np.int64), corpus.vocab_size, ctx)
            ctx.save_model(model, architecture={"kind": "modern-lm", "vocab_size": corpus.vocab_size,
                                                "context": CONTEXT + 200, "n_layer": LAYERS, "n_head": HEADS,
                                                "dim": WIDTH}, tokenizer=chars_tokenizer(corpus))
            encode, decode = _codec(chars_tokenizer(corpus))
        texts = [corpus.decode(corpus.val[o:o + PROMPT_CHARS])
                 for o in np.linspace(0, len(corpus.val) - PROMPT_CHARS - 1, PROMPTS).astype(int)]
        encoded = [np.asarray(encode(s), dtype=np.int64) for s in texts]
        width = max(1, min(len(e) for e in encoded))  # BPE prompts differ in length: keep their common tail
        prompts = np.stack([e[-width:] for e in encoded])
        model.eval()
        sweep = []
        for i, (t, p) in enumerate(GRID):
            d, ll, _ = self._decode(model, decode, prompts, t, p, 0, params.tokens, ctx.seed + 1000 + i)
            sweep.append((t, p, d, ll))
            ctx.progress(trained + i + 1, {"distinct_4": d, "mean_loglik": ll}, split="val")
            if ctx.remaining() <= 0 and i + 1 < len(GRID):  # the clock: grade the sweep done so far
                ctx.cut_short(len(GRID) - i - 1)
                break
        d, ll, out = self._decode(model, decode, prompts, params.temperature, params.top_p, params.top_k,
                                  params.tokens, ctx.seed + 999)
        ctx.progress(total, {"distinct_4": d, "mean_loglik": ll}, split="val")
        table = "\n".join(f"T={t:<4g} top_p={p:<4g} distinct_4={dd:.3f} mean_loglik={lv:.3f}" for t, p, dd, lv in sweep)
        ctx.sample(total, f"your setting: {out[0]!r}\n\nthe sweep:\n{table}")
        return self._grade(ctx, params, d, ll, sweep)

    def _train(self, ids: np.ndarray, vocab: int, ctx: RunContext) -> ModernLM:
        model = ModernLM(vocab, CONTEXT + 200, n_layer=LAYERS, n_head=HEADS, dim=WIDTH, rng=ctx.rng)
        params = model.parameters()
        opt, loss_fn = AdamW(params, lr=LR), SequenceCrossEntropy()
        schedule = WarmupCosine(lr=LR, total_steps=TRAIN_STEPS, warmup_steps=WARMUP, min_lr=LR / 10)
        recent = []
        for step in range(1, TRAIN_STEPS + 1):
            x, y = get_batch(ids, BATCH, CONTEXT, ctx.rng)
            loss = lm_step(model, loss_fn, opt, params, x, y, lr=schedule.lr_at(step - 1),
                           guard=lambda value: ctx.guard(step, "train_loss", value, blow_up=50.0))
            recent.append(loss)
            stop = ctx.deadline_reached(step, TRAIN_STEPS)
            if step % EVAL_EVERY == 0 or stop:
                ctx.progress(step, {"train_loss": float(np.mean(recent))})
                recent = []
            if stop:
                break
        return model

    @staticmethod
    def _decode(model: Any, decode: Any, prompts: np.ndarray, temperature: float, top_p: float, top_k: int,
                n: int, seed: int) -> tuple[float, float, list[str]]:
        """(distinct 4-grams of the text, log-likelihood per character, the texts) of n tokens per prompt."""
        out = generate(model, prompts, n, np.random.default_rng(seed), temperature=temperature,
                       top_k=top_k or None, top_p=top_p if top_p < 1 else None)
        start = prompts.shape[1]
        texts = [decode(row) for row in out[:, start:]]
        chars = max(sum(len(s) for s in texts), 1)
        return distinct_ngrams(texts), float(token_logprobs(model, out, start).sum() / chars), texts

    def _grade(self, ctx: RunContext, params: Params, d: float, ll: float, sweep: list) -> Outcome:
        plain = sorted((t, dd, lv) for t, p, dd, lv in sweep if p == 1.0)
        rising = len(plain) > 1 and plain[-1][1] > plain[0][1] and plain[-1][2] < plain[0][2]
        results = [
            ctx.check("variety", d >= MIN_DISTINCT,
                      f"distinct 4-grams {d:.3f} (at least {MIN_DISTINCT:.2f})"
                      + ("." if d >= MIN_DISTINCT else ": the text repeats itself; sample more freely.")),
            ctx.check("plausible", ll >= MIN_LOGLIK,
                      f"mean log-likelihood {ll:.3f} nats per character (at least {MIN_LOGLIK:.1f})"
                      + ("." if ll >= MIN_LOGLIK else ": it draws from the tail; cool it down or cut the tail.")),
            ctx.check("trade-off", rising,
                      f"from T={plain[0][0]:g} to T={plain[-1][0]:g}: distinct 4-grams {plain[0][1]:.2f} -> "
                      f"{plain[-1][1]:.2f}, log-likelihood {plain[0][2]:.2f} -> {plain[-1][2]:.2f}."),
        ]
        metrics = {"distinct_4": d, "mean_loglik": ll, "temperature": params.temperature, "top_p": params.top_p}
        for t, p, dd, lv in sweep:
            metrics[f"distinct_4_t{t:g}_p{p:g}"] = dd
            metrics[f"mean_loglik_t{t:g}_p{p:g}"] = lv
        return Outcome(results=results, metrics=metrics)

    def diagnose(self, params: Params, finished: Finished) -> str | None:
        """Too little variety: greedy, a tiny nucleus or a tiny k; too unlikely: too hot."""
        if finished.status == "passed":
            return None
        if finished.metrics.get("distinct_4", 1.0) < MIN_DISTINCT:
            if params.temperature >= 0.3 and params.top_p < 0.5:
                return "nucleus-too-small"
            if params.temperature >= 0.3 and 0 < params.top_k <= 3:
                return "top-k-too-small"
            return "repetition"
        if finished.metrics.get("mean_loglik", 0.0) < MIN_LOGLIK:
            return "too-hot"
        return None


def _codec(tokenizer: dict | None) -> tuple:
    """encode(str) -> ids and decode(ids) -> str of a stored model's tokenizer (characters or BPE)."""
    kind = (tokenizer or {}).get("kind")
    if kind == "chars" and isinstance(tokenizer.get("chars"), str):
        chars = tokenizer["chars"]
        index = {c: i for i, c in enumerate(chars)}
        return (lambda s: [index[c] for c in s if c in index]), (lambda ids: "".join(chars[int(i)] for i in ids))
    if kind == "bpe" and isinstance(tokenizer.get("text"), str):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "tokenizer.txt"
            path.write_text(tokenizer["text"], encoding="utf-8")
            tok = Tokenizer.load(path)
        return tok.encode, (lambda ids: tok.decode([int(i) for i in ids]))
    from labs.catalog._models import ModelUnavailable

    raise ModelUnavailable(f"your model's tokenizer ({kind!r}) is not one this lab can read (chars or bpe)")


LAB = DecodingSweepLab()
