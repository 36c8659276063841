"""2-D convolution and pooling over NCHW images, vectorised with im2col.

im2col lays every receptive field out as a column, so the convolution becomes ONE matrix product
(filters x C*k*k) @ (C*k*k x N*H'*W'). The columns are built from k*k strided slice copies (one per
kernel offset) rather than `sliding_window_view`, which measured about twice as slow here; backward
(col2im) adds the k*k slices back. The only Python loops run over kernel offsets, never over pixels
or samples.

Internally images are handled channel-first, (C, N, H, W), so that each slice copy is contiguous
and the matrix product's result needs a single transpose to return to NCHW.
"""

from __future__ import annotations

import numpy as np

from labs.nn.core import Layer, Parameter
from labs.nn.init import get_initializer


def output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Spatial size after a kernel slides over `size` pixels (partial windows are dropped)."""
    return (size + 2 * padding - kernel) // stride + 1


def _windows(x_cn: np.ndarray, kernel: int, stride: int, out_h: int, out_w: int):
    """Yield (i, j, view) for each kernel offset: the pixels that offset sees in every output position."""
    for i in range(kernel):
        for j in range(kernel):
            yield i, j, x_cn[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride]


def im2col(x: np.ndarray, kernel: int, stride: int, padding: int) -> tuple[np.ndarray, int, int]:
    """NCHW images -> columns (C*k*k, N*H'*W'), with the output's spatial size."""
    n, c, h, w = x.shape
    out_h, out_w = output_size(h, kernel, stride, padding), output_size(w, kernel, stride, padding)
    x_cn = np.zeros((c, n, h + 2 * padding, w + 2 * padding), dtype=x.dtype)
    x_cn[:, :, padding:padding + h, padding:padding + w] = x.transpose(1, 0, 2, 3)
    cols = np.empty((c, kernel, kernel, n, out_h, out_w), dtype=x.dtype)
    for i, j, view in _windows(x_cn, kernel, stride, out_h, out_w):
        cols[:, i, j] = view
    return cols.reshape(c * kernel * kernel, n * out_h * out_w), out_h, out_w


def col2im(cols: np.ndarray, x_shape: tuple[int, ...], kernel: int, stride: int, padding: int) -> np.ndarray:
    """The adjoint of im2col: add every column entry back onto the pixel it was copied from."""
    n, c, h, w = x_shape
    out_h, out_w = output_size(h, kernel, stride, padding), output_size(w, kernel, stride, padding)
    cols = cols.reshape(c, kernel, kernel, n, out_h, out_w)
    grad_cn = np.zeros((c, n, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for i, j, view in _windows(grad_cn, kernel, stride, out_h, out_w):
        view += cols[:, i, j]
    return grad_cn[:, :, padding:padding + h, padding:padding + w].transpose(1, 0, 2, 3)


class Conv2D(Layer):
    """Convolution of (N, C, H, W) images with `out_channels` filters of size k x k; W is (F, C, k, k)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, rng: np.random.Generator,
                 stride: int = 1, padding: int = 0, init: str = "he_normal", dtype=np.float32):
        super().__init__()
        for name, value, low in [("in_channels", in_channels, 1), ("out_channels", out_channels, 1),
                                 ("kernel_size", kernel_size, 1), ("stride", stride, 1), ("padding", padding, 0)]:
            if int(value) != value or value < low:
                raise ValueError(f"Conv2D {name} must be an integer >= {low}, got {value!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.params["W"] = Parameter(get_initializer(init)(shape, rng, dtype))
        self.params["b"] = Parameter(np.zeros(out_channels, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2D expects (N, {self.in_channels}, H, W) input, got shape {x.shape}")
        if min(x.shape[2:]) + 2 * self.padding < self.kernel_size:
            raise ValueError(f"image {x.shape[2:]} is smaller than the {self.kernel_size}x{self.kernel_size} kernel")
        cols, out_h, out_w = im2col(x, self.kernel_size, self.stride, self.padding)
        self.cache = (x.shape, cols)
        w2 = self.params["W"].data.reshape(self.out_channels, -1)
        out = w2 @ cols + self.params["b"].data[:, None]          # (F, N*H'*W')
        out = out.reshape(self.out_channels, x.shape[0], out_h, out_w)
        return out.transpose(1, 0, 2, 3)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x_shape, cols = self.cache
        g2 = grad_out.transpose(1, 0, 2, 3).reshape(self.out_channels, -1)  # (F, N*H'*W')
        self.params["W"].grad += (g2 @ cols.T).reshape(self.params["W"].data.shape)
        self.params["b"].grad += g2.sum(axis=1)
        w2 = self.params["W"].data.reshape(self.out_channels, -1)
        return col2im(w2.T @ g2, x_shape, self.kernel_size, self.stride, self.padding)


class _Pool2D(Layer):
    """Shared shape handling: square windows of `kernel_size`, stride defaulting to the window size."""

    def __init__(self, kernel_size: int = 2, stride: int | None = None):
        super().__init__()
        stride = kernel_size if stride is None else stride
        if kernel_size < 1 or stride < 1:
            raise ValueError(f"pooling needs kernel_size and stride >= 1, got {kernel_size} and {stride}")
        self.kernel_size, self.stride = kernel_size, stride

    def _out_size(self, x: np.ndarray) -> tuple[int, int]:
        if x.ndim != 4 or min(x.shape[2:]) < self.kernel_size:
            raise ValueError(f"{type(self).__name__} expects (N, C, H, W) of at least "
                             f"{self.kernel_size}x{self.kernel_size}, got shape {x.shape}")
        h, w = x.shape[2:]
        return output_size(h, self.kernel_size, self.stride), output_size(w, self.kernel_size, self.stride)


class MaxPool2D(_Pool2D):
    """The largest value of each window. With tied maxima the gradient goes to exactly ONE element (the
    first in row-major window order), as it must: the output moved with that one input, not with all."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        out_h, out_w = self._out_size(x)
        k = self.kernel_size
        best = None
        winner = np.zeros((x.shape[0], x.shape[1], out_h, out_w), dtype=np.intp)
        for i, j, view in _windows(x, k, self.stride, out_h, out_w):
            if best is None:
                best = view.copy()
                continue
            better = view > best                  # strict: an equal later value never steals the gradient
            np.copyto(best, view, where=better)
            np.copyto(winner, i * k + j, where=better)
        self.cache = (x.shape, winner)
        return best

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x_shape, winner = self.cache
        out_h, out_w = winner.shape[2:]
        grad_in = np.zeros(x_shape, dtype=grad_out.dtype)
        for i, j, view in _windows(grad_in, self.kernel_size, self.stride, out_h, out_w):
            view += np.where(winner == i * self.kernel_size + j, grad_out, 0)
        return grad_in


class AvgPool2D(_Pool2D):
    """The mean of each window; backward spreads each gradient evenly over its window."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        out_h, out_w = self._out_size(x)
        total = np.zeros((x.shape[0], x.shape[1], out_h, out_w), dtype=x.dtype)
        for _, _, view in _windows(x, self.kernel_size, self.stride, out_h, out_w):
            total += view
        self.cache = x.shape
        return total / x.dtype.type(self.kernel_size * self.kernel_size)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        out_h, out_w = grad_out.shape[2:]
        share = grad_out / grad_out.dtype.type(self.kernel_size * self.kernel_size)
        grad_in = np.zeros(self.cache, dtype=grad_out.dtype)
        for _, _, view in _windows(grad_in, self.kernel_size, self.stride, out_h, out_w):
            view += share
        return grad_in
