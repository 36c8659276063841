"""decoding-sweep: turn logits into tokens, and decode with a KV cache, written by you in NumPy.

The lesson "Decoding" gives the rules. Logits are float64 arrays whose last axis is the vocabulary
(V); a filter returns logits of the same shape with the excluded tokens at -inf, so filters compose and
a softmax of the result gives the excluded tokens probability 0.

The cached attention works per sequence on heads: arrays (H, T, d), H heads of width d (even), T
positions. The cache holds the keys (already rotated) and values of the L positions seen so far,
(H, L, d) each; L may be 0.

The grader checks each function on fixed inputs (ties and edge cases included), then trains a small
modern language model and generates from it through your cache, layer by layer: the logits must equal
the full forward pass at every position, and your sampling must draw what the lesson's rules draw.

NumPy only. Grade with `pathlab lab grade decoding-sweep`; stuck? `pathlab lab hint decoding-sweep`.
"""

import numpy as np


def top_k_filter(logits, k):
    """Keep the k largest logits of each row (the last axis), every other one set to -inf.

    A tie at the boundary keeps every tied token: keep z_i when z_i >= the k-th largest value of its
    row. k >= V keeps everything. Returns a new float64 array shaped like logits.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if k >= logits.shape[-1]:
        return logits.copy()
    kth = np.sort(logits, axis=-1)[..., -k, None]
    return np.where(logits >= kth, logits, -np.inf)


def top_p_filter(logits, p):
    """Keep the nucleus of mass p of each row, every other logit set to -inf.

    With P = softmax(logits) along the last axis, keep token i when the probabilities of the tokens
    STRICTLY more likely than i add up to less than p. That is the smallest set of the most likely
    tokens whose mass reaches p (the token that crosses p is kept), tied tokens kept or dropped
    together; the most likely token is always kept, and p >= 1 keeps everything.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if p >= 1:
        return logits.copy()
    z = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(z)
    probs /= probs.sum(axis=-1, keepdims=True)
    # mass of the strictly likelier tokens, for every token: compare each pair of the row
    likelier = probs[..., None, :] > probs[..., :, None]
    mass_before = (likelier * probs[..., None, :]).sum(axis=-1)
    return np.where(mass_before < p, logits, -np.inf)


def sample_token(logits, temperature, top_k, top_p, u):
    """One token id (a Python int) from one row of logits (V,), drawn with the number u in (0, 1].

    In this order: divide the logits by the temperature (temperature 0 means greedy: the argmax, the
    lowest id on a tie); keep the top_k (0 means no top-k); keep the nucleus top_p (1 means no top-p);
    then the draw: the first id whose cumulative probability, counting ids 0 .. V-1, reaches u.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return int(np.argmax(logits))
    z = logits / temperature
    if top_k > 0:
        z = top_k_filter(z, top_k)
    z = top_p_filter(z, top_p)
    probs = np.exp(z - z.max())
    cumulative = np.cumsum(probs / probs.sum())
    return int(min(np.sum(cumulative < u), len(z) - 1))


def rope_rotate(x, positions, theta):
    """Rotary position embedding: each pair of features (x[..., 2i], x[..., 2i+1]) of the position at
    time t is rotated by the angle positions[t] * theta ** (-2i / d), i = 0 .. d/2 - 1.

    x (..., T, d) with d even; positions (T,) integers. Returns a float64 array shaped like x:
        out[..., 2i]   = x[..., 2i] * cos(angle) - x[..., 2i+1] * sin(angle)
        out[..., 2i+1] = x[..., 2i] * sin(angle) + x[..., 2i+1] * cos(angle)
    """
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[-1]
    freq = theta ** (-np.arange(0, d, 2) / d)
    angle = np.asarray(positions, dtype=np.float64)[:, None] * freq
    cos, sin = np.cos(angle), np.sin(angle)
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


def cached_attention(q, k, v, k_cache, v_cache):
    """Causal attention of Tn new positions over the L cached ones and themselves.

    q, k, v (H, Tn, d): the new positions' queries, keys and values (q and k already rotated);
    k_cache, v_cache (H, L, d). The new keys and values join the cache after the old ones; new
    position i sits at position L + i, so it may attend to keys 0 .. L + i and no later one. Scores are
    q k^T / sqrt(d). Returns (out (H, Tn, d), k_cache (H, L + Tn, d), v_cache (H, L + Tn, d)).
    """
    keys = np.concatenate([k_cache, k], axis=1)
    values = np.concatenate([v_cache, v], axis=1)
    length, new = k_cache.shape[1], q.shape[1]
    scores = q @ keys.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
    allowed = np.arange(length + new)[None, :] <= (length + np.arange(new))[:, None]
    scores = np.where(allowed, scores, -np.inf)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = scores / scores.sum(axis=-1, keepdims=True)
    return weights @ values, keys, values


def cached_step(q, k, v, k_cache, v_cache, theta):
    """One decoding step of one attention layer: rotate the new queries and keys (H, Tn, d) at the
    positions that CONTINUE the cache's (L, L+1, ..., L+Tn-1, with L = k_cache.shape[1]) using your
    rope_rotate, then attend with your cached_attention. Returns what cached_attention returns.
    """
    length = k_cache.shape[1]
    positions = np.arange(length, length + q.shape[1])
    return cached_attention(rope_rotate(q, positions, theta), rope_rotate(k, positions, theta), v,
                            k_cache, v_cache)
