"""The modern (LLaMA-style) transformer: RMSNorm, SwiGLU, rotary positions, and the language model.

What changed since GPT-2, piece by piece (x is a row of width C; shapes below):

- RMSNorm, (..., C) -> (..., C), weight g (C,):
      r = 1 / sqrt(mean(x^2) + eps),  x_hat = x r,  y = g * x_hat                        (eps = 1e-5)
  backward, with g_hat = dy * g:  dg = sum_rows dy * x_hat,  dx = r (g_hat - x_hat mean(g_hat * x_hat)).
  No centring and no bias: the mean and beta of LayerNorm turned out not to matter.
- SiLU(a) = a s(a), s the sigmoid; SiLU'(a) = s (1 + a (1 - s)).
- SwiGLU feed-forward, (..., C) -> (..., C), W1, W3 (C, F), W2 (F, C), no biases:
      a = x W1,  b = x W3,  h = SiLU(a) * b,  y = h W2
  backward: dW2 = h^T dy, dh = dy W2^T, da = dh * b * SiLU'(a), db = dh * SiLU(a),
            dW1 = x^T da, dW3 = x^T db, dx = da W1^T + db W3^T.
- Rotary position embedding (RoPE) of a query or key row at position p, width d: each pair of adjacent
  features (x_2i, x_2i+1) is rotated by the angle p w_i, w_i = theta^(-2i/d), theta = 10000:
      y_2i = x_2i cos - x_2i+1 sin,   y_2i+1 = x_2i sin + x_2i+1 cos;
  a rotation's inverse is its transpose, so backward rotates dy by -p w_i. Then q_t . k_s depends on
  the positions only through t - s: attention sees relative positions, and no position table is learned.
  Positions are passed explicitly, so a KV cache continues them.
- Scaled dot-product attention, q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv), mask broadcastable to
  (..., Tq, Tk) with True = may attend:
      S = q k^T / sqrt(d) (masked entries -inf),  P = softmax_rows(S),  O = P v
  backward: dv = P^T dO, dP = dO v^T, dS = P * (dP - rowsum(dO * O)), dq = dS k / sqrt(d),
  dk = dS^T q / sqrt(d)  (rowsum(dP * P) = rowsum(dO * O), a sum over dv numbers instead of Tk).
  A row with no key to attend to gives O = 0 and no gradient (PyTorch's math path gives NaN there).
- Causal multi-head attention with RoPE: [Q K V] = x W_qkv (no bias), heads of width d = C / H,
  RoPE on Q and K per head at the given positions, key s visible to query t iff pos_s <= pos_t,
  y = [O_1 .. O_H] W_o.
- Pre-norm block: h = x + attn(RMSNorm1(x)), y = h + SwiGLU(RMSNorm2(h)).
- ModernLM: token embedding (no learned positions) -> N blocks -> RMSNorm -> logits = h W_out, no
  bias; with tied weights W_out = E^T (the embedding table), whose gradient then sums both uses.

Weights are stored (in, out) as everywhere in labs.nn (y = x W); PyTorch's nn.Linear keeps the
transpose (y = x W^T), so W here is torch's weight.T: the same weights give the same numbers.
`LanguageModelConfig` selects this model or the GPT-2-style TinyGPT.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from labs.nn.attention import normal_linear
from labs.nn.core import Layer, Parameter
from labs.nn.embedding import Embedding, check_indices
from labs.nn.language_models import TinyGPT, _check_prompt
from labs.nn.layers import Sequential, column_sums, row_sums, sigmoid


# -- RMSNorm --------------------------------------------------------------------------------------
class RMSNorm(Layer):
    """(..., dim) -> (..., dim): x / sqrt(mean(x^2) + eps) * weight (module docstring), weight starts at 1."""

    def __init__(self, dim: int, *, eps: float = 1e-5, dtype: np.dtype | type = np.float32):
        super().__init__()
        self.dim, self.eps = dim, eps
        self.params["weight"] = Parameter(np.ones(dim, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.shape[-1] != self.dim:
            raise ValueError(f"RMSNorm expects last axis {self.dim}, got input of shape {x.shape}")
        inv_rms = row_sums(x * x, 1.0 / self.dim)[..., None]
        inv_rms += self.eps
        np.sqrt(inv_rms, out=inv_rms)
        np.reciprocal(inv_rms, out=inv_rms)
        x_hat = x * inv_rms
        self.cache = (x_hat, inv_rms)
        return x_hat * self.params["weight"].data

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x_hat, inv_rms = self.cache
        weight = self.params["weight"]
        weight.grad += column_sums(grad_out * x_hat)
        g_hat = grad_out * weight.data
        along = row_sums(g_hat * x_hat, 1.0 / self.dim)[..., None]  # mean(g_hat * x_hat)
        g_hat -= x_hat * along
        g_hat *= inv_rms
        return g_hat


# -- SiLU and SwiGLU ----------------------------------------------------------------------------------
def silu(a: np.ndarray) -> np.ndarray:
    return a * sigmoid(a)


class SiLU(Layer):
    """y = a s(a) elementwise; backward dy * s (1 + a (1 - s))."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        s = sigmoid(x)
        self.cache = (x, s)
        return x * s

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x, s = self.cache
        return grad_out * s * (1 + x * (1 - s))


