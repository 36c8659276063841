"""capstone-llm-engineer in the checker: the learner's windows, schedule, loss report and sampling on fixed
inputs, then the library's ModernLM trained with AdamW on BPE tokens cut by the learner's windows at the
learner's rates, to the capstone's validation target in bits per character, reported through the learner's
loss_report and sampled with sample_next from logits computed through the model's KV cache.

The learner's file cannot import `labs`, so the network trains here; the learner's pieces decide what
each step sees (windows), how fast it moves (lr_at), what the validation figures are (loss_report, which
must agree with ours) and which tokens the sample draws (sample_next).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from labs.catalog.capstone_llm_engineer import BUDGET_S, FLOOR_BPC, N_CHARS, TARGET_BPC, VOCAB
from labs.datasets import load_text
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed, call, expect_array, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import capstone_llm_engineer as ref
from labs.nn import AdamW
from labs.nn.losses import SequenceCrossEntropy
from labs.nn.modern import ModernLM
from labs.nn.optim import clip_grad_norm
from labs.tokenizer import Tokenizer

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
REPORT_NATS = np.array([0.9, 4.1, 2.6, 0.3, 5.2, 3.3, 1.7, 3.9])  # 8 tokens, 21.99 nats in all
REPORT_CHARS = 19  # the characters those 8 tokens decode to


def check_loss_report(m: Learner) -> str:
    nats, chars = REPORT_NATS, REPORT_CHARS
    got = unpack("loss_report", call(m, "loss_report", nats, chars), ("bits_per_char", "perplexity"))
    got = np.array([_float(f"loss_report's {n}", v) for n, v in zip(("bits_per_char", "perplexity"), got)])
    mean, total = float(np.mean(nats)), float(np.sum(nats))
    want = np.array(ref.loss_report(nats, chars))
    expect_array(f"loss_report's bits_per_char ({len(nats)} tokens, {chars} characters)", got[:1], want[:1],
                 mistakes={
        "that is bits per TOKEN: spread the total over the characters, sum / (n_chars * ln 2)":
            np.array([mean / math.log(2)]),
        "that is still in nats: bits divide the natural-log loss by ln 2": np.array([total / chars]),
        "bits MULTIPLY by ln 2 there: a bit is ln 2 nats, so bits = nats / ln 2":
            np.array([total * math.log(2) / chars]),
        "that is the SUM over the tokens in bits; per character divides by n_chars": np.array([total / math.log(2)]),
        "that is log10, not log2: divide the nats by ln 2": np.array([total / (chars * math.log(10))]),
    })
    expect_array("loss_report's perplexity", got[1:], want[1:], mistakes={
        "perplexity from the SUM of the losses: it is exp of the MEAN loss per token": np.array([math.exp(total)]),
        "that is the perplexity per character; perplexity is quoted per token, exp of the mean token loss":
            np.array([math.exp(total / chars)]),
        "that averages exp of each token's loss; perplexity is exp of the mean loss":
            np.array([float(np.mean(np.exp(nats)))]),
        "perplexity is 2 ** loss only for a loss in bits; in nats it is exp(loss)": np.array([2 ** mean]),
        "that is the mean loss itself; perplexity is exp of it": np.array([mean]),
    })
    return f"{want[0]:.3f} bits per character, perplexity {want[1]:.2f} per token from {len(nats)} tokens"


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
SEED, SAMPLE_TOKENS, TOP_K, TEMPERATURE = 1, 60, 10, 0.8
LAYERS, WIDTH, HEADS, CONTEXT, BATCH = 2, 48, 4, 32, 16
STEPS, LR, WARMUP, WEIGHT_DECAY, EVAL_EVERY, CHUNK = 600, 0.01, 50, 0.1, 50, 10
"""the capstone's good settings (labs.catalog.capstone_llm_engineer: 2 layers, width 48, 4 heads, context
32, 600 steps at a peak of 0.01 after 50 warm-up steps, cosine to lr/10, decay 0.1) on the same 512-token
BPE of the same split; the data order is SEED + 100's. CHUNK steps' windows and rates come in per round
trip."""


def _prepared() -> tuple[Tokenizer, np.ndarray, np.ndarray]:
    """The capstone's tokenizer and its train and validation ids."""
    corpus = load_text(N_CHARS)
    cut = int(len(corpus.text) * 0.9)
    tok = Tokenizer.train(corpus.text[:cut], VOCAB)
    return (tok, np.asarray(tok.encode(corpus.text[:cut]), dtype=np.int64),
            np.asarray(tok.encode(corpus.text[cut:]), dtype=np.int64))


