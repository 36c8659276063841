"""Layer normalisation over the last axis, with a learned scale (gamma) and shift (beta).

Each feature vector is centred and divided by its standard deviation, so a block's input keeps a steady
scale however deep the network is. `eps` sits inside the square root, so a constant row (variance 0)
gives a finite output of beta rather than a division by zero.
"""

from __future__ import annotations

import numpy as np

from labs.nn.core import Layer, Parameter


class LayerNorm(Layer):
    """(..., dim) -> (..., dim): y = gamma * (x - mean) / sqrt(var + eps) + beta, statistics per row."""

    def __init__(self, dim: int, *, eps: float = 1e-5, dtype: np.dtype | type = np.float32):
        super().__init__()
        self.dim, self.eps = dim, eps
        self.params["gamma"] = Parameter(np.ones(dim, dtype=dtype))
        self.params["beta"] = Parameter(np.zeros(dim, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.shape[-1] != self.dim:
            raise ValueError(f"LayerNorm expects last axis {self.dim}, got input of shape {x.shape}")
        mean = x.mean(axis=-1, keepdims=True)
        centred = x - mean
        inv_std = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + self.eps)
        x_hat = centred * inv_std
        self.cache = (x_hat, inv_std)
        return x_hat * self.params["gamma"].data + self.params["beta"].data

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x_hat, inv_std = self.cache
        gamma, beta = self.params["gamma"], self.params["beta"]
        flat_g = grad_out.reshape(-1, self.dim)
        gamma.grad += (flat_g * x_hat.reshape(-1, self.dim)).sum(axis=0)
        beta.grad += flat_g.sum(axis=0)
        # d/dx of the normalisation: remove the gradient's mean and its component along x_hat.
        g_hat = grad_out * gamma.data
        return inv_std * (
            g_hat
            - g_hat.mean(axis=-1, keepdims=True)
            - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True)
        )