def default_ffn_dim(dim: int) -> int:
    """LLaMA's hidden width: 2/3 of 4C (so three matrices cost what GPT-2's two did), rounded up to 8."""
    return 8 * math.ceil(8 * dim / 3 / 8)


class SwiGLU(Layer):
    """(..., C) -> (..., C): W2 (SiLU(x W1) * x W3), W1 and W3 (C, F), W2 (F, C), no biases."""

    def __init__(self, dim: int, hidden: int, *, rng: np.random.Generator, std: float = 0.02,
                 proj_std: float | None = None, dtype: np.dtype | type = np.float32):
        super().__init__()
        self.dim, self.hidden = dim, hidden
        proj_std = std if proj_std is None else proj_std
        self.params["W1"] = Parameter((rng.standard_normal((dim, hidden)) * std).astype(dtype))
        self.params["W3"] = Parameter((rng.standard_normal((dim, hidden)) * std).astype(dtype))
        self.params["W2"] = Parameter((rng.standard_normal((hidden, dim)) * proj_std).astype(dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.shape[-1] != self.dim:
            raise ValueError(f"SwiGLU expects last axis {self.dim}, got input of shape {x.shape}")
        p = self.params
        rows = x.reshape(-1, self.dim)
        a = rows @ p["W1"].data
        b = rows @ p["W3"].data
        s = sigmoid(a)
        silu_a = a * s
        h = silu_a * b
        self.cache = (x.shape, rows, a, b, s, silu_a, h)
        return (h @ p["W2"].data).reshape(x.shape)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        shape, rows, a, b, s, silu_a, h = self.cache
        p = self.params
        g = grad_out.reshape(-1, self.dim)
        p["W2"].grad += h.T @ g
        dh = g @ p["W2"].data.T
        db = dh * silu_a
        da = dh * b
        da *= s * (1 + a * (1 - s))  # SiLU'(a)
        p["W1"].grad += rows.T @ da
        p["W3"].grad += rows.T @ db
        return (da @ p["W1"].data.T + db @ p["W3"].data.T).reshape(shape)


# -- rotary position embeddings ------------------------------------------------------------------------
def rope_angles(positions: np.ndarray, dim: int, theta: float = 10000.0,
                dtype: np.dtype | type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of p w_i for positions (T,) and w_i = theta^(-2i/d), i < d/2: two (T, d/2) arrays
    (computed in float64, then cast)."""
    if dim % 2:
        raise ValueError(f"RoPE rotates pairs of features, so the head width must be even, got {dim}")
    positions = np.asarray(positions)
    if positions.ndim != 1:
        raise ValueError(f"RoPE positions must be one integer per time step (T,), got shape {positions.shape}")
    inv_freq = theta ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)
    angles = positions.astype(np.float64)[:, None] * inv_freq
    return np.cos(angles).astype(dtype), np.sin(angles).astype(dtype)


def apply_rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate each pair (x_2i, x_2i+1) of x (..., T, d) by the angles whose cos/sin are (T, d/2).
    Backward is the inverse rotation: apply_rope(dy, cos, -sin)."""
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


# -- attention ----------------------------------------------------------------------------------------
def _swap(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def scaled_dot_product_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None,
                                 *, scale: float | None = None) -> tuple[np.ndarray, tuple]:
    """(O, cache): O = softmax(q k^T * scale, masked) v with scale 1/sqrt(d) by default.

    q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv) with the same leading axes; mask a boolean array
    broadcastable to (..., Tq, Tk), True where the query may attend to the key. O is (..., Tq, dv).
    `attention_backward(dO, cache)` gives (dq, dk, dv)."""
    if k.shape[-1] != q.shape[-1] or k.shape[:-1] != v.shape[:-1] or q.shape[:-2] != k.shape[:-2]:
        raise ValueError(f"attention shapes do not fit: q {q.shape}, k {k.shape}, v {v.shape}")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = q @ _swap(k)
    scores *= scale
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != np.bool_:
            raise ValueError(f"the attention mask must be boolean (True = may attend), got dtype {mask.dtype}")
        scores = np.where(mask, scores, -np.inf)
        shift = scores.max(axis=-1, keepdims=True)
        shift[~np.isfinite(shift)] = 0  # a row that sees no key: all exp(-inf) = 0 below
    else:
        shift = scores.max(axis=-1, keepdims=True)
    scores -= shift
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    total[total == 0] = 1
    scores /= total
    out = scores @ v
    return out, (q, k, v, scores, out, scale)


def attention_backward(grad_out: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dq, dk, dv) of scaled_dot_product_attention (equations: module docstring)."""
    q, k, v, probs, out, scale = cache
    dv = _swap(probs) @ grad_out
    d_scores = grad_out @ _swap(v)
    d_scores -= row_sums(grad_out * out)[..., None]
    d_scores *= probs
    dq = d_scores @ k
    dq *= scale
    dk = _swap(d_scores) @ q
    dk *= scale
    return dq, dk, dv


class KVCache:
    """The keys (after RoPE) and values of every layer for the tokens seen so far, preallocated:
    keys and values (layers, B, H, capacity, d); `length` tokens are filled. Its size is
    2 * layers * B * capacity * C * bytes per number."""

    def __init__(self, n_layer: int, batch: int, n_head: int, capacity: int, head_dim: int,
                 dtype: np.dtype | type = np.float32):
        shape = (n_layer, batch, n_head, capacity, head_dim)
        self.keys = np.zeros(shape, dtype=dtype)
        self.values = np.zeros(shape, dtype=dtype)
        self.capacity, self.length = capacity, 0

    @property
    def nbytes(self) -> int:
        return self.keys.nbytes + self.values.nbytes


class RoPESelfAttention(Layer):
    """Causal multi-head self-attention with RoPE, (B, T, C) -> (B, T, C); W_qkv (C, 3C), W_o (C, C)."""

    def __init__(self, dim: int, n_heads: int, *, rng: np.random.Generator, std: float = 0.02,
                 proj_std: float | None = None, theta: float = 10000.0, dtype: np.dtype | type = np.float32):
        super().__init__()
        if dim % n_heads or (dim // n_heads) % 2:
            raise ValueError(f"width {dim} must split into {n_heads} heads of even width (RoPE rotates pairs)")
        self.dim, self.n_heads, self.theta = dim, n_heads, theta
        proj_std = std if proj_std is None else proj_std
        self.params["W_qkv"] = Parameter((rng.standard_normal((dim, 3 * dim)) * std).astype(dtype))
        self.params["W_o"] = Parameter((rng.standard_normal((dim, dim)) * proj_std).astype(dtype))

    def _heads(self, x: np.ndarray, positions: np.ndarray):
        """q, k (after RoPE) and v, each (B, H, T, d), and the RoPE tables."""
        b, t, c = x.shape
        h, d = self.n_heads, c // self.n_heads
        qkv = x.reshape(b * t, c) @ self.params["W_qkv"].data
        q, k, v = qkv.reshape(b, t, 3, h, d).transpose(2, 0, 3, 1, 4)
        cos, sin = rope_angles(positions, d, self.theta, qkv.dtype)
        return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v, cos, sin

    def _project(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b, h, t, d = out.shape
        merged = out.transpose(0, 2, 1, 3).reshape(b * t, h * d)
        return merged, (merged @ self.params["W_o"].data).reshape(b, t, h * d)

    def forward(self, x: np.ndarray, positions: np.ndarray | None = None) -> np.ndarray:
        if x.ndim != 3 or x.shape[2] != self.dim:
            raise ValueError(f"attention expects input (batch, time, {self.dim}), got shape {x.shape}")
        positions = _positions(positions, x.shape[1])
        q, k, v, cos, sin = self._heads(x, positions)
        out, att = scaled_dot_product_attention(q, k, v, positions[None, :] <= positions[:, None])
        merged, y = self._project(out)
        self.cache = (x, cos, sin, att, merged)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x, cos, sin, att, merged = self.cache
        b, t, c = x.shape
        h, d = self.n_heads, c // self.n_heads
        p = self.params
        g = grad_out.reshape(b * t, c)
        p["W_o"].grad += merged.T @ g
        d_out = (g @ p["W_o"].data.T).reshape(b, t, h, d).transpose(0, 2, 1, 3)
        dq, dk, dv = attention_backward(d_out, att)
        dqkv = np.stack([apply_rope(dq, cos, -sin), apply_rope(dk, cos, -sin), dv])  # (3, B, H, T, d)
        dqkv = dqkv.transpose(1, 3, 0, 2, 4).reshape(b * t, 3 * c)
        p["W_qkv"].grad += x.reshape(b * t, c).T @ dqkv
        return (dqkv @ p["W_qkv"].data.T).reshape(b, t, c)

    def forward_cached(self, x: np.ndarray, cache: KVCache, layer: int) -> np.ndarray:
        """Attention of the new tokens x (B, Tn, C) at positions cache.length .. + Tn - 1 over every
        cached key and themselves; their keys and values join the cache (the caller advances length)."""
        start, t = cache.length, x.shape[1]
        if start + t > cache.capacity:
            raise ValueError(f"the KV cache holds {cache.capacity} tokens; {start} + {t} do not fit")
        positions = np.arange(start, start + t)
        q, k, v, _, _ = self._heads(x, positions)
        cache.keys[layer, :, :, start:start + t] = k
        cache.values[layer, :, :, start:start + t] = v
        keys, values = cache.keys[layer, :, :, :start + t], cache.values[layer, :, :, :start + t]
        mask = None if t == 1 else np.arange(start + t)[None, :] <= positions[:, None]
        out, _ = scaled_dot_product_attention(q, keys, values, mask)
        return self._project(out)[1]


def _positions(positions: np.ndarray | None, steps: int) -> np.ndarray:
    if positions is None:
        return np.arange(steps)
    positions = np.asarray(positions)
    if positions.shape != (steps,) or positions.dtype.kind not in "iu":
        raise ValueError(f"positions must be {steps} integers, one per time step, "
                         f"got {positions.dtype} {positions.shape}")
    return positions


# -- the block and the language model --------------------------------------------------------------------
class ModernBlock(Layer):
    """Pre-norm block, (B, T, C) -> (B, T, C): h = x + attn(RMSNorm1(x)), y = h + SwiGLU(RMSNorm2(h)).
    Backward: dh = dy + norm2'(ffn'(dy)), dx = dh + norm1'(attn'(dh))."""

    def __init__(self, dim: int, n_heads: int, ffn_dim: int, *, rng: np.random.Generator, std: float = 0.02,
                 proj_std: float | None = None, theta: float = 10000.0, eps: float = 1e-5,
                 dtype: np.dtype | type = np.float32):
        super().__init__()
        self.children["norm1"] = RMSNorm(dim, eps=eps, dtype=dtype)
        self.children["attn"] = RoPESelfAttention(dim, n_heads, rng=rng, std=std, proj_std=proj_std,
                                                  theta=theta, dtype=dtype)
        self.children["norm2"] = RMSNorm(dim, eps=eps, dtype=dtype)
        self.children["ffn"] = SwiGLU(dim, ffn_dim, rng=rng, std=std, proj_std=proj_std, dtype=dtype)

    @staticmethod
    def count_parameters(dim: int, ffn_dim: int) -> int:
        """Two RMSNorms (2C), attention (4C^2), SwiGLU (3CF)."""
        return 2 * dim + 4 * dim * dim + 3 * dim * ffn_dim

    def forward(self, x: np.ndarray, positions: np.ndarray | None = None) -> np.ndarray:
        c = self.children
        x = x + c["attn"].forward(c["norm1"].forward(x), positions)
        return x + c["ffn"].forward(c["norm2"].forward(x))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        c = self.children
        grad = grad_out + c["norm2"].backward(c["ffn"].backward(grad_out))
        return grad + c["norm1"].backward(c["attn"].backward(grad))

    def forward_cached(self, x: np.ndarray, cache: KVCache, layer: int) -> np.ndarray:
        c = self.children
        x = x + c["attn"].forward_cached(c["norm1"].forward(x), cache, layer)
        return x + c["ffn"].forward(c["norm2"].forward(x))


class ModernLM(Layer):
    """Token ids (B, T) -> logits (B, T, V): embedding -> n_layer ModernBlocks -> RMSNorm -> h W_out.

    Every weight starts N(0, 0.02^2), the projections into the residual stream (W_o, W2) scaled by
    1 / sqrt(2 n_layer) as in GPT-2. With `tie_weights` the output matrix is the embedding table's
    transpose. `forward_cached` and `new_cache` are the incremental path labs.nn.decoding uses."""

    def __init__(self, vocab_size: int, context: int, *, n_layer: int = 2, n_head: int = 4, dim: int = 64,
                 ffn_dim: int | None = None, tie_weights: bool = False, rope_theta: float = 10000.0,
                 norm_eps: float = 1e-5, rng: np.random.Generator, dtype: np.dtype | type = np.float32):
        super().__init__()
        self.vocab_size, self.context, self.dim = vocab_size, context, dim
        self.n_layer, self.n_head, self.tie_weights = n_layer, n_head, tie_weights
        self.ffn_dim = default_ffn_dim(dim) if ffn_dim is None else ffn_dim
        std, proj_std = 0.02, 0.02 / math.sqrt(2 * n_layer)
        self.children["tok"] = Embedding(vocab_size, dim, rng=rng, std=std, dtype=dtype)
        self.children["blocks"] = Sequential(*(
            ModernBlock(dim, n_head, self.ffn_dim, rng=rng, std=std, proj_std=proj_std, theta=rope_theta,
                        eps=norm_eps, dtype=dtype) for _ in range(n_layer)))
        self.children["norm"] = RMSNorm(dim, eps=norm_eps, dtype=dtype)
        if not tie_weights:
            head = normal_linear(dim, vocab_size, std, rng, dtype)
            del head.params["b"]  # no bias on the output projection
            self.children["head"] = head

    @staticmethod
    def count_parameters(vocab_size: int, n_layer: int, dim: int, ffn_dim: int, tie_weights: bool = False) -> int:
        """V*C (embedding) + n_layer * (2C + 4C^2 + 3CF) + C (final norm) + C*V unless tied."""
        return (vocab_size * dim + n_layer * ModernBlock.count_parameters(dim, ffn_dim) + dim
                + (0 if tie_weights else dim * vocab_size))

    def _blocks(self) -> list[ModernBlock]:
        return list(self.children["blocks"].children.values())

    def _logits(self, h: np.ndarray) -> np.ndarray:
        if self.tie_weights:
            return h @ self.children["tok"].params["W"].data.T
        return self.children["head"].forward(h)

    def forward(self, idx: np.ndarray, positions: np.ndarray | None = None) -> np.ndarray:
        idx = check_indices(idx, self.vocab_size)
        if idx.ndim != 2 or not 1 <= idx.shape[1] <= self.context:
            raise ValueError(
                f"ModernLM reads token ids (batch, time) with 1 <= time <= context {self.context}, "
                f"got shape {idx.shape}")
        x = self.children["tok"].forward(idx)
        for block in self._blocks():
            x = block.forward(x, positions)
        h = self.children["norm"].forward(x)
        self.cache = h
        return self._logits(h)

    def backward(self, grad_logits: np.ndarray) -> None:
        c = self.children
        if self.tie_weights:
            table = c["tok"].params["W"]
            h = self.cache
            table.grad += grad_logits.reshape(-1, self.vocab_size).T @ h.reshape(-1, self.dim)
            grad = grad_logits @ table.data
        else:
            grad = c["head"].backward(grad_logits)
        grad = c["norm"].backward(grad)
        for block in reversed(self._blocks()):
            grad = block.backward(grad)
        c["tok"].backward(grad)
        return None

    # -- incremental decoding ---------------------------------------------------------------------
    def new_cache(self, batch: int, capacity: int | None = None) -> KVCache:
        """An empty KV cache for `batch` sequences of up to `capacity` tokens (default: the context)."""
        dtype = self.children["tok"].params["W"].data.dtype
        return KVCache(self.n_layer, batch, self.n_head, capacity or self.context, self.dim // self.n_head, dtype)

    def forward_cached(self, idx: np.ndarray, cache: KVCache) -> np.ndarray:
        """Logits (B, Tn, V) of the new tokens idx (B, Tn), which follow the cache.length tokens already
        cached (positions continue from there); the cache then holds them too. No backward."""
        idx = check_indices(idx, self.vocab_size)
        if idx.ndim != 2 or idx.shape[1] < 1:
            raise ValueError(f"forward_cached reads token ids (batch, time >= 1), got shape {idx.shape}")
        x = self.children["tok"].params["W"].data[idx]
        for layer, block in enumerate(self._blocks()):
            x = block.forward_cached(x, cache, layer)
        cache.length += idx.shape[1]
        return self._logits(self.children["norm"].forward(x))

    def generate(self, idx: np.ndarray, n: int, rng: np.random.Generator, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None) -> np.ndarray:
        """The prompt (B, T) followed by n sampled tokens, decoded with a KV cache (labs.nn.decoding)."""
        from labs.nn.decoding import generate  # decoding builds on this module

        _check_prompt(idx, n)
        return generate(self, idx, n, rng, temperature=temperature, top_k=top_k, top_p=top_p)


# -- choosing an architecture -------------------------------------------------------------------------------
class LanguageModelConfig(BaseModel):
    """Which transformer language model to build, and its sizes: "gpt2" is TinyGPT (LayerNorm, GELU MLP,
    learned positions), "modern" is ModernLM (RMSNorm, SwiGLU, RoPE, optionally tied)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    arch: Literal["gpt2", "modern"] = "modern"
    vocab_size: int = Field(gt=0)
    context: int = Field(gt=0)
    n_layer: int = Field(default=2, gt=0)
    n_head: int = Field(default=4, gt=0)
    dim: int = Field(default=64, gt=0)
    ffn_dim: int | None = Field(default=None, gt=0)
    tie_weights: bool = False
    rope_theta: float = Field(default=10000.0, gt=0)

    @model_validator(mode="after")
    def _check(self) -> "LanguageModelConfig":
        if self.dim % self.n_head:
            raise ValueError(f"dim {self.dim} is not divisible by n_head {self.n_head}")
        if self.arch == "gpt2" and (self.ffn_dim is not None or self.tie_weights):
            raise ValueError("ffn_dim and tie_weights belong to the modern architecture, not gpt2")
        return self


def build_language_model(config: LanguageModelConfig, *, rng: np.random.Generator,
                         dtype: np.dtype | type = np.float32) -> Layer:
    """The model `config` describes."""
    if config.arch == "gpt2":
        return TinyGPT(config.vocab_size, config.context, n_layer=config.n_layer, n_head=config.n_head,
                       dim=config.dim, rng=rng, dtype=dtype)
    return ModernLM(config.vocab_size, config.context, n_layer=config.n_layer, n_head=config.n_head,
                    dim=config.dim, ffn_dim=config.ffn_dim, tie_weights=config.tie_weights,
                    rope_theta=config.rope_theta, rng=rng, dtype=dtype)
