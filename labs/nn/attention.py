"""Causal multi-head self-attention, and the pre-norm transformer block built around it.

For x (B, T, C) and H heads of width d = C / H (Q, K, V and O are (B, H, T, d), P is (B, H, T, T)):

    [Q K V] = x W_qkv + b_qkv,   P = softmax(Q K^T / sqrt(d) + M),   O = P V,   y = [O_1..O_H] W_proj + b_proj

with the causal mask M[t, s] = 0 for s <= t and -inf for s > t: position t never sees t+1..T-1, so a
language model trained to predict the next token cannot read it. Backward, per head:

    dO = dy W_proj^T,  dV = P^T dO,  dP = dO V^T,  dS = P * (dP - rowsum(dP * P)),
    dQ = dS K / sqrt(d),  dK = dS^T Q / sqrt(d),  then dW_qkv = x^T [dQ dK dV], dx = [dQ dK dV] W_qkv^T.

Twin: reference.attention and reference.attention_backward (one expression per line above). The
tuned code differs in how, never in what:
- one matmul makes Q, K and V; heads are a batch axis, and the batched products write straight into
  the (B, T, H, d) layout W_proj reads (`out=` a transposed view), so no merge copy or np.stack;
- the queries are scaled by 1/sqrt(d) before the product (T*d numbers, not T*T scores);
- the mask is a precomputed additive matrix; each softmax row is shifted by its diagonal score
  rather than its maximum (exact: softmax ignores any per-row shift; the overflow guard is in
  `causal_softmax`);
- rowsum(dP * P) = rowsum(dO * O), since sum_s (dO_t . v_s) P_ts = dO_t . O_t: a sum over d numbers
  instead of T (FlashAttention's identity);
- row sums are BLAS matrix-vector products (`row_sums`).
"""

from __future__ import annotations

import numpy as np

from labs.nn.core import Layer, Parameter
from labs.nn.layers import GELU, Linear, column_sums, row_sums
from labs.nn.normalization import LayerNorm


