"""transformer-chars: causal self-attention, forward and backward, written by you in NumPy.

The grader embeds characters of Shakespeare (token + position embeddings), projects them to queries,
keys and values, runs your attention_forward, adds the result back (a residual) and reads out the next
character; it trains with your attention_backward and expects the validation loss below the target.

Single head, batched: q, k, v are (N, T, d). Position t may attend to positions 0..t only (causal):
    S = q @ k^T / sqrt(d)           (N, T, T)   scores; S[n, t, s] for s > t is masked to -infinity
    P = softmax(S) along the last axis          each row sums to 1, masked entries are exactly 0
    out = P @ v                     (N, T, d)
No loop over samples or positions: batched matrix products (@ on 3-D arrays) do it all.
Grade with `pathlab lab grade transformer-chars`; stuck? `pathlab lab hint transformer-chars`.
"""

import numpy as np


def _causal_weights(q, k):
    """P = softmax(q k^T / sqrt(d)) with the future masked out, (N, T, T)."""
    steps, d = q.shape[1], q.shape[2]
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(d)
    future = np.triu(np.ones((steps, steps), dtype=bool), k=1)
    scores = np.where(future, -np.inf, scores)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=-1, keepdims=True)


def attention_forward(q, k, v):
    """Causal scaled dot-product attention: out = softmax(mask(q @ k^T / sqrt(d))) @ v.

    q, k, v (N, T, d)  ->  out (N, T, d). Row t of the attention weights is zero beyond column t.
    """
    return _causal_weights(q, k) @ v


def attention_backward(dout, q, k, v):
    """Gradients of attention_forward, given dout = dL/dout (N, T, d). Returns (dq, dk, dv).

    Recompute P. Then dv = P^T @ dout and dP = dout @ v^T. Through the softmax of each row,
    dS = P * (dP - sum(dP * P along the row)); masked entries have P = 0 and so get no gradient.
    Finally S = q k^T / sqrt(d) gives dq = dS @ k / sqrt(d) and dk = dS^T @ q / sqrt(d).
    """
    weights = _causal_weights(q, k)
    dv = weights.transpose(0, 2, 1) @ dout
    dweights = dout @ v.transpose(0, 2, 1)
    dscores = weights * (dweights - (dweights * weights).sum(axis=-1, keepdims=True))
    dscores = dscores / np.sqrt(q.shape[2])
    return dscores @ k, dscores.transpose(0, 2, 1) @ q, dv
