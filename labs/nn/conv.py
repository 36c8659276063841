"""2-D convolution and pooling over NCHW images, vectorised with im2col.

    y[s, o, i, j] = b[o] + sum_{c, u, v} x_pad[s, c, i*stride + u, j*stride + v] W[o, c, u, v]

im2col lays every receptive field out as a column, cols (C*k*k, H'*W'*N), so the convolution is ONE
matrix product Y = W2 cols + b with W2 = W reshaped (F, C*k*k). Backward: dW2 = dY cols^T,
db = sum of dY over positions, dcols = W2^T dY, and dx = col2im(dcols), the adjoint of im2col, which
adds every column entry back onto the pixel it was copied from. The columns are built from k*k
strided slice copies (one per kernel offset) rather than `sliding_window_view`; the only Python loops
run over kernel offsets, never over pixels or samples. Internally images are held batch-last,
(C, H, W, N), so every slice copy or add moves runs of N contiguous numbers instead of rows of a few
pixels. Twin: reference.conv2d and reference.conv2d_backward, one output pixel at a time.
"""

from __future__ import annotations

import numpy as np

from labs.nn.core import Layer, Parameter
from labs.nn.init import get_initializer


def output_size(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Spatial size after a kernel slides over `size` pixels (partial windows are dropped)."""
    return (size + 2 * padding - kernel) // stride + 1


def _offsets(kernel: int, stride: int, out_h: int, out_w: int):
    """Yield (i, j, rows, cols) per kernel offset: the slices of the pixels that offset sees at every
    output position."""
    for i in range(kernel):
        for j in range(kernel):
            yield i, j, slice(i, i + stride * out_h, stride), slice(j, j + stride * out_w, stride)


def im2col(x: np.ndarray, kernel: int, stride: int, padding: int) -> tuple[np.ndarray, int, int]:
    """NCHW images -> columns (C*k*k, H'*W'*N), with the output's spatial size."""
    n, c, h, w = x.shape
    out_h, out_w = output_size(h, kernel, stride, padding), output_size(w, kernel, stride, padding)
    padded = np.zeros((c, h + 2 * padding, w + 2 * padding, n), dtype=x.dtype)
    padded[:, padding:padding + h, padding:padding + w] = x.transpose(1, 2, 3, 0)
    cols = np.empty((c, kernel, kernel, out_h, out_w, n), dtype=x.dtype)
    for i, j, rows, columns in _offsets(kernel, stride, out_h, out_w):
        cols[:, i, j] = padded[:, rows, columns]
    return cols.reshape(c * kernel * kernel, out_h * out_w * n), out_h, out_w


def col2im(cols: np.ndarray, x_shape: tuple[int, ...], kernel: int, stride: int, padding: int) -> np.ndarray:
    """The adjoint of im2col: add every column entry back onto the pixel it was copied from (NCHW)."""
    n, c, h, w = x_shape
    out_h, out_w = output_size(h, kernel, stride, padding), output_size(w, kernel, stride, padding)
    cols = cols.reshape(c, kernel, kernel, out_h, out_w, n)
    padded = np.zeros((c, h + 2 * padding, w + 2 * padding, n), dtype=cols.dtype)
    for i, j, rows, columns in _offsets(kernel, stride, out_h, out_w):
        padded[:, rows, columns] += cols[:, i, j]
    return padded[:, padding:padding + h, padding:padding + w].transpose(3, 0, 1, 2)


class Conv2D(Layer):
    """Convolution of (N, C, H, W) images with `out_channels` filters of size k x k; W is (F, C, k, k).

    `bias=False` drops b, as before a batch normalisation, whose mean subtraction cancels it exactly."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, rng: np.random.Generator,
                 stride: int = 1, padding: int = 0, init: str = "he_normal", bias: bool = True, dtype=np.float32):
        super().__init__()
        for name, value, low in [("in_channels", in_channels, 1), ("out_channels", out_channels, 1),
                                 ("kernel_size", kernel_size, 1), ("stride", stride, 1), ("padding", padding, 0)]:
            if int(value) != value or value < low:
                raise ValueError(f"Conv2D {name} must be an integer >= {low}, got {value!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.params["W"] = Parameter(get_initializer(init)(shape, rng, dtype))
        if bias:
            self.params["b"] = Parameter(np.zeros(out_channels, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2D expects (N, {self.in_channels}, H, W) input, got shape {x.shape}")
        if min(x.shape[2:]) + 2 * self.padding < self.kernel_size:
            raise ValueError(f"image {x.shape[2:]} is smaller than the {self.kernel_size}x{self.kernel_size} kernel")
        cols, out_h, out_w = im2col(x, self.kernel_size, self.stride, self.padding)
        self.cache = (x.shape, cols)
        w2 = self.params["W"].data.reshape(self.out_channels, -1)
        out = w2 @ cols                                           # (F, H'*W'*N)
        if "b" in self.params:
            out += self.params["b"].data[:, None]
        return np.ascontiguousarray(out.reshape(self.out_channels, out_h, out_w, x.shape[0]).transpose(3, 0, 1, 2))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x_shape, cols = self.cache
        g2 = grad_out.transpose(1, 2, 3, 0).reshape(self.out_channels, -1)  # (F, H'*W'*N)
        self.params["W"].grad += (g2 @ cols.T).reshape(self.params["W"].data.shape)
        if "b" in self.params:
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
    first in row-major window order), as it must: the output moved with that one input, not with all.

    Forward is a chain of np.maximum over the k*k offsets; backward finds each window's winner by
    equality with the maximum, and a `taken` mask stops a later tied element from also claiming it.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        out_h, out_w = self._out_size(x)
        offsets = _offsets(self.kernel_size, self.stride, out_h, out_w)
        _, _, rows, columns = next(offsets)
        best = x[:, :, rows, columns].copy()
        for _, _, rows, columns in offsets:
            np.maximum(best, x[:, :, rows, columns], out=best)
        self.cache = (x, best)
        return best

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x, best = self.cache
        out_h, out_w = best.shape[2:]
        grad_in = np.zeros(x.shape, dtype=grad_out.dtype)
        taken = np.zeros(best.shape, dtype=bool)
        hit = np.empty(best.shape, dtype=bool)
        for _, _, rows, columns in _offsets(self.kernel_size, self.stride, out_h, out_w):
            np.equal(x[:, :, rows, columns], best, out=hit)
            hit &= ~taken
            taken |= hit
            grad_in[:, :, rows, columns] += grad_out * hit
        return grad_in


class AvgPool2D(_Pool2D):
    """The mean of each window; backward spreads each gradient evenly over its window."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        out_h, out_w = self._out_size(x)
        total = np.zeros((x.shape[0], x.shape[1], out_h, out_w), dtype=x.dtype)
        for _, _, rows, columns in _offsets(self.kernel_size, self.stride, out_h, out_w):
            total += x[:, :, rows, columns]
        self.cache = x.shape
        return total / x.dtype.type(self.kernel_size * self.kernel_size)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        out_h, out_w = grad_out.shape[2:]
        share = grad_out / grad_out.dtype.type(self.kernel_size * self.kernel_size)
        grad_in = np.zeros(self.cache, dtype=grad_out.dtype)
        for _, _, rows, columns in _offsets(self.kernel_size, self.stride, out_h, out_w):
            grad_in[:, :, rows, columns] += share
        return grad_in
