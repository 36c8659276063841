"""decoding-sweep in the checker: the learner's filters, sampling, rotary positions and cached attention on
fixed inputs, then generation from a trained model through the learner's cache.

Filters are judged on rows with ties at the boundary and masses near p; a wrong answer is matched against
the classic mistakes first (exactly k tokens on a tie, k + 1, zeros instead of -inf, the nucleus one token
too few, ties split by a sort). cached_step is judged given the learner's own rope_rotate and
cached_attention, so a mistake in either costs only its own check; what cached_step must add is the
positions that continue the cache.

The final stage trains the library's ModernLM (float64, small) on Shakespeare's characters, then decodes a
prompt and GEN_TOKENS new tokens with the model's weights but the learner's cached_step in every layer and
the learner's sample_token: the logits must equal the full forward pass at every position (within
LOGIT_TOL), and every token drawn must be the one the reference rules draw from those logits.
"""

from __future__ import annotations

import time

import numpy as np

from labs.datasets import load_text
from labs.implement.checks.charlm import N_CHARS
from labs.implement.checks.common import CheckFailed, call, expect_array, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import decoding_sweep as ref
from labs.nn import AdamW, SequenceCrossEntropy, WarmupCosine, clip_grad_norm
from labs.nn.data import get_batch
from labs.nn.modern import ModernLM

LOGIT_TOL = 1e-10
"""float64: the cached logits against the full forward pass's (the library's own cache test bound)"""

