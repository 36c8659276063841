"""Embedding: a learned vector per token id, looked up by integer index.

Forward: y[p] = W[idx[p]], a row gather, W (V, D). Backward: dW[v] = sum of dy[p] over the positions p
with idx[p] = v, a scatter-add. `np.add.at` computes that one element at a time; `scatter_rows`
computes the same sum as the matrix product one_hot(idx)^T @ dy (the transposed one-hot matrix built
contiguous, (V, N), which the BLAS reads faster than a transposed view), and falls back to a sort and
`np.add.reduceat` when the one-hot matrix would be large (big vocabulary times many positions).
Twin: reference.scatter_rows (np.add.at).
"""

from __future__ import annotations

import numpy as np

from labs.nn.core import Layer, Parameter

# Above this many one-hot entries (positions x vocabulary) the sort-based scatter is used instead.
_ONE_HOT_LIMIT = 4_000_000


def check_indices(idx: np.ndarray, vocab_size: int) -> np.ndarray:
    """Return `idx` as an integer array, or raise a ValueError naming the offending value."""
    idx = np.asarray(idx)
    if idx.dtype.kind not in "iu":
        raise ValueError(f"token indices must be integers, got dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= vocab_size):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise ValueError(f"token index {int(bad)} is outside the vocabulary [0, {vocab_size})")
    return idx


def scatter_rows(idx: np.ndarray, grad: np.ndarray, n_rows: int) -> np.ndarray:
    """Sum the rows of `grad` (N, D) into an (n_rows, D) array at rows `idx` (N,): the embedding gradient."""
    idx = idx.reshape(-1)
    grad = grad.reshape(idx.size, -1)
    if idx.size * n_rows <= _ONE_HOT_LIMIT:
        one_hot_t = np.zeros((n_rows, idx.size), dtype=grad.dtype)
        one_hot_t[idx, np.arange(idx.size)] = 1
        return one_hot_t @ grad
    order = np.argsort(idx, kind="stable")
    sorted_idx = idx[order]
    starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
    out = np.zeros((n_rows, grad.shape[1]), dtype=grad.dtype)
    out[sorted_idx[starts]] = np.add.reduceat(grad[order], starts, axis=0)
    return out


class Embedding(Layer):
    """Token ids (any shape, e.g. (B, T)) -> vectors (..., dim). Weights start as N(0, std^2)."""

    def __init__(
        self,
        vocab_size: int,
        dim: int,
        *,
        rng: np.random.Generator,
        std: float = 0.02,
        dtype: np.dtype | type = np.float32,
    ):
        super().__init__()
        self.vocab_size, self.dim = vocab_size, dim
        self.params["W"] = Parameter((rng.standard_normal((vocab_size, dim)) * std).astype(dtype))

    def forward(self, idx: np.ndarray) -> np.ndarray:
        idx = check_indices(idx, self.vocab_size)
        self.cache = idx
        return self.params["W"].data[idx]

    def backward(self, grad_out: np.ndarray) -> None:
        """Accumulate the weight gradient; integer inputs have no gradient, so this returns None."""
        w = self.params["W"]
        w.grad += scatter_rows(self.cache, grad_out, self.vocab_size).astype(w.grad.dtype, copy=False)
        return None
