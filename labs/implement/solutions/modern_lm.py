"""modern-lm: the pieces that changed since GPT-2 (RMSNorm, SwiGLU, rotary positions), by you in NumPy.

The grader builds a one-block modern language model on Shakespeare's characters from your functions:
token embedding -> your rmsnorm -> attention whose queries and keys your rope rotates (your rope_attention)
-> residual -> your rmsnorm -> your swiglu -> residual -> your rmsnorm -> readout, trains it with your
backward passes and expects the validation loss below the target. Shapes: x (..., C), the last axis the
features; every function keeps its inputs' float dtype.

RMSNorm (lesson: "RMSNorm"), weight g (C,):
    r = 1 / sqrt(mean(x^2 over the last axis) + eps)        eps INSIDE the square root
    y = g * x * r                                           no mean subtracted, no bias
SwiGLU (lesson: "SwiGLU"), W1 and W3 (C, F), W2 (F, C), no biases:
    a = x W1,  b = x W3,  y = (SiLU(a) * b) W2,   SiLU(a) = a * sigmoid(a)
Rotary positions (lesson: "Rotary positions"), x (..., T, d) with d even, positions (T,) integers:
    the pair of ADJACENT features (x_2i, x_2i+1) at position p turns by the angle p * theta^(-2i/d):
    y_2i = x_2i cos - x_2i+1 sin,   y_2i+1 = x_2i sin + x_2i+1 cos
Attention with rotary positions: q, k, v (N, T, d); rotate q and k (never v), then causal scaled
dot-product attention, softmax(mask(q k^T / sqrt(d))) v, position t attending to 0..t.
Private helpers (names starting with _) are welcome. Grade with `pathlab lab grade modern-lm`;
stuck? `pathlab lab hint modern-lm`.
"""

import numpy as np


def _inv_rms(x, eps):
    return 1.0 / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps)


def rmsnorm_forward(x, g, eps):
    """y = g * x / sqrt(mean(x^2) + eps) over the last axis: x (..., C), g (C,) -> y (..., C)."""
    return g * x * _inv_rms(x, eps)


def rmsnorm_backward(dout, x, g, eps):
    """Gradients of rmsnorm_forward given dout = dL/dy (..., C): returns (dx, dg), dx like x and dg (C,)
    summed over every leading axis. Mind that r depends on x too."""
    r = _inv_rms(x, eps)
    x_hat = x * r
    dg = (dout * x_hat).reshape(-1, x.shape[-1]).sum(axis=0)
    g_hat = dout * g
    dx = r * (g_hat - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True))
    return dx, dg


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def swiglu_forward(x, W1, W3, W2):
    """y = (SiLU(x W1) * (x W3)) W2: x (..., C), W1 and W3 (C, F), W2 (F, C) -> y (..., C)."""
    a = x @ W1
    return (a * _sigmoid(a) * (x @ W3)) @ W2


def swiglu_backward(dout, x, W1, W3, W2):
    """Gradients of swiglu_forward given dout (..., C): returns (dx, dW1, dW3, dW2) shaped like
    x, W1, W3 and W2 (weights summed over every leading axis). SiLU'(a) = s (1 + a (1 - s))."""
    a, b = x @ W1, x @ W3
    s = _sigmoid(a)
    silu = a * s
    flat = lambda t: t.reshape(-1, t.shape[-1])  # noqa: E731
    dh = dout @ W2.T
    dW2 = flat(silu * b).T @ flat(dout)
    da = dh * b * s * (1 + a * (1 - s))
    db = dh * silu
    return da @ W1.T + db @ W3.T, flat(x).T @ flat(da), flat(x).T @ flat(db), dW2


def _angles(positions, d, theta):
    freqs = theta ** (-np.arange(0, d, 2) / d)
    angles = np.asarray(positions)[:, None] * freqs[None, :]
    return np.cos(angles), np.sin(angles)


def _rotate(x, cos, sin):
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


def rope_forward(x, positions, theta):
    """Rotate each adjacent pair (x_2i, x_2i+1) of x (..., T, d) at position positions[t] by the angle
    positions[t] * theta^(-2i/d)  ->  y (..., T, d)."""
    cos, sin = _angles(positions, x.shape[-1], theta)
    return _rotate(x, cos.astype(x.dtype), sin.astype(x.dtype))


def rope_backward(dout, positions, theta):
    """Gradient of rope_forward with respect to x, given dout (..., T, d). A rotation's inverse is its
    transpose: what does that make of the backward pass?"""
    cos, sin = _angles(positions, dout.shape[-1], theta)
    return _rotate(dout, cos.astype(dout.dtype), -sin.astype(dout.dtype))


def rope_attention(q, k, v, positions, theta):
    """Causal attention with rotary positions: q, k, v (N, T, d) -> out (N, T, d). Rotate the queries
    and the keys with rope_forward, then softmax(q k^T / sqrt(d), the future masked) @ v."""
    q, k = rope_forward(q, positions, theta), rope_forward(k, positions, theta)
    steps, d = q.shape[-2], q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(d)
    scores = np.where(np.triu(np.ones((steps, steps), dtype=bool), k=1), -np.inf, scores)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True) @ v
