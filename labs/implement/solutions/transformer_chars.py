"""transformer-chars: causal self-attention, its heads, and a pre-norm transformer block, by you in NumPy.

The grader embeds characters of Shakespeare (token + position embeddings), runs them through your
block_forward, reads out the next character from every position, trains with your block_backward and
expects the validation loss below the target. Your block is built from your own pieces: attention,
split into heads and merged back.

Single head, batched: q, k, v are (N, T, d). Position t may attend to positions 0..t only (causal):
    S = q @ k^T / sqrt(d)           (N, T, T)   scores; S[n, t, s] for s > t is masked to -infinity
    P = softmax(S) along the last axis          each row sums to 1, masked entries are exactly 0
    out = P @ v                     (N, T, d)
No loop over samples or positions: batched matrix products (@ on 3-D arrays) do it all.

Heads (lesson: "Multi-head attention"): with C features and H heads, head h owns the features
h*C/H .. (h+1)*C/H - 1 of every position; split_heads gives each head its own (T, C/H) slice, merge_heads
puts them back side by side. Both only move numbers, so the backward of each is the other.

The block (lesson: "The transformer block"), pre-norm, for x (N, T, C) and params (Wq, Wk, Wv, Wo, W1, W2):
    h = x + MultiHeadAttention(LN(x))      queries LN(x) @ Wq, keys, values likewise, split into heads;
                                           causal attention per head; heads merged; then @ Wo
    y = h + relu(LN(h) @ W1) @ W2          W1 (C, 4C), W2 (4C, C); no biases in this block
LN(z) normalises each position over its C features: (z - mean) / sqrt(var + 1e-5), no gain or bias.
Private helpers (names starting with _) are welcome: e.g. a layer norm and its backward.
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
    """The backward pass of attention_forward: given dout = dL/dout (N, T, d) and the same q, k, v
    (N, T, d), return (dq, dk, dv), each (N, T, d) like its input.

    Differentiate the three lines S, P, out of the module docstring (lesson "Attention", "Scaled dot-product
    attention" and "The causal mask") with the chain rule of lesson "Backpropagation", from the output
    back to the scores; the softmax is taken row by row. A masked (future) position must receive no
    gradient. Batched matrix products, no loops; recompute what you need from q and k.
    """
    weights = _causal_weights(q, k)
    dv = weights.transpose(0, 2, 1) @ dout
    dweights = dout @ v.transpose(0, 2, 1)
    dscores = weights * (dweights - (dweights * weights).sum(axis=-1, keepdims=True))
    dscores = dscores / np.sqrt(q.shape[2])
    return dscores @ k, dscores.transpose(0, 2, 1) @ q, dv


def split_heads(x, n_heads):
    """(N, T, C) -> (N, H, T, C / H) with H = n_heads: out[:, h, t] is features h*C/H .. (h+1)*C/H - 1
    of x[:, t]. A reshape alone cannot do it: mind which axis the heads must come out on."""
    n, steps, width = x.shape
    return x.reshape(n, steps, n_heads, width // n_heads).transpose(0, 2, 1, 3)


def merge_heads(x):
    """(N, H, T, D) -> (N, T, H * D), the inverse of split_heads: merge_heads(split_heads(x, H)) == x.
    Because split_heads only moves entries, merge_heads is also its backward (and split_heads merge's)."""
    n, heads, steps, width = x.shape
    return x.transpose(0, 2, 1, 3).reshape(n, steps, heads * width)


EPS = 1e-5


def _layer_norm(z):
    """Each position normalised over its features: (z - mean) / sqrt(var + EPS)."""
    centred = z - z.mean(axis=-1, keepdims=True)
    return centred / np.sqrt((centred**2).mean(axis=-1, keepdims=True) + EPS)


def _layer_norm_backward(dout, z):
    """d LN(z) / dz applied to dout: (dout - mean(dout) - zhat * mean(dout * zhat)) / std."""
    zhat, std = _layer_norm(z), np.sqrt(z.var(axis=-1, keepdims=True) + EPS)
    return (dout - dout.mean(axis=-1, keepdims=True) - zhat * (dout * zhat).mean(axis=-1, keepdims=True)) / std


def _heads_as_batch(x):
    """(N, H, T, D) -> (N * H, T, D): every head of every sample is one sequence for attention_forward."""
    return x.reshape(-1, x.shape[2], x.shape[3])


def _attention_heads(a, Wq, Wk, Wv, n_heads):
    """The queries, keys and values of a (N, T, C) per head, each (N * H, T, C / H), and attention's output."""
    q, k, v = (_heads_as_batch(split_heads(a @ w, n_heads)) for w in (Wq, Wk, Wv))
    return q, k, v, attention_forward(q, k, v)


def _mlp_backward(dy, m, W1, W2):
    """Gradients of relu(m @ W1) @ W2 with respect to m, W1 and W2."""
    hidden = m @ W1
    active = np.maximum(hidden, 0)
    dhidden = (dy @ W2.T) * (hidden > 0)
    flat = lambda t: t.reshape(-1, t.shape[-1])  # noqa: E731
    return dhidden @ W1.T, flat(m).T @ flat(dhidden), flat(active).T @ flat(dy)


def _attention_backward(dbranch, a, Wq, Wk, Wv, Wo, n_heads):
    """Gradients of merge(attention(heads of a)) @ Wo with respect to a, Wq, Wk, Wv and Wo."""
    n, steps, width = a.shape
    q, k, v, o = _attention_heads(a, Wq, Wk, Wv, n_heads)
    merged = merge_heads(o.reshape(n, n_heads, steps, -1))
    flat = lambda t: t.reshape(-1, t.shape[-1])  # noqa: E731
    dWo = flat(merged).T @ flat(dbranch)
    do = _heads_as_batch(split_heads(dbranch @ Wo.T, n_heads))  # split is merge's backward
    dq, dk, dv = (merge_heads(g.reshape(n, n_heads, steps, -1)) for g in attention_backward(do, q, k, v))
    da = dq @ Wq.T + dk @ Wk.T + dv @ Wv.T
    return da, flat(a).T @ flat(dq), flat(a).T @ flat(dk), flat(a).T @ flat(dv), dWo


def block_forward(x, params, n_heads):
    """The pre-norm transformer block of the module docstring: x (N, T, C), params the tuple
    (Wq, Wk, Wv, Wo, W1, W2), n_heads dividing C  ->  y (N, T, C). Build it from your own functions:
    attention_forward per head (heads become part of the batch), split_heads and merge_heads."""
    Wq, Wk, Wv, Wo, W1, W2 = params
    n, steps, _ = x.shape
    o = _attention_heads(_layer_norm(x), Wq, Wk, Wv, n_heads)[3]
    h = x + merge_heads(o.reshape(n, n_heads, steps, -1)) @ Wo
    return h + np.maximum(_layer_norm(h) @ W1, 0) @ W2


def block_backward(dout, x, params, n_heads):
    """Gradients of block_forward, given dout = dL/dy (N, T, C). Recompute what the forward pass made,
    then walk it backwards, minding every path by which x and h reach y (lesson: "The transformer
    block"); your attention_backward, merge_heads and split_heads do the attention branch's middle.
    Returns (dx, dparams): dx (N, T, C) and dparams a tuple (dWq, dWk, dWv, dWo, dW1, dW2) with the
    shapes of params.
    """
    Wq, Wk, Wv, Wo, W1, W2 = params
    n, steps, _ = x.shape
    o = _attention_heads(_layer_norm(x), Wq, Wk, Wv, n_heads)[3]
    h = x + merge_heads(o.reshape(n, n_heads, steps, -1)) @ Wo
    dm, dW1, dW2 = _mlp_backward(dout, _layer_norm(h), W1, W2)
    dh = dout + _layer_norm_backward(dm, h)
    da, dWq, dWk, dWv, dWo = _attention_backward(dh, _layer_norm(x), Wq, Wk, Wv, Wo, n_heads)
    dx = dh + _layer_norm_backward(da, x)
    return dx, (dWq, dWk, dWv, dWo, dW1, dW2)
