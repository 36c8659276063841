"""capstone-llm-engineer in the checker: the learner's windows, schedule, loss report and sampling on fixed
inputs, then the library's TinyGPT trained with AdamW on the learner's windows at the learner's rates, to
the capstone's validation loss, reported through the learner's loss_report and sampled with sample_next.

The learner's file cannot import `labs`, so the network trains here; the learner's pieces decide what
each step sees (windows), how fast it moves (lr_at), what the validation figures are (loss_report, which
must agree with ours) and which characters the sample draws (sample_next).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from labs.catalog._language import EVAL_STREAMS
from labs.catalog.capstone_llm_engineer import BUDGET_S, FLOOR_VAL_LOSS, TARGET_VAL_LOSS, add_residual_dropout
from labs.catalog.transformer_chars import N_CHARS
from labs.datasets import load_text
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed, call, expect_array, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import capstone_llm_engineer as ref
from labs.nn import AdamW
from labs.nn.language_models import TinyGPT
from labs.nn.losses import SequenceCrossEntropy
from labs.nn.optim import clip_grad_norm

Report = Callable[[int, int, dict[str, float]], None]


def _float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise CheckFailed(f"{name} should be one number (a Python float), got {type(value).__name__}")
    return float(value)


# -- windows -----------------------------------------------------------------------------------------
def check_windows(m: Learner) -> str:
    ids = np.arange(100, 140, dtype=np.int64)  # id = 100 + position, so a shift shows as a constant
    starts = np.array([0, 7, 30], dtype=np.int64)
    x, y = unpack("windows", call(m, "windows", ids, starts, 5), ("x", "y"))
    at = starts[:, None] + np.arange(5)
    want_x, want_y = ids[at], ids[at + 1]
    expect_array("windows' x", x, want_x, mistakes={
        "x starts one character late: the window's first input is ids[start]": ids[at + 1],
    })
    expect_array("windows' y", y, want_y, mistakes={
        "the targets are not shifted: y equals x, so the model learns to copy its input; y[b, t] is the "
        "NEXT character, one position later": want_x,
        "the targets are shifted the wrong way: y[b, t] is the character AFTER x[b, t], not before": ids[at - 1],
        "the targets are two characters ahead (off by one): y is shifted by exactly one": ids[at + 2],
    })
    return "inputs and next-character targets, (B, seq_len)"


# -- the schedule ------------------------------------------------------------------------------------
def _schedule_mistakes(total: int, base: float, warmup: int, final: float) -> dict[str, np.ndarray]:
    def cos(k: int, start: int, length: int, floor: float = final) -> float:
        return floor + 0.5 * (1 + math.cos(math.pi * (k - start) / length)) * (base - floor)

    up = [base * (k + 1) / warmup for k in range(warmup)]
    after = range(warmup, total)
    wrong = {
        "the warm-up starts at rate 0: step 0 should already move at base_lr / warmup_steps (off by one step)":
            [base * k / warmup for k in range(warmup)] + [cos(k, warmup, total - warmup) for k in after],
        "the cosine is off by one step: it reaches final_lr ON the last step; it should reach it one step after":
            up + [cos(k, warmup - 1, total - warmup) for k in after],
        "the cosine's span is one step short: over total_steps - warmup_steps - 1 steps it reaches final_lr on "
        "the last step": up + [cos(k, warmup, total - warmup - 1) for k in after],
        "the cosine runs over all total_steps as if there were no warm-up: it should run over the steps AFTER "
        "the warm-up": up + [cos(k, 0, total) for k in after],
        "the cosine falls to 0, not to final_lr": up + [cos(k, warmup, total - warmup, 0.0) for k in after],
        "the warm-up is missing: the rate should rise linearly over the first warmup_steps steps":
            [cos(k, 0, total) for k in range(total)],
    }
    return {k: np.array(v, dtype=np.float64) for k, v in wrong.items()}


def check_lr_at(m: Learner) -> str:
    for total, base, warmup, final in ((24, 0.006, 5, 0.0006), (10, 0.01, 0, 0.001)):
        s = m.batch()
        out = s.run(*[s.lr_at(k, total, base, warmup, final) for k in range(total)])
        got = np.array([_float(f"lr_at(step={k})", v) for k, v in enumerate(out)], dtype=np.float64)
        want = np.array([ref.lr_at(k, total, base, warmup, final) for k in range(total)])
        mistakes = _schedule_mistakes(total, base, warmup, final) if warmup else {}
        expect_array(f"lr_at over {total} steps (warmup_steps={warmup}, final_lr={final})", got, want,
                     mistakes=mistakes)
    return "warms up from the first step, anneals to just above final_lr on the last"


# -- the loss report ---------------------------------------------------------------------------------
def check_loss_report(m: Learner) -> str:
    nats = np.array([0.4, 2.9, 1.2, 0.05, 3.6, 1.8, 0.75, 2.2])  # a mean of 1.6125 nats
    got = unpack("loss_report", call(m, "loss_report", nats), ("bits_per_char", "perplexity"))
    got = np.array([_float(f"loss_report's {n}", v) for n, v in zip(("bits_per_char", "perplexity"), got)])
    mean, total = float(np.mean(nats)), float(np.sum(nats))
    want = np.array(ref.loss_report(nats))
    expect_array("loss_report's bits_per_char", got[:1], want[:1], mistakes={
        "that is still in nats: bits per character divide the natural-log loss by ln 2": np.array([mean]),
        "bits per character MULTIPLY by ln 2: a bit is ln 2 nats, so bits = nats / ln 2":
            np.array([mean * math.log(2)]),
        "that is the SUM over the characters in bits; per character is the mean": np.array([total / math.log(2)]),
        "that is log10, not log2: divide the nats by ln 2": np.array([mean / math.log(10)]),
    })
    expect_array("loss_report's perplexity", got[1:], want[1:], mistakes={
        "perplexity from the SUM of the losses: it is exp of the MEAN loss per character": np.array([math.exp(total)]),
        "that averages exp of each character's loss; perplexity is exp of the mean loss":
            np.array([float(np.mean(np.exp(nats)))]),
        "perplexity is 2 ** loss only for a loss in bits; in nats it is exp(loss)": np.array([2 ** mean]),
        "that is the mean loss itself; perplexity is exp of it": np.array([mean]),
    })
    return f"{want[0]:.3f} bits per character, perplexity {want[1]:.2f} at a mean of {mean:.4f} nats"


# -- sampling ----------------------------------------------------------------------------------------
def _draw(p: np.ndarray, u: float) -> int:
    return int(min(np.searchsorted(np.cumsum(p), u, side="right"), len(p) - 1))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _ties_kept(logits, temperature, top_k, u):
    z = logits / temperature
    if top_k:
        z = np.where(z >= np.sort(z)[-top_k], z, -np.inf)
    return _draw(_softmax(z), u)


def _unnormalised(logits, temperature, top_k, u):
    z = logits / temperature
    if top_k:
        keep = np.argsort(-z, kind="stable")[:top_k]
        z = np.where(np.isin(np.arange(len(z)), keep), z, -np.inf)
    return _draw(np.exp(z - z.max()), u)


SAMPLE_LOGITS = np.array([2.0, 0.5, 2.5, 1.5, 0.0, 3.0, 2.5, -1.0])  # a tie (ids 2, 6) at the top-3 cut
SAMPLE_CASES = ((1.0, 0, 0.05), (1.0, 0, 0.5), (1.0, 0, 0.8), (1.0, 0, 0.97), (0.5, 0, 0.8), (2.0, 0, 0.8),
                (1.0, 2, 0.3), (1.0, 2, 0.05), (1.0, 3, 0.1), (1.0, 3, 0.6), (0.7, 3, 0.9))
"""(temperature, top_k, u) draws from SAMPLE_LOGITS"""


def check_sample_next(m: Learner) -> str:
    s = m.batch()
    out = s.run(*[s.sample_next(SAMPLE_LOGITS, t, k, u) for t, k, u in SAMPLE_CASES])
    for v in out:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise CheckFailed(f"sample_next should return a Python int (an id), got {type(v).__name__}")
    got = np.array([int(v) for v in out], dtype=np.int64)

    def every(f) -> np.ndarray:
        return np.array([f(SAMPLE_LOGITS, t, k, u) for t, k, u in SAMPLE_CASES], dtype=np.int64)

    want = every(ref.sample_next)
    if np.array_equal(got, want):
        return f"right in all {len(SAMPLE_CASES)} draws (temperature, top-k and a tie at the cut included)"
    mistakes = {
        "top-k keeps k+1 ids when two logits tie at the cut (z >= the k-th largest): keep EXACTLY top_k, "
        "the lower id first of equal ones": every(_ties_kept),
        "it samples from unnormalised exp(logits): divide by their sum so the probabilities add up to 1":
            every(_unnormalised),
        "the logits are MULTIPLIED by the temperature; divide them (a high temperature flattens the "
        "distribution)": every(lambda z, t, k, u: ref.sample_next(z, 1.0 / t, k, u)),
        "top_k is ignored: only the top_k largest logits may be drawn":
            every(lambda z, t, k, u: ref.sample_next(z, t, 0, u)),
        "that is the argmax every time; sampling draws from the distribution with u":
            every(lambda z, t, k, u: int(np.argmax(z))),
    }
    for words, ids in mistakes.items():
        if np.array_equal(got, ids):
            raise CheckFailed(f"sample_next: {words}")
    wrong = int(np.flatnonzero(got != want)[0])
    t, k, u = SAMPLE_CASES[wrong]
    raise CheckFailed(f"sample_next(temperature={t:g}, top_k={k}, u={u:g}) on logits {SAMPLE_LOGITS.tolist()} gave "
                      f"id {got[wrong]}, expected {want[wrong]}: pick the first id whose cumulative probability "
                      f"exceeds u, counting ids 0 .. V-1")


CHECKS = {
    "forward:windows": check_windows,
    "forward:lr_at": check_lr_at,
    "forward:loss_report": check_loss_report,
    "forward:sample_next": check_sample_next,
}

# -- training ----------------------------------------------------------------------------------------
SEED, SAMPLE_CHARS, TOP_K, TEMPERATURE = 1, 120, 10, 0.8
LAYERS, WIDTH, HEADS, CONTEXT, BATCH = 2, 64, 1, 64, 16
STEPS, LR, WARMUP, WEIGHT_DECAY, DROPOUT, EVAL_EVERY, CHUNK = 1800, 0.008, 50, 0.1, 0.1, 100, 10
"""the capstone's model size (Params(): 2 layers, width 64, context 64) on a cheaper recipe than the lab's
2000 steps at 0.006 with 4 heads and dropout 0.2: one head of width 64 (a quarter of the attention's
elementwise work, and on this text no worse), 1800 steps at a peak of 0.008, cosine to lr/10, dropout 0.1.
Calibration (reference solution, OMP_NUM_THREADS=1, on the shared 2-core machine; the data order is
SEED + 100's, the dropout's draws SEED's):

    seed                     1      2      3
    val loss (nats/char)   1.692  1.731  1.695     (target 1.75)
    train s                 32.4   36.2   35.3     (1: through the grader alone, load ~0.8; 2, 3: the loop
                                                    without the pipe, two at a time, load ~2)

Tried and dropped (seed 1 unless said): 1500 steps at 0.01 (1.719, but seeds 2 and 3 1.743 and 1.741),
2000 steps at 0.006 with dropout 0.2 (seed 2: 1.739), 1200 steps at 0.012 with 2 heads (1.767), 1200 steps
without dropout (1.753, train 1.61: it overfits), context 32 with batch 32 (1.740), 4 heads in 1500 steps
(1.740), 2 heads (1.731). CHUNK steps' windows and rates come in per round trip (100 steps' windows, a
1.6 MB reply, came back as a TypeError from the pipe: left to remote.py's owner)."""


def _char_nats(model: TinyGPT, ids: np.ndarray, seq_len: int) -> np.ndarray:
    """-ln p(next character) for every character of `ids` after the first of each chunk, read as
    _language.evaluate reads it (contiguous streams in chunks of seq_len), in eval mode."""
    rows = len(ids) // EVAL_STREAMS
    streams = ids[: rows * EVAL_STREAMS].reshape(EVAL_STREAMS, rows)
    out = []
    for start in range(0, rows - 1, seq_len):
        y = streams[:, start + 1: start + seq_len + 1]
        logits = model.forward(streams[:, start: start + y.shape[1]])
        z = logits - logits.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        out.append(-np.take_along_axis(logp, y[..., None], axis=-1)[..., 0].ravel())
    return np.concatenate(out).astype(np.float64)


def train(m: Learner, budget_s: float, report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    """Train the library's TinyGPT on the learner's windows at the learner's rates (two round trips per
    CHUNK steps), then report the validation loss through loss_report and sample with sample_next."""
    corpus = load_text(N_CHARS)
    rng = np.random.default_rng(SEED)
    model = TinyGPT(corpus.vocab_size, CONTEXT, n_layer=LAYERS, n_head=HEADS, dim=WIDTH, rng=rng)
    add_residual_dropout(model, DROPOUT, rng)
    params = model.parameters()
    opt, loss_fn = AdamW(params, lr=LR, weight_decay=WEIGHT_DECAY), SequenceCrossEntropy()
    budget_s = max(budget_s, BUDGET_S)  # the capstone's own budget: the library's GPT, not the learner, is slow
    start = time.perf_counter()
    ids = corpus.train.astype(np.int64)
    recent, val_loss, train_loss = [], float("nan"), float("nan")
    order = np.random.default_rng(SEED + 100)  # the data order, apart from the dropout's draws
    planned: list = []
    for step in range(STEPS):
        if not planned:  # the next CHUNK steps' windows (as one batch) and rates
            chunk = range(step, min(step + CHUNK, STEPS))
            starts = order.integers(0, len(ids) - CONTEXT, size=len(chunk) * BATCH).astype(np.int64)
            s = m.batch()
            rates = s.run(*[s.lr_at(k, STEPS, LR, WARMUP, LR / 10) for k in chunk])
            xs, ys = unpack("windows", call(m, "windows", ids, starts, CONTEXT), ("x", "y"))
            for name, a in (("x", xs), ("y", ys)):
                if not (isinstance(a, np.ndarray) and a.shape == (len(starts), CONTEXT) and a.dtype.kind in "iu"):
                    raise CheckFailed(f"windows returned {name} of shape {np.shape(a)}, expected int64 "
                                      f"{(len(starts), CONTEXT)}")
            planned = [(xs[i * BATCH:(i + 1) * BATCH], ys[i * BATCH:(i + 1) * BATCH], r) for i, r in enumerate(rates)]
        x, y, rate = planned.pop(0)
        rate = _float("lr_at", rate)
        if not (math.isfinite(rate) and 0 < rate <= LR * (1 + 1e-9)):
            raise CheckFailed(f"lr_at gave {rate!r} for step {step}; rates stay in (0, base_lr]")
        opt.lr = rate
        opt.zero_grad()
        loss = loss_fn.forward(model.forward(x), y)
        model.backward(loss_fn.backward())
        clip_grad_norm(params, 1.0)
        opt.step()
        recent.append(float(loss))
        if (step + 1) % EVAL_EVERY == 0 or step + 1 == STEPS:
            train_loss, recent = float(np.mean(recent)), []
            if report is not None:
                report(step + 1, STEPS, {"train_loss": train_loss, "lr": rate})
        if time.perf_counter() - start > budget_s:
            raise CheckFailed(f"training took longer than {budget_s:.0f} s ({step + 1} of {STEPS} steps)")
    train_seconds = time.perf_counter() - start
    model.eval()
    nats = _char_nats(model, corpus.val.astype(np.int64), CONTEXT)
    val_loss = float(np.mean(nats))
    bits, perplexity = ref.loss_report(nats)
    got = unpack("loss_report", call(m, "loss_report", nats), ("bits_per_char", "perplexity"))
    text = corpus.encode("\n").astype(np.int64)
    for u in np.random.default_rng(SEED + 1).random(SAMPLE_CHARS):
        logits = model.forward(text[None, -CONTEXT:])[0, -1]
        drawn = call(m, "sample_next", logits, TEMPERATURE, TOP_K, float(u))
        if isinstance(drawn, bool) or not isinstance(drawn, (int, np.integer)) or not 0 <= drawn < corpus.vocab_size:
            raise CheckFailed(f"sample_next returned {drawn!r}; it should be an id in 0 .. {corpus.vocab_size - 1}")
        text = np.append(text, int(drawn))
    sample = corpus.decode(text[1:])
    metrics = {"val_loss": val_loss, "train_loss": train_loss, "bits_per_char": bits, "perplexity": perplexity,
               "train_seconds": train_seconds}
    if report is not None:
        report(STEPS, STEPS, {"train_loss": train_loss, "val_loss": val_loss})
    message = (f"validation loss {val_loss:.3f} nats per character ({bits:.3f} bits, perplexity {perplexity:.2f}; "
               f"target {TARGET_VAL_LOSS}), train {train_loss:.3f}; your sample: {sample[:60]!r}")
    if not np.allclose([_float("loss_report", v) for v in got], [bits, perplexity], rtol=1e-9):
        return 0.0, message + f"; but your loss_report said {tuple(round(float(v), 4) for v in got)}", metrics
    return partial_credit(val_loss, FLOOR_VAL_LOSS, TARGET_VAL_LOSS), message, metrics
