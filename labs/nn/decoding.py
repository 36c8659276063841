"""Turning next-token logits into text: greedy, temperature, top-k, top-p (nucleus), and cached decoding.

Each filter maps logits (..., V) to logits of the same shape with the excluded tokens at -inf, so they
compose; `sample` applies, in this order (as Hugging Face's generate does), temperature, top-k, top-p,
then draws from softmax of what is left:

- greedy: argmax; on a tie the lowest id (numpy's argmax).
- temperature tau > 0: logits / tau (tau < 1 sharpens, tau > 1 flattens); tau = 0 means greedy.
- top-k: keep every token whose logit is >= the k-th largest logit, so a tie at the boundary keeps all
  the tied tokens (never an arbitrary one of them); k >= V keeps everything.
- top-p: with P = softmax(logits), keep token i iff the probability of the tokens STRICTLY more likely
  than i sums to less than p. That is the smallest set of the most likely tokens whose mass reaches
  p, with tied tokens kept or dropped together, so the result does not depend on a sort's order;
  p >= 1 keeps everything, and the most likely tokens are always kept.
- a draw: the inverse of the cumulative distribution at u = (1 - U) * total, U uniform in [0, 1) from
  the given Generator, so u is in (0, total] and never lands on a token of probability zero; the same
  seed gives the same tokens.

Cached decoding (`generate`): the prompt runs once through `model.forward_cached`, which stores every
layer's keys (after RoPE) and values in a KVCache; each new token then costs one position: its query
against the cached keys, its position continuing the count. The logits equal those of the full
forward pass at every position up to rounding. The cache holds 2 * layers * tokens * width numbers
per sequence.
"""

from __future__ import annotations

import numpy as np

from labs.nn.language_models import _check_prompt
from labs.nn.losses import softmax


def greedy(logits: np.ndarray) -> np.ndarray:
    """The most likely token per row of logits (..., V); the lowest id on a tie."""
    return np.asarray(logits).argmax(axis=-1)


def apply_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0 to scale logits (0 means greedy), got {temperature}")
    return np.asarray(logits, dtype=np.float64) / temperature


def top_k_filter(logits: np.ndarray, k: int) -> np.ndarray:
    """Logits with every token below the k-th largest logit set to -inf (ties with it kept)."""
    logits = np.asarray(logits, dtype=np.float64)
    if k < 1:
        raise ValueError(f"top_k must be >= 1, got {k}")
    if k >= logits.shape[-1]:
        return logits.copy()
    kth = np.partition(logits, -k, axis=-1)[..., -k, None]
    return np.where(logits >= kth, logits, -np.inf)


def top_p_filter(logits: np.ndarray, p: float) -> np.ndarray:
    """Logits with every token outside the nucleus of mass p set to -inf (definition: module docstring)."""
    logits = np.asarray(logits, dtype=np.float64)
    if not 0 < p:
        raise ValueError(f"top_p must be in (0, 1], got {p}")
    if p >= 1:
        return logits.copy()
    probs = softmax(logits)
    order = np.argsort(-probs, axis=-1, kind="stable")
    ranked = np.take_along_axis(probs, order, axis=-1)  # descending
    mass_before = np.cumsum(ranked, axis=-1) - ranked  # mass of the tokens ranked above
    # tied tokens take the mass before the first of their group, i.e. only strictly likelier tokens
    new_group = np.ones(ranked.shape, dtype=bool)
    new_group[..., 1:] = ranked[..., 1:] != ranked[..., :-1]
    first = np.maximum.accumulate(np.where(new_group, np.arange(ranked.shape[-1]), 0), axis=-1)
    keep_ranked = np.take_along_axis(mass_before, first, axis=-1) < p
    keep = np.empty_like(keep_ranked)
    np.put_along_axis(keep, order, keep_ranked, axis=-1)
    return np.where(keep, logits, -np.inf)


def sample(logits: np.ndarray, rng: np.random.Generator, *, temperature: float = 1.0,
           top_k: int | None = None, top_p: float | None = None) -> np.ndarray:
    """One token id per row of logits (B, V): temperature, then top-k, then top-p, then a seeded draw."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError(f"sample reads logits (batch, vocab), got shape {logits.shape}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return greedy(logits)
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    cumulative = softmax(logits).cumsum(axis=-1)
    u = (1.0 - rng.random((logits.shape[0], 1))) * cumulative[:, -1:]
    return (cumulative < u).sum(axis=-1)


def generate(model, prompt: np.ndarray, n: int, rng: np.random.Generator, *, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, use_cache: bool | None = None) -> np.ndarray:
    """The prompt (B, T) followed by n tokens sampled from `model` (a ModernLM, or anything with
    forward / new_cache / forward_cached and a `context`).

    use_cache=True decodes with a KV cache (needs T + n <= context: the model was never trained on
    later positions); False recomputes the last `context` tokens for every new token; None (default)
    caches when the whole sequence fits in the context and slides the window otherwise."""
    prompt = _check_prompt(prompt, n)
    b, t = prompt.shape
    fits = t + n <= model.context
    if use_cache is None:
        use_cache = fits and hasattr(model, "forward_cached")
    if use_cache and not fits:
        raise ValueError(f"a KV cache decodes within the context: prompt {t} + {n} tokens > context {model.context}")
    out = np.empty((b, t + n), dtype=np.int64)
    out[:, :t] = prompt
    options = dict(temperature=temperature, top_k=top_k, top_p=top_p)
    if not use_cache:
        for i in range(t, t + n):
            window = out[:, max(0, i - model.context):i]
            out[:, i] = sample(model.forward(window)[:, -1], rng, **options)
        return out
    cache = model.new_cache(b, t + n)
    logits = model.forward_cached(prompt, cache)[:, -1]
    for i in range(t, t + n):
        out[:, i] = sample(logits, rng, **options)
        if i + 1 < t + n:
            logits = model.forward_cached(out[:, i:i + 1], cache)[:, -1]
    return out