def _token_nats(model: ModernLM, ids: np.ndarray, seq_len: int) -> tuple[np.ndarray, int]:
    """-ln p(next token) for the validation ids read in windows of seq_len (as the lab reads them), and the
    number of characters the scored tokens decode to is left to the caller: (nats, scored)."""
    n = (len(ids) - 1) // seq_len * seq_len
    xs, ys = ids[:n].reshape(-1, seq_len), ids[1:n + 1].reshape(-1, seq_len)
    out = []
    for i in range(0, len(xs), 32):
        logits = model.forward(xs[i:i + 32]).astype(np.float64)
        z = logits - logits.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        out.append(-np.take_along_axis(logp, ys[i:i + 32][..., None], axis=-1)[..., 0].ravel())
    return np.concatenate(out), n


def train(m: Learner, budget_s: float, report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    """Train the library's ModernLM on the learner's windows at the learner's rates (two round trips per
    CHUNK steps), report the validation figures through loss_report, then sample with sample_next from
    the logits of the model's KV cache, one token per step."""
    tok, ids, val = _prepared()
    rng = np.random.default_rng(SEED)
    model = ModernLM(VOCAB, CONTEXT, n_layer=LAYERS, n_head=HEADS, dim=WIDTH, rng=rng)
    params = model.parameters()
    opt, loss_fn = AdamW(params, lr=LR, weight_decay=WEIGHT_DECAY), SequenceCrossEntropy()
    budget_s = max(budget_s, 2 * BUDGET_S)  # CPU seconds of this process: the library's model takes the time
    start = time.process_time()
    recent, train_loss = [], float("nan")
    order = np.random.default_rng(SEED + 100)
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
        if time.process_time() - start > budget_s:
            raise CheckFailed(f"training took longer than {budget_s:.0f} s of CPU time ({step + 1} of {STEPS} steps)")
    train_seconds = time.process_time() - start
    model.eval()
    nats, scored = _token_nats(model, val, CONTEXT)
    chars = len(tok.decode(val[1:scored + 1].tolist()))
    bits, perplexity = ref.loss_report(nats, chars)
    got = unpack("loss_report", call(m, "loss_report", nats, chars), ("bits_per_char", "perplexity"))
    text, cache = [int(t) for t in val[:8]], model.new_cache(1, CONTEXT)
    logits = model.forward_cached(np.asarray(text, dtype=np.int64)[None], cache)[0, -1]
    for u in np.random.default_rng(SEED + 1).random(SAMPLE_TOKENS):
        drawn = call(m, "sample_next", logits.astype(np.float64), TEMPERATURE, TOP_K, float(u))
        if isinstance(drawn, bool) or not isinstance(drawn, (int, np.integer)) or not 0 <= drawn < VOCAB:
            raise CheckFailed(f"sample_next returned {drawn!r}; it should be an id in 0 .. {VOCAB - 1}")
        text.append(int(drawn))
        if cache.length == cache.capacity:
            break
        logits = model.forward_cached(np.array([[int(drawn)]]), cache)[0, -1]  # the new token against the cache
    sample = tok.decode(text)
    metrics = {"val_loss": float(np.mean(nats)), "train_loss": train_loss, "bits_per_char": bits,
               "perplexity": perplexity, "train_seconds": train_seconds}
    if report is not None:
        report(STEPS, STEPS, {"train_loss": train_loss, "val_loss": float(np.mean(nats))})
    message = (f"validation {bits:.3f} bits per character (target {TARGET_BPC}; perplexity {perplexity:.1f} per "
               f"token), train {train_loss:.3f} nats per token; your sample through the KV cache: {sample[:60]!r}")
    if not np.allclose([_float("loss_report", v) for v in got], [bits, perplexity], rtol=1e-9):
        return 0.0, message + f"; but your loss_report said {tuple(round(float(v), 4) for v in got)}", metrics
    return partial_credit(bits, FLOOR_BPC, TARGET_BPC), message, metrics
