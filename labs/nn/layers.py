"""Dense layers, activations, dropout, flatten and the Sequential container.

Each layer's forward keeps in its cache what the backward needs; the backward returns dL/dx and adds
dL/dparam into each param.grad. Every layer works in the dtype of its input and parameters (float32
for training, float64 for the gradient checker). The activations are the code the networks run, some
written as in-place passes; their plain twins, straight from the formulas, are in labs.nn.reference,
and tests/nn/test_reference_twins.py holds the two equal.
"""

from __future__ import annotations

import numpy as np

from labs.nn.core import Layer, Parameter
from labs.nn.init import get_initializer

_GELU_C = float(np.sqrt(2.0 / np.pi))
_GELU_A = 0.044715


def sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) = 1 / (1 + e^-x), computed as 0.5 (1 + tanh(x / 2)): the same value, and no e^-x to
    overflow for large negative x."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# -- sums as BLAS products ----------------------------------------------------------------------
# Below this many entries a BLAS call's fixed cost outweighs NumPy's own reduction, so small arrays
# (the digits MLP's) keep `sum`. The crossover was measured: benchmarks/RESULTS.md, historical figures.
_BLAS_MIN_SIZE = 2048


def row_sums(a: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """scale * a.sum(axis=-1) for a (..., n), computed as the matrix-vector product a @ (scale * 1_n).

    NumPy reduces a short last axis row by row; BLAS does all rows in one call. The result differs
    from scale * sum only by rounding (summation order). `scale` = 1/n gives the row mean."""
    if a.size < _BLAS_MIN_SIZE:
        sums = a.sum(axis=-1)
        if scale != 1.0:
            sums *= scale
        return sums
    width = a.shape[-1]
    weights = np.full(width, scale, dtype=a.dtype)
    return (a.reshape(-1, width) @ weights).reshape(a.shape[:-1])


def column_sums(a: np.ndarray) -> np.ndarray:
    """The sum over every axis but the last, e.g. a bias gradient db = sum_rows g: for a (..., n) seen
    as rows (m, n), the vector-matrix product 1_m^T @ rows, one BLAS call."""
    width = a.shape[-1]
    rows = a.reshape(-1, width)
    if a.size < _BLAS_MIN_SIZE:
        return rows.sum(axis=0)
    return np.ones(len(rows), dtype=a.dtype) @ rows


# -- dense ----------------------------------------------------------------------------------------
class Linear(Layer):
    """y = x W + b, W (in, out), b (out,); x (..., in) -> y (..., out), e.g. (batch, time, in).

    Backward: dW = x^T g, db = sum_rows g, dx = g W^T, with every leading axis flattened into rows."""

    def __init__(self, in_features: int, out_features: int, *, rng: np.random.Generator,
                 init: str = "he_normal", bias: bool = True, dtype=np.float32):
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs positive sizes, got in={in_features}, out={out_features}")
        self.in_features, self.out_features = in_features, out_features
        self.params["W"] = Parameter(get_initializer(init)((in_features, out_features), rng, dtype))
        if bias:
            self.params["b"] = Parameter(np.zeros(out_features, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Linear expects last axis {self.in_features}, got input of shape {x.shape}")
        self.cache = x
        # one 2-D matrix product whatever the leading axes: faster than a batched matmul
        out = x.reshape(-1, self.in_features) @ self.params["W"].data
        if "b" in self.params:
            out += self.params["b"].data
        return out.reshape(*x.shape[:-1], self.out_features)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = self.cache
        x2 = x.reshape(-1, self.in_features)
        g2 = grad_out.reshape(-1, self.out_features)
        self.params["W"].grad += x2.T @ g2
        if "b" in self.params:
            self.params["b"].grad += column_sums(g2)
        return (g2 @ self.params["W"].data.T).reshape(x.shape)


# -- activations ----------------------------------------------------------------------------------
class ReLU(Layer):
    """y = max(x, 0); dx = g * [x > 0] (slope 0 at the kink)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        positive = x > 0
        self.cache = positive
        # x * [x > 0] rather than np.maximum(x, 0): the same values (a negative x gives -0.0, equal to
        # 0), it is cheaper on float32, and the mask is what the backward needs anyway
        return x * positive

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self.cache


class LeakyReLU(Layer):
    """y = x for x > 0, alpha x otherwise; dx = g or alpha g. Negative inputs keep a small slope, so
    their units never stop learning."""

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        self.alpha = alpha

    def forward(self, x: np.ndarray) -> np.ndarray:
        positive = x > 0
        self.cache = positive
        return np.where(positive, x, x * self.alpha)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return np.where(self.cache, grad_out, grad_out * self.alpha)


class Tanh(Layer):
    """y = tanh(x); dx = g (1 - y^2), from the cached output."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = np.tanh(x)
        self.cache = y
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = self.cache
        return grad_out * (1 - y * y)


class Sigmoid(Layer):
    """y = sigma(x); dx = g y (1 - y), from the cached output."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = sigmoid(x)
        self.cache = y
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        y = self.cache
        return grad_out * y * (1 - y)


class GELU(Layer):
    """GELU, tanh approximation, the activation of transformer feed-forward blocks:

        y = x gate,  gate = 0.5 (1 + tanh u),  u = c (x + a x^3),  c = sqrt(2/pi),  a = 0.044715.

    Backward: dy/dx = gate + x dgate/dx, and since 1 - tanh^2 u = 4 gate (1 - gate),
        dgate/dx = 2 gate (1 - gate) c (1 + 3a x^2),
    so the cache is (x, gate) and tanh is evaluated once. Both passes are in-place updates of one or two
    buffers rather than an expression with a temporary per operator, and x^3 is x*x*x, never a power
    ufunc. Twin: reference.gelu and reference.gelu_backward."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        # gate = 0.5 (1 + tanh(x (c + c a x^2))), a smooth step from 0 to 1
        gate = x * x
        gate *= _GELU_C * _GELU_A
        gate += _GELU_C
        gate *= x
        np.tanh(gate, out=gate)
        gate *= 0.5
        gate += 0.5
        self.cache = (x, gate)
        return x * gate

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x, gate = self.cache
        # slope = gate + x 2c (1 + 3a x^2) gate (1 - gate), built in two buffers
        inner = x * x
        inner *= 6 * _GELU_A * _GELU_C
        inner += 2 * _GELU_C
        inner *= x
        slope = 1.0 - gate
        slope *= gate
        slope *= inner
        slope += gate
        slope *= grad_out
        return slope


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "gelu": GELU,
}


def make_activation(name: str) -> Layer:
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None


# -- regularisation and plumbing -------------------------------------------------------------------
class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability p and scale the rest by 1/(1-p),
    so evaluation is the identity. The mask comes from the generator given here (reproducible runs)."""

    def __init__(self, p: float, *, rng: np.random.Generator):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.rng = rng

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0.0:
            self.cache = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        self.cache = mask
        return x * mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out if self.cache is None else grad_out * self.cache


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W): the bridge from convolutions to a dense head."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out.reshape(self.cache)


class Sequential(Layer):
    """Layers applied in order; children are named "0", "1", ... so parameter names read "0.W"."""

    def __init__(self, *layers: Layer):
        super().__init__()
        for layer in layers:
            self.append(layer)

    def append(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential holds Layers, got {type(layer).__name__}")
        self.children[str(len(self.children))] = layer

    def __len__(self) -> int:
        return len(self.children)

    def __getitem__(self, index: int) -> Layer:
        return list(self.children.values())[index]

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.children.values():
            x = layer.forward(x)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        for layer in reversed(self.children.values()):
            grad_out = layer.backward(grad_out)
        return grad_out