ROWS = np.array([
    [1.0, 3.0, 2.0, 3.0, 0.5, 2.0, -1.0, 2.0],   # ties at the top and at the 3rd largest
    [0.3, -2.0, 1.7, 0.9, 4.0, -0.5, 2.2, 1.1],  # all different
])
NUCLEUS = np.log(np.array([
    [0.05, 0.5, 0.15, 0.3],      # sorted: 0.5 0.3 0.15 0.05
    [0.2, 0.3, 0.2, 0.3],        # two ties
]))
NUCLEUS_PS = (0.1, 0.45, 0.7, 0.85, 0.97, 1.0)
SAMPLE_CASES = (  # (temperature, top_k, top_p, u)
    (0.0, 0, 1.0, 0.5), (1.0, 0, 1.0, 0.05), (1.0, 0, 1.0, 0.6), (1.0, 0, 1.0, 0.99), (0.5, 0, 1.0, 0.1),
    (2.0, 0, 1.0, 0.45), (1.0, 3, 1.0, 0.99), (1.0, 0, 0.6, 0.97), (2.0, 0, 0.5, 0.8), (0.7, 2, 0.9, 0.4),
)
SAMPLE_ROW = np.array([0.5, 2.0, -1.0, 2.0, 1.0, 0.0])


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# -- top-k ------------------------------------------------------------------------------------------
def _k_exactly(z: np.ndarray, k: int) -> np.ndarray:
    order = np.argsort(-z, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(z.shape, dtype=bool)
    np.put_along_axis(keep, order, True, axis=-1)
    return np.where(keep, z, -np.inf)


def check_top_k_filter(m: Learner) -> str:
    for k in (1, 3, 5, 8, 11):
        got = call(m, "top_k_filter", ROWS, k)
        want = ref.top_k_filter(ROWS, k)
        expect_finite_or_inf("top_k_filter", got, want, f"k={k}", mistakes={
            "a tie at the boundary keeps only some of the tied tokens: keep every logit >= the k-th largest, "
            "so equal logits are kept or dropped together": _k_exactly(ROWS, k),
            "it keeps k + 1 tokens: the k-th largest is sorted[..., -k], counting from 1":
                ref.top_k_filter(ROWS, k + 1),
            "it keeps k - 1 tokens: the k-th largest is sorted[..., -k], counting from 1":
                ref.top_k_filter(ROWS, max(k - 1, 1)) if k > 1 else np.full(ROWS.shape, -np.inf),
            "the excluded logits are 0; set them to -inf (a logit of 0 still has probability)":
                np.where(np.isinf(want), 0.0, want),
            "it keeps the k SMALLEST logits; keep the largest": -ref.top_k_filter(-ROWS, k),
        })
    return "right for k = 1, 3, 5, 8 and 11, ties at the boundary kept together, k >= V keeping everything"


def expect_finite_or_inf(fn: str, got: object, want: np.ndarray, case: str,
                         mistakes: dict[str, np.ndarray]) -> None:
    """got must equal want where want is finite and be -inf where want is -inf (the filters' contract)."""
    if not isinstance(got, np.ndarray):
        raise CheckFailed(f"{fn} ({case}) should return a NumPy array shaped like the logits, got "
                          f"{type(got).__name__}")
    if got.shape != want.shape:
        raise CheckFailed(f"{fn} ({case}) returned shape {got.shape}, expected {want.shape} (the logits' shape)")
    if _same(got, want):
        return
    for words, wrong in mistakes.items():
        if wrong.shape == got.shape and _same(got, wrong):
            raise CheckFailed(f"{fn} ({case}): {words}")
    rows = [i for i in range(got.reshape(-1, got.shape[-1]).shape[0])
            if not _same(got.reshape(-1, got.shape[-1])[i], want.reshape(-1, want.shape[-1])[i])]
    row = rows[0] if rows else 0
    kept = np.flatnonzero(np.isfinite(got.reshape(-1, got.shape[-1])[row])).tolist()
    expected = np.flatnonzero(np.isfinite(want.reshape(-1, want.shape[-1])[row])).tolist()
    raise CheckFailed(f"{fn} ({case}), row {row}: kept tokens {kept}, expected {expected} with their logits "
                      "unchanged and every other one -inf")


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    inf_a, inf_b = np.isneginf(a), np.isneginf(b)
    return bool(np.array_equal(inf_a, inf_b) and np.allclose(a[~inf_a], b[~inf_b], rtol=1e-9, atol=1e-12))


# -- top-p ------------------------------------------------------------------------------------------
def _probs(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _p_one_too_few(z: np.ndarray, p: float) -> np.ndarray:
    probs = _probs(z)
    likelier = probs[..., None, :] > probs[..., :, None]
    mass_through = (likelier * probs[..., None, :]).sum(axis=-1) + probs
    return np.where(mass_through < p, z, -np.inf) if p < 1 else z.copy()


def _p_sorted(z: np.ndarray, p: float) -> np.ndarray:
    """The nucleus cut after a sort, so one of two tied tokens may be dropped and the other kept."""
    if p >= 1:
        return z.copy()
    probs = _probs(z)
    order = np.argsort(-probs, axis=-1, kind="stable")
    ranked = np.take_along_axis(probs, order, axis=-1)
    keep_ranked = np.cumsum(ranked, axis=-1) - ranked < p
    keep = np.zeros(z.shape, dtype=bool)
    np.put_along_axis(keep, order, keep_ranked, axis=-1)
    return np.where(keep, z, -np.inf)


def check_top_p_filter(m: Learner) -> str:
    for p in NUCLEUS_PS:
        got = call(m, "top_p_filter", NUCLEUS, p)
        want = ref.top_p_filter(NUCLEUS, p)
        expect_finite_or_inf("top_p_filter", got, want, f"p={p:g}", mistakes={
            "the nucleus is one token too few: keep a token while the mass BEFORE it is below p, so the token "
            "that reaches p is kept": _p_one_too_few(NUCLEUS, p),
            "tied tokens are split: one kept, the other dropped. Sum only the STRICTLY likelier tokens' "
            "mass, so equal probabilities are kept or dropped together": _p_sorted(NUCLEUS, p),
        })
    big = _rng(4).normal(size=(3, 50)) * 3
    for p in (0.3, 0.9):
        expect_finite_or_inf("top_p_filter", call(m, "top_p_filter", big, p), ref.top_p_filter(big, p),
                             f"p={p:g} on 3 rows of 50 logits", mistakes={
                                 "the nucleus is one token too few: keep a token while the mass BEFORE it is "
                                 "below p": _p_one_too_few(big, p)})
    return "right for p from 0.1 to 1 on rows with ties, and on random rows of 50 logits"


# -- sampling ---------------------------------------------------------------------------------------
def check_sample_token(m: Learner) -> str:
    s = m.batch()
    out = s.run(*[s.sample_token(SAMPLE_ROW, t, k, p, u) for t, k, p, u in SAMPLE_CASES])
    for v in out:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise CheckFailed(f"sample_token should return a Python int (a token id), got {type(v).__name__}")
    got = np.array([int(v) for v in out], dtype=np.int64)

    def every(f) -> np.ndarray:
        return np.array([f(SAMPLE_ROW, t, k, p, u) for t, k, p, u in SAMPLE_CASES], dtype=np.int64)

    want = every(ref.sample_token)
    if np.array_equal(got, want):
        return f"right in all {len(SAMPLE_CASES)} draws (greedy with a tie, temperatures, top-k, top-p, both)"
    own = every(_with_own_filters(m))  # judged given the learner's own filters: their mistakes cost their checks
    if np.array_equal(got, own):
        return (f"right in all {len(SAMPLE_CASES)} draws, given your top_k_filter and top_p_filter (fix those in "
                "their own checks)")
    for sampler in (ref.sample_token, _with_own_filters(m)):  # the mistakes, with either set of filters
        mistakes = {
            "the logits are MULTIPLIED by the temperature; divide them (a high temperature flattens the "
            "distribution)": every(lambda z, t, k, p, u: sampler(z, 1 / t if t else 0, k, p, u)),
            "top_k is ignored: with top_k > 0 only the top_k largest logits may be drawn":
                every(lambda z, t, k, p, u: sampler(z, t, 0, p, u)),
            "top_p is ignored: with top_p < 1 only the nucleus may be drawn":
                every(lambda z, t, k, p, u: sampler(z, t, k, 1.0, u)),
        }
        if sampler is ref.sample_token:
            mistakes["top-p is applied before the temperature: divide by the temperature first, then cut the "
                     "nucleus of what the temperature made"] = every(_nucleus_first)
        for words, ids in mistakes.items():
            if np.array_equal(got, ids):
                raise CheckFailed(f"sample_token: {words}")
    wrong = int(np.flatnonzero(got != want)[0])
    t, k, p, u = SAMPLE_CASES[wrong]
    raise CheckFailed(f"sample_token(temperature={t:g}, top_k={k}, top_p={p:g}, u={u:g}) on logits "
                      f"{SAMPLE_ROW.tolist()} gave id {got[wrong]}, expected {want[wrong]}: pick the first id whose "
                      "cumulative probability reaches u, counting ids 0 .. V-1")


def _with_own_filters(m: Learner):
    """The reference's sampling rules with the learner's top_k_filter and top_p_filter in place of its own
    (the reference's where the learner's raise or return something that is not logits)."""
    def own(name: str, z: np.ndarray, arg: float) -> np.ndarray:
        try:
            out = call(m, name, z, arg)
        except CheckFailed:
            out = None
        fallback = getattr(ref, name)(z, arg)
        return out if isinstance(out, np.ndarray) and out.shape == z.shape else fallback

    def draw(z, t, k, p, u):
        if t == 0:
            return int(np.argmax(z))
        z = np.asarray(z, dtype=np.float64) / t
        if k > 0:
            z = np.asarray(own("top_k_filter", z, k), dtype=np.float64)
        z = np.asarray(own("top_p_filter", z, p), dtype=np.float64)
        probs = np.exp(z - z.max())
        cumulative = np.cumsum(probs / probs.sum())
        return int(min(np.sum(cumulative < u), len(z) - 1))
    return draw


def _nucleus_first(z, t, k, p, u):
    if t == 0:
        return int(np.argmax(z))
    z = ref.top_p_filter(np.asarray(z, dtype=np.float64), p) / t
    return ref.sample_token(z, 1.0, k, 1.0, u)


# -- rotary positions --------------------------------------------------------------------------------
def _rotate_halves(x: np.ndarray, positions: np.ndarray, theta: float) -> np.ndarray:
    d = x.shape[-1]
    angle = np.asarray(positions, dtype=np.float64)[:, None] * theta ** (-np.arange(0, d, 2) / d)
    first, second = x[..., : d // 2], x[..., d // 2:]
    return np.concatenate([first * np.cos(angle) - second * np.sin(angle),
                           first * np.sin(angle) + second * np.cos(angle)], axis=-1)


def _rotate_freq(x: np.ndarray, positions: np.ndarray, theta: float) -> np.ndarray:
    """Frequencies theta^(-i/d) instead of theta^(-2i/d)."""
    d = x.shape[-1]
    angle = np.asarray(positions, dtype=np.float64)[:, None] * theta ** (-np.arange(d // 2) / d)
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * np.cos(angle) - odd * np.sin(angle)
    out[..., 1::2] = even * np.sin(angle) + odd * np.cos(angle)
    return out


def check_rope_rotate(m: Learner) -> str:
    x = _rng(1).normal(size=(2, 5, 8))
    for positions, theta in ((np.arange(5), 10000.0), (np.array([7, 8, 9, 10, 11]), 10000.0),
                             (np.array([3, 0, 12, 5, 1]), 100.0)):
        want = ref.rope_rotate(x, positions, theta)
        expect_array(f"rope_rotate output (positions {positions.tolist()}, theta {theta:g})",
                     call(m, "rope_rotate", x, positions, theta), want, mistakes={
                         "the features are paired as the two HALVES (i, i + d/2); pair neighbours (2i, 2i+1)":
                             _rotate_halves(x, positions, theta),
                         "the frequencies are theta^(-i/d); pair i turns at theta^(-2i/d)":
                             _rotate_freq(x, positions, theta),
                         "it rotates the wrong way: the sine's signs are swapped":
                             ref.rope_rotate(x, -positions, theta),
                         "the positions are ignored (0, 1, 2, ... used instead); rotate position t by positions[t]":
                             ref.rope_rotate(x, np.arange(len(positions)), theta),
                     })
    return "rotates neighbouring feature pairs by position * theta^(-2i/d), at any positions given"


# -- cached attention ---------------------------------------------------------------------------------
def _attend(q, keys, values, allowed) -> np.ndarray:
    scores = q @ keys.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
    scores = np.where(allowed, scores, -np.inf)
    w = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return (w / w.sum(axis=-1, keepdims=True)) @ values


def _cases(seed: int = 2):
    r = _rng(seed)
    for length, new in ((3, 1), (4, 3), (0, 3), (0, 1)):
        q, k, v = (r.normal(size=(2, new, 4)) for _ in range(3))
        kc, vc = r.normal(size=(2, length, 4)), r.normal(size=(2, length, 4))
        yield length, new, q, k, v, kc, vc


def check_cached_attention(m: Learner) -> str:
    for length, new, q, k, v, kc, vc in _cases():
        case = f"L={length} cached, {new} new"
        out, keys, values = unpack("cached_attention", call(m, "cached_attention", q, k, v, kc, vc),
                                   ("out", "k_cache", "v_cache"))
        want_out, want_k, want_v = ref.cached_attention(q, k, v, kc, vc)
        expect_array(f"cached_attention k_cache ({case})", keys, want_k, mistakes={
            "the new keys go BEFORE the cached ones; append them after": np.concatenate([k, kc], axis=1)}
            if length else None)
        expect_array(f"cached_attention v_cache ({case})", values, want_v)
        keys_all, values_all = want_k, want_v
        total = length + new
        expect_array(f"cached_attention out ({case})", out, want_out, mistakes={
            "the causal mask is not offset by the cache: new position i sits at L + i and may see every cached "
            "key and the new ones up to itself":
                _attend(q, keys_all, values_all, np.arange(total)[None, :] <= np.arange(new)[:, None]),
            "there is no causal mask: a new position sees the new positions after it":
                _attend(q, keys_all, values_all, np.ones((new, total), dtype=bool)),
            "the scores are not scaled: divide q k^T by sqrt(d)":
                _attend(q * np.sqrt(q.shape[-1]), keys_all, values_all,
                        np.arange(total)[None, :] <= (length + np.arange(new))[:, None]),
            "the new queries attend only to the new keys; attend to the cached ones too":
                _attend(q, k, v, np.arange(new)[None, :] <= np.arange(new)[:, None]),
        })
    return "appends the new keys and values, attends causally with positions offset by the cache, L = 0 too"


def check_cached_step(m: Learner) -> str:
    theta = 10000.0
    for length, new, q, k, v, kc, vc in _cases(3):
        case = f"L={length} cached, {new} new"
        got = unpack("cached_step", call(m, "cached_step", q, k, v, kc, vc, theta), ("out", "k_cache", "v_cache"))
        positions = np.arange(length, length + new)
        s = m.batch()
        rq, rk = s.rope_rotate(q, positions, theta), s.rope_rotate(k, positions, theta)
        want = unpack("cached_attention", s.run(s.cached_attention(rq, rk, v, kc, vc))[0],
                      ("out", "k_cache", "v_cache"))
        s = m.batch()
        zq, zk = s.rope_rotate(q, np.arange(new), theta), s.rope_rotate(k, np.arange(new), theta)
        restart = unpack("cached_attention", s.run(s.cached_attention(zq, zk, v, kc, vc))[0],
                         ("out", "k_cache", "v_cache"))
        for name, g, w, r in zip(("out", "k_cache", "v_cache"), got, want, restart):
            w = np.asarray(w, dtype=np.float64)
            mistakes = {"the positions restart at 0; the new tokens CONTINUE the cache, at L, L+1, ... "
                        "(L = k_cache.shape[1])": np.asarray(r, dtype=np.float64)} if length else None
            expect_array(f"cached_step {name} ({case}), against your rope_rotate and cached_attention at "
                         "positions L, L+1, ...", g, w, mistakes=mistakes)
    return "rotates at the positions that continue the cache, then attends with your cached_attention"


CHECKS = {
    "forward:top_k_filter": check_top_k_filter,
    "forward:top_p_filter": check_top_p_filter,
    "forward:sample_token": check_sample_token,
    "forward:rope_rotate": check_rope_rotate,
    "forward:cached_attention": check_cached_attention,
    "forward:cached_step": check_cached_step,
}

# -- training and generation ---------------------------------------------------------------------------
SEED, LAYERS, HEADS, WIDTH, CONTEXT, BATCH, STEPS, LR, WARMUP = 1, 2, 2, 32, 64, 16, 120, 0.01, 20
PROMPT, GEN_TOKENS, TEMPERATURE, TOP_K, TOP_P, EVAL_EVERY = 12, 40, 0.8, 20, 0.95, 20
TRAIN_SHARE = 0.5
"""of the grading budget the model's training may take; it stops there and is decoded as it is (the cache
must match the full pass whatever the weights)"""


def _heads(x: np.ndarray, w: np.ndarray, heads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """q, k, v (H, T, d) of one sequence x (T, C), before rotation."""
    t, c = x.shape
    qkv = (x @ w).reshape(t, 3, heads, c // heads)
    q, k, v = qkv.transpose(1, 2, 0, 3)
    return q, k, v


def _val_loss(model: ModernLM, ids: np.ndarray) -> float:
    loss_fn, total, count = SequenceCrossEntropy(), 0.0, 0
    n = (len(ids) - 1) // CONTEXT * CONTEXT
    xs, ys = ids[:n].reshape(-1, CONTEXT), ids[1:n + 1].reshape(-1, CONTEXT)
    for i in range(0, len(xs), 32):
        total += loss_fn.forward(model.forward(xs[i:i + 32]), ys[i:i + 32]) * ys[i:i + 32].size
        count += ys[i:i + 32].size
    return total / count


def train(m: Learner, budget_s: float, report=None) -> tuple[float, str, dict[str, float]]:
    """Train the library's small ModernLM (float32, for speed), copy it to float64, then generate through the
    learner's cache and sampling."""
    corpus = load_text(N_CHARS)
    rng = np.random.default_rng(SEED)
    fast = ModernLM(corpus.vocab_size, CONTEXT, n_layer=LAYERS, n_head=HEADS, dim=WIDTH, rng=rng)
    params = fast.parameters()
    opt, loss_fn = AdamW(params, lr=LR), SequenceCrossEntropy()
    schedule = WarmupCosine(lr=LR, total_steps=STEPS, warmup_steps=WARMUP, min_lr=LR / 10)
    ids, start, recent = corpus.train.astype(np.int64), time.perf_counter(), []
    for step in range(STEPS):
        opt.lr = schedule.lr_at(step)
        x, y = get_batch(ids, BATCH, CONTEXT, rng)
        opt.zero_grad()
        recent.append(loss_fn.forward(fast.forward(x), y))
        fast.backward(loss_fn.backward())
        clip_grad_norm(params, 1.0)
        opt.step()
        if (step + 1) % EVAL_EVERY == 0 and report is not None:
            report(step + 1, STEPS + GEN_TOKENS, {"train_loss": float(np.mean(recent))})
            recent = []
        if time.perf_counter() - start > TRAIN_SHARE * budget_s:
            break  # a busy machine: decode the model as trained so far
    model = ModernLM(corpus.vocab_size, CONTEXT, n_layer=LAYERS, n_head=HEADS, dim=WIDTH,
                     rng=np.random.default_rng(SEED), dtype=np.float64)
    for mine, trained in zip(model.parameters(), params):
        mine.data[...] = trained.data
    model.eval()
    val_loss = _val_loss(model, corpus.val.astype(np.int64))
    text = corpus.val[:PROMPT].astype(np.int64)
    worst, drawn = _generate(m, model, text, report)
    sample = corpus.decode(drawn)
    metrics = {"val_loss": val_loss, "max_logit_error": worst, "generated_tokens": float(GEN_TOKENS)}
    message = (f"the library's model (validation loss {val_loss:.3f} nats per character) wrote {GEN_TOKENS} tokens "
               f"through your cache: logits within {worst:.1e} of the full pass at every position, every draw "
               f"the lesson's; your sample: {sample[PROMPT:PROMPT + 60]!r}")
    return 1.0, message, metrics


def _generate(m: Learner, model: ModernLM, prompt: np.ndarray, report) -> tuple[float, np.ndarray]:
    blocks = model._blocks()
    caches = [(np.zeros((HEADS, 0, WIDTH // HEADS)), np.zeros((HEADS, 0, WIDTH // HEADS))) for _ in blocks]
    rows, worst = prompt.copy(), 0.0
    new = prompt
    draws = np.random.default_rng(SEED + 1).random(GEN_TOKENS)
    for i in range(GEN_TOKENS + 1):
        x = model.children["tok"].params["W"].data[new]
        for layer, block in enumerate(blocks):
            c = block.children
            attn = c["attn"]
            q, k, v = _heads(c["norm1"].forward(x[None])[0], attn.params["W_qkv"].data, HEADS)
            out, kc, vc = unpack("cached_step", call(m, "cached_step", q, k, v, *caches[layer], attn.theta),
                                 ("out", "k_cache", "v_cache"))
            if not (isinstance(out, np.ndarray) and out.shape == q.shape and isinstance(kc, np.ndarray)
                    and kc.shape == (HEADS, caches[layer][0].shape[1] + len(new), WIDTH // HEADS)):
                raise CheckFailed(f"cached_step returned out of shape {np.shape(out)} and a cache of shape "
                                  f"{np.shape(kc)} at generation step {i}")
            caches[layer] = (kc, vc)
            merged = out.transpose(1, 0, 2).reshape(len(new), WIDTH)
            x = x + merged @ attn.params["W_o"].data
            x = x + c["ffn"].forward(c["norm2"].forward(x[None]))[0]
        logits = model._logits(model.children["norm"].forward(x[None]))[0, -1]
        full = model.forward(rows[None, -CONTEXT:])[0, -1]
        error = float(np.max(np.abs(logits - full)))
        worst = max(worst, error)
        if not error <= LOGIT_TOL:
            raise CheckFailed(f"at position {len(rows) - 1} the logits through your cache differ from the full "
                              f"forward pass by up to {error:.3g} (allowed {LOGIT_TOL:g}): the cache must give the "
                              "same attention as recomputing the window")
        if i == GEN_TOKENS:
            break
        u = float(1.0 - draws[i])
        token = call(m, "sample_token", full, TEMPERATURE, TOP_K, TOP_P, u)
        want = ref.sample_token(full, TEMPERATURE, TOP_K, TOP_P, u)
        if isinstance(token, bool) or not isinstance(token, (int, np.integer)) or int(token) != want:
            raise CheckFailed(f"at generation step {i} sample_token(temperature={TEMPERATURE}, top_k={TOP_K}, "
                              f"top_p={TOP_P}, u={u:.4f}) gave {token!r}, the lesson's rules draw {want}")
        rows = np.append(rows, int(token))
        new = rows[-1:]
        if report is not None and (i + 1) % 10 == 0:
            report(STEPS + i + 1, STEPS + GEN_TOKENS, {"max_logit_error": worst})
    return worst, rows
