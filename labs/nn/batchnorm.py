"""Batch normalisation: each channel normalised over the batch (and, for images, over its pixels).

The channel axis is axis 1: x (N, C) or (N, C, L) for BatchNorm1d, (N, C, H, W) for BatchNorm2d. For
channel c the statistics run over the M = x.size / C values x[:, c, ...]:

    mu = (1/M) sum x,   var = (1/M) sum (x - mu)^2   (biased),   sigma = sqrt(var + eps),
    x_hat = (x - mu) / sigma,   y = gamma x_hat + beta,   gamma, beta (C,).

Training mode normalises with the batch's own mu and var, and moves the running estimates a fraction
`momentum` of the way towards them, the variance unbiased (the torch.nn.BatchNorm convention):

    running_mean = (1 - momentum) running_mean + momentum mu,
    running_var  = (1 - momentum) running_var  + momentum var M / (M - 1).

Eval mode normalises with running_mean and running_var instead, so a sample's output no longer depends
on the rest of its batch (a batch of one gives the same row as a batch of many), and y is affine in x.

Backward, with g = dL/dy and sums over the same M values per channel:

    dgamma = sum g x_hat,   dbeta = sum g,
    train:  dx = (1/M) (gamma / sigma) (M g - sum g - x_hat sum g x_hat),
    eval:   dx = (gamma / sigma) g        (mu and sigma are constants there).

The training-mode line is the chain rule through mu and var collapsed (twin: reference.batch_norm and
reference.batch_norm_backward take it one intermediate at a time; reference.batch_norm_eval is the
eval mode). The running statistics are buffers (`Layer.buffers`): saved by `state_dict`, never trained.
"""

from __future__ import annotations

import numpy as np

from labs.nn.core import Layer, Parameter
from labs.nn.layers import column_sums


def channel_sums(a: np.ndarray) -> np.ndarray:
    """sum over every axis but axis 1: (N, C, ...) -> (C,)."""
    if a.ndim == 2:
        return column_sums(a)
    return a.reshape(a.shape[0], a.shape[1], -1).sum(axis=(0, 2))


class _BatchNorm(Layer):
    """Shared by BatchNorm1d and BatchNorm2d, which differ only in the input ranks they accept."""

    ranks: tuple[int, ...] = ()
    layout = ""

    def __init__(self, num_features: int, *, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 dtype: np.dtype | type = np.float32):
        super().__init__()
        if int(num_features) != num_features or num_features < 1:
            raise ValueError(f"{type(self).__name__} num_features must be a positive integer, got {num_features!r}")
        if not eps > 0:
            raise ValueError(f"{type(self).__name__} eps must be positive, got {eps!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__} momentum must be in [0, 1], got {momentum!r}")
        self.num_features, self.eps, self.momentum, self.affine = int(num_features), float(eps), float(momentum), affine
        if affine:
            self.params["gamma"] = Parameter(np.ones(self.num_features, dtype=dtype))
            self.params["beta"] = Parameter(np.zeros(self.num_features, dtype=dtype))
        self.buffers["running_mean"] = np.zeros(self.num_features, dtype=dtype)
        self.buffers["running_var"] = np.ones(self.num_features, dtype=dtype)

    def _check(self, x: np.ndarray) -> tuple[int, ...]:
        """The shape (1, C, 1, ...) that broadcasts a per-channel vector against x."""
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            layouts = " or ".join(self.layout.replace("C", str(self.num_features)).split("|"))
            raise ValueError(f"{type(self).__name__} expects {layouts} input, got shape {x.shape}")
        return (1, self.num_features) + (1,) * (x.ndim - 2)

    def forward(self, x: np.ndarray) -> np.ndarray:
        shape = self._check(x)
        count = x.size // self.num_features
        if self.training:
            if count < 2:
                raise ValueError(f"{type(self).__name__} in training mode needs more than one value per channel, "
                                 f"got input of shape {x.shape}; call eval() to use the running statistics")
            mean = channel_sums(x) / count
            x_hat = x - mean.reshape(shape)
            var = channel_sums(x_hat * x_hat) / count
            self._update_running(mean, var, count)
        else:
            mean = self.buffers["running_mean"].astype(x.dtype, copy=False)
            var = self.buffers["running_var"].astype(x.dtype, copy=False)
            x_hat = x - mean.reshape(shape)
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat *= inv_std.reshape(shape)
        self.cache = (x_hat, inv_std, count if self.training else None)
        if not self.affine:
            return x_hat.copy()  # the cache keeps x_hat; the caller may write to its output
        out = x_hat * self.params["gamma"].data.reshape(shape)
        out += self.params["beta"].data.reshape(shape)
        return out

    def _update_running(self, mean: np.ndarray, var: np.ndarray, count: int) -> None:
        """running = (1 - momentum) running + momentum batch, in place; the variance unbiased."""
        m = self.momentum
        running_mean, running_var = self.buffers["running_mean"], self.buffers["running_var"]
        running_mean *= 1.0 - m
        running_mean += m * mean
        running_var *= 1.0 - m
        running_var += m * (var * (count / (count - 1)))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x_hat, inv_std, count = self.cache
        shape = (1, self.num_features) + (1,) * (x_hat.ndim - 2)
        sum_g = channel_sums(grad_out)
        sum_g_xhat = channel_sums(grad_out * x_hat)
        if self.affine:
            self.params["gamma"].grad += sum_g_xhat
            self.params["beta"].grad += sum_g
            scale = self.params["gamma"].data * inv_std  # gamma / sigma, (C,)
        else:
            scale = inv_std
        if count is None:  # eval: y is affine in x
            return grad_out * scale.reshape(shape)
        # (1/M)(gamma/sigma)(M g - sum g - x_hat sum g x_hat) = (gamma/sigma)(g - mean g - x_hat mean g x_hat)
        dx = x_hat * (sum_g_xhat / count).reshape(shape)
        dx += (sum_g / count).reshape(shape)
        np.subtract(grad_out, dx, out=dx)
        dx *= scale.reshape(shape)
        return dx

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine})")


class BatchNorm1d(_BatchNorm):
    """Per-feature normalisation of (N, C) rows or (N, C, L) sequences; equations in the module docstring."""

    ranks = (2, 3)
    layout = "(N, C)|(N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Per-channel normalisation of (N, C, H, W) images over N, H and W; equations in the module docstring."""

    ranks = (4,)
    layout = "(N, C, H, W)"