def causal_mask(steps: int, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """(T, T) additive mask: 0 where key s <= query t, -inf where s > t."""
    return np.triu(np.full((steps, steps), -np.inf, dtype=dtype), k=1)


# How far a visible score may exceed its row's diagonal score for the diagonal shift below to be safe:
# exp(80) = 5.5e34 is still a finite float32, so no exp overflows.
_SHIFT_MARGIN = 80.0


def _running_max(x: np.ndarray) -> np.ndarray:
    """max(x[..., :t+1]) for every t: the accumulation runs over a leading axis (a moved view), where
    NumPy takes whole rows at a time, rather than along the short last axis one element at a time."""
    return np.moveaxis(np.maximum.accumulate(np.moveaxis(x, -1, 0), axis=0), 0, -1)


def causal_softmax(q: np.ndarray, k: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """P = softmax(q k^T + mask) over the last axis: q, k (..., T, d) -> the probabilities (..., T, T).

    softmax(s) = softmax(s - m) for any per-row m, so row t is shifted by its DIAGONAL score
    m_t = q_t . k_t (always visible) instead of its maximum: read, not searched for, and the row then
    holds e^0 = 1, so its sum is >= 1 and never underflows. No exp overflows unless a visible score
    exceeds m_t by more than _SHIFT_MARGIN, and by Cauchy-Schwarz every visible score of row t is at
    most |q_t| max_{s<=t} |k_s|, cheap to compute; rows where that bound minus m_t passes the margin
    are shifted by their exact maximum instead. Each choice depends on positions <= t only, so earlier
    outputs stay exactly unchanged when a later token changes. Twin: reference.causal_softmax."""
    scores = q @ k.transpose(*range(k.ndim - 2), -1, -2)
    diagonal = np.einsum("...ii->...i", scores).copy()  # (..., T)
    bound = np.sqrt(np.einsum("...i,...i->...", q, q) * _running_max(np.einsum("...i,...i->...", k, k)))
    shift = diagonal
    if float((bound - diagonal).max()) > _SHIFT_MARGIN:  # rare: large, very different scores
        row_max = (scores + mask).max(axis=-1)
        shift = np.where(bound - diagonal > _SHIFT_MARGIN, row_max, diagonal)
    scores -= shift[..., None]
    scores += mask
    np.exp(scores, out=scores)
    scores *= 1.0 / row_sums(scores)[..., None]
    return scores


class CausalSelfAttention(Layer):
    """(B, T, C) -> (B, T, C) with `n_heads` heads of width C / n_heads (equations: module docstring).

    Parameters W_qkv (C, 3C), b_qkv (3C,), W_proj (C, C), b_proj (C,); weights start N(0, std^2)."""

    def __init__(
        self,
        dim: int,
        n_heads: int,
        *,
        rng: np.random.Generator,
        std: float = 0.02,
        proj_std: float | None = None,
        dtype: np.dtype | type = np.float32,
    ):
        super().__init__()
        if dim % n_heads:
            raise ValueError(f"attention width {dim} is not divisible by the number of heads {n_heads}")
        self.dim, self.n_heads = dim, n_heads
        proj_std = std if proj_std is None else proj_std
        self.params["W_qkv"] = Parameter((rng.standard_normal((dim, 3 * dim)) * std).astype(dtype))
        self.params["b_qkv"] = Parameter(np.zeros(3 * dim, dtype=dtype))
        self.params["W_proj"] = Parameter((rng.standard_normal((dim, dim)) * proj_std).astype(dtype))
        self.params["b_proj"] = Parameter(np.zeros(dim, dtype=dtype))
        self._masks: dict[tuple[int, np.dtype], np.ndarray] = {}

    @staticmethod
    def count_parameters(dim: int) -> int:
        """Closed form: 3C^2 + 3C (queries, keys, values) + C^2 + C (output projection)."""
        return 4 * dim * dim + 4 * dim

    def _mask(self, steps: int, dtype: np.dtype) -> np.ndarray:
        key = (steps, np.dtype(dtype))
        if key not in self._masks:
            self._masks[key] = causal_mask(steps, dtype)
        return self._masks[key]

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 3 or x.shape[2] != self.dim:
            raise ValueError(f"attention expects input (batch, time, {self.dim}), got shape {x.shape}")
        b, t, c = x.shape
        h, d = self.n_heads, c // self.n_heads
        qkv = x.reshape(b * t, c) @ self.params["W_qkv"].data + self.params["b_qkv"].data
        # Scale the queries (T x d numbers) rather than the scores (T x T): a Python float, since a
        # NumPy float64 scalar would promote float32 to float64 and double every later layer's cost.
        scale = 1.0 / float(np.sqrt(d))
        qkv[:, :c] *= scale
        q, k, v = qkv.reshape(b, t, 3, h, d).transpose(2, 0, 3, 1, 4)  # each (B, H, T, d); q scaled
        probs = causal_softmax(q, k, self._mask(t, qkv.dtype))
        merged = np.empty((b, t, h, d), dtype=qkv.dtype)  # the heads side by side, as W_proj reads them
        np.matmul(probs, v, out=merged.transpose(0, 2, 1, 3))
        merged = merged.reshape(b * t, c)
        self.cache = (x, q, k, v, probs, merged, scale)
        return (merged @ self.params["W_proj"].data + self.params["b_proj"].data).reshape(b, t, c)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x, q, k, v, probs, merged, scale = self.cache
        b, t, c = x.shape
        h, d = self.n_heads, c // self.n_heads
        p = self.params
        g = grad_out.reshape(b * t, c)
        p["W_proj"].grad += merged.T @ g
        p["b_proj"].grad += column_sums(g)
        d_merged = (g @ p["W_proj"].data.T).reshape(b, t, h, d)
        d_heads = d_merged.transpose(0, 2, 1, 3)
        # Softmax backward is p * (dp - sum_s dp_s p_s) with dp = d_heads @ v^T; that row sum equals
        # d_heads . heads (sum_s (dO_t . v_s) p_ts = dO_t . O_t), a sum over d numbers instead of T.
        row_dot = row_sums(d_merged * merged.reshape(b, t, h, d)).transpose(0, 2, 1)  # (B, H, T)
        d_scores = d_heads @ v.transpose(0, 1, 3, 2)
        d_scores -= row_dot[..., None]
        d_scores *= probs
        # dq, dk, dv go straight into their columns of one (B, T, 3, H, d) array: no np.stack copy.
        dqkv = np.empty((b, t, 3, h, d), dtype=g.dtype)
        dq, dk, dv = dqkv.transpose(2, 0, 3, 1, 4)
        np.matmul(d_scores, k, out=dq)
        dq *= scale  # through the scaling of the queries
        np.matmul(d_scores.transpose(0, 1, 3, 2), q, out=dk)  # q is already scaled
        np.matmul(probs.transpose(0, 1, 3, 2), d_heads, out=dv)
        dqkv = dqkv.reshape(b * t, 3 * c)
        p["W_qkv"].grad += x.reshape(b * t, c).T @ dqkv
        p["b_qkv"].grad += column_sums(dqkv)
        return (dqkv @ p["W_qkv"].data.T).reshape(b, t, c)


class TransformerBlock(Layer):
    """Pre-norm block, (B, T, C) -> (B, T, C):

        h = x + attn(LN1(x)),    y = h + proj(GELU(fc(LN2(h)))),    fc: C -> 4C, proj: 4C -> C.

    Backward: dh = dy + LN2'(fc'(GELU'(proj'(dy)))), dx = dh + LN1'(attn'(dh)), each ' the layer's
    own backward. Normalising before each branch (rather than after the sum) keeps a clean identity
    path from the block's output back to its input, which is why deep pre-norm stacks train without
    warm-up tricks.
    """

    def __init__(
        self,
        dim: int,
        n_heads: int,
        *,
        rng: np.random.Generator,
        std: float = 0.02,
        proj_std: float | None = None,
        dtype: np.dtype | type = np.float32,
    ):
        super().__init__()
        proj_std = std if proj_std is None else proj_std
        self.children["ln1"] = LayerNorm(dim, dtype=dtype)
        self.children["attn"] = CausalSelfAttention(
            dim, n_heads, rng=rng, std=std, proj_std=proj_std, dtype=dtype
        )
        self.children["ln2"] = LayerNorm(dim, dtype=dtype)
        self.children["fc"] = normal_linear(dim, 4 * dim, std, rng, dtype)
        self.children["gelu"] = GELU()
        self.children["proj"] = normal_linear(4 * dim, dim, proj_std, rng, dtype)

    @staticmethod
    def count_parameters(dim: int) -> int:
        """Closed form: two LayerNorms (4C), attention (4C^2 + 4C), MLP (8C^2 + 5C): 12C^2 + 13C."""
        return 12 * dim * dim + 13 * dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        c = self.children
        x = x + c["attn"].forward(c["ln1"].forward(x))
        return x + c["proj"].forward(c["gelu"].forward(c["fc"].forward(c["ln2"].forward(x))))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        c = self.children
        g_mlp = c["fc"].backward(c["gelu"].backward(c["proj"].backward(grad_out)))
        grad = grad_out + c["ln2"].backward(g_mlp)
        return grad + c["ln1"].backward(c["attn"].backward(grad))


def normal_linear(
    n_in: int, n_out: int, std: float, rng: np.random.Generator, dtype: np.dtype | type = np.float32
) -> Linear:
    """A Linear layer whose weight is N(0, std^2) and bias zero, the GPT initialisation."""
    layer = Linear(n_in, n_out, rng=rng, dtype=dtype)
    weight, bias = layer.params["W"], layer.params["b"]
    weight.data = (rng.standard_normal(weight.shape) * std).astype(dtype)
    bias.data = np.zeros(bias.shape, dtype=dtype)
    return layer
