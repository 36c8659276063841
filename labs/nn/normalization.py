"""Layer normalisation over the last axis, with a learned scale (gamma) and shift (beta).

For each row x of width N:

    mu = mean(x),  var = mean((x - mu)^2),  x_hat = (x - mu) / sqrt(var + eps),  y = gamma * x_hat + beta.

Backward, with g_hat = dy * gamma and means over the row:

    dgamma = sum_rows dy * x_hat,   dbeta = sum_rows dy,
    dx = (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)) / sqrt(var + eps),

the chain rule through mu and var collapsed into one line (the twin, reference.layer_norm_backward,
takes it the long way, one intermediate at a time). `eps` sits inside the square root, so a constant
row (var = 0) gives y = beta rather than a division by zero. The row means are BLAS products
(`row_sums`) and every pass updates its buffer in place; only x_hat and 1 / sqrt(var + eps) are cached.
"""

from __future__ import annotations

import numpy as np

from labs.nn.core import Layer, Parameter
from labs.nn.layers import column_sums, row_sums


class LayerNorm(Layer):
    """(..., dim) -> (..., dim), gamma and beta (dim,); the equations are in the module docstring."""

    def __init__(self, dim: int, *, eps: float = 1e-5, dtype: np.dtype | type = np.float32):
        super().__init__()
        self.dim, self.eps = dim, eps
        self.params["gamma"] = Parameter(np.ones(dim, dtype=dtype))
        self.params["beta"] = Parameter(np.zeros(dim, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.shape[-1] != self.dim:
            raise ValueError(f"LayerNorm expects last axis {self.dim}, got input of shape {x.shape}")
        inv_dim = 1.0 / self.dim
        x_hat = x - row_sums(x, inv_dim)[..., None]  # centred
        inv_std = row_sums(x_hat * x_hat, inv_dim)[..., None]  # the variance, then 1 / std in place
        inv_std += self.eps
        np.sqrt(inv_std, out=inv_std)
        np.reciprocal(inv_std, out=inv_std)
        x_hat *= inv_std
        self.cache = (x_hat, inv_std)
        out = x_hat * self.params["gamma"].data
        out += self.params["beta"].data
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x_hat, inv_std = self.cache
        gamma, beta = self.params["gamma"], self.params["beta"]
        inv_dim = 1.0 / self.dim
        along = grad_out * x_hat
        gamma.grad += column_sums(along)
        beta.grad += column_sums(grad_out)
        # d/dx of the normalisation: remove the gradient's mean and its component along x_hat,
        #   inv_std * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)),  g_hat = grad_out * gamma.
        g_hat = grad_out * gamma.data
        along *= gamma.data  # now g_hat * x_hat
        np.multiply(x_hat, row_sums(along, inv_dim)[..., None], out=along)
        along += row_sums(g_hat, inv_dim)[..., None]
        g_hat -= along
        g_hat *= inv_std
        return g_hat
