"""Per-layer activation and gradient statistics of a Sequential, as plain data a chart can draw.

`forward_with_stats(model, x)` runs the model's children in order exactly as `Sequential.forward` does
and summarises each child's output y_i as it passes; `backward_with_stats` runs them in reverse as
`Sequential.backward` does and summarises the gradient arriving at each output, g_i = dL/dy_i, and the
norms of each layer's parameter gradients. The layers receive the very arrays they would receive
anyway, so outputs, input gradients, parameter gradients and BatchNorm's running statistics are those
of `model.forward` / `model.backward`, bit for bit: a training loop may use these two in their place on
the steps it wants to watch. Each array is summarised as soon as it exists and none is kept.

For a tensor a (every entry of the batch):

    mean = (1/n) sum a,   std = sqrt((1/n) sum (a - mean)^2),   zero_fraction = #{a == 0} / n,
    histogram: counts[k] = #{edges[k] <= a < edges[k+1]} (the last bin includes its right edge),
               below = #{a < edges[0]}, above = #{a > edges[-1]}, nonfinite = #{a is NaN or inf}.

The edges are fixed (the caller's, or ACTIVATION_EDGES / GRADIENT_EDGES), so histograms of different
layers and steps share their bins. Mean, std and zero_fraction are over the finite entries.

For an activation layer's output (a residual block counts as the activation after its sum), with a
"unit" being one entry of a sample, y (N, ...) seen as (N, units):

    ReLU:          dead_fraction      = #{units with y <= 0 for every sample of the batch} / units,
    sigmoid:       saturated_fraction = #{y < 1 - s or y > s} / n,    s = SATURATION,
    tanh:          saturated_fraction = #{|y| > s} / n,

where the activation's slope is below s (1 - s) for sigmoid and 1 - s^2 for tanh: such entries pass
almost no gradient back. Other layers leave both fields None.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from labs.nn.core import Layer
from labs.nn.layers import ReLU, Sequential, Sigmoid, Tanh

SATURATION = 0.99
ACTIVATION_EDGES: tuple[float, ...] = tuple(np.round(np.linspace(-3.0, 3.0, 25), 6).tolist())
"""Bins of width 0.25 over [-3, 3]: normalised activations and the ranges of tanh and sigmoid."""
GRADIENT_EDGES: tuple[float, ...] = tuple(np.round(np.linspace(-0.02, 0.02, 21), 6).tolist())
"""Bins of width 0.002 over [-0.02, 0.02]: with a mean cross-entropy over a batch of B, the logits'
gradient is bounded by 1/B per entry (1/32 for the labs' default batch), and deeper gradients are
smaller still when they vanish."""


class Histogram(BaseModel):
    edges: list[float]
    counts: list[int]
    below: int
    above: int
    nonfinite: int


class TensorStats(BaseModel):
    size: int
    mean: float
    std: float
    min: float
    max: float
    zero_fraction: float
    histogram: Histogram


class LayerStats(BaseModel):
    index: int
    name: str                                 # the child's key in the Sequential ("0", "1", ...)
    kind: str                                 # its class name ("Linear", "ReLU", "BatchNorm1d", ...)
    activation: TensorStats                   # of the layer's output y_i
    dead_fraction: float | None = None        # ReLU outputs only
    saturated_fraction: float | None = None   # sigmoid and tanh outputs only
    gradient: TensorStats | None = None       # of dL/dy_i, once the backward has run
    param_norm: float | None = None           # sqrt(sum of w^2 over the layer's parameters)
    param_grad_norm: float | None = None      # sqrt(sum of (dL/dw)^2), the accumulated gradients


class NetworkStats(BaseModel):
    layers: list[LayerStats]

    def series(self, field: str, of: str = "activation") -> list[float | None]:
        """One number per layer for a chart: e.g. series("std", of="gradient")."""
        out = []
        for layer in self.layers:
            tensor = getattr(layer, of)
            out.append(None if tensor is None else getattr(tensor, field))
        return out


# -- the pure summaries -------------------------------------------------------------------------------
def tensor_stats(values: np.ndarray, edges: Sequence[float]) -> TensorStats:
    """The summary of one array; the equations are in the module docstring."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    edges = [float(e) for e in edges]
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"histogram edges must be at least two increasing numbers, got {edges}")
    finite_mask = np.isfinite(flat)
    finite = flat if finite_mask.all() else flat[finite_mask]
    counts, _ = np.histogram(finite, bins=edges)
    if finite.size:
        mean, std = float(finite.mean()), float(finite.std())
        low, high = float(finite.min()), float(finite.max())
        zero = float(np.count_nonzero(finite == 0) / finite.size)
    else:
        mean = std = low = high = zero = math.nan
    return TensorStats(
        size=int(flat.size), mean=mean, std=std, min=low, max=high, zero_fraction=zero,
        histogram=Histogram(edges=edges, counts=counts.tolist(), below=int(np.count_nonzero(finite < edges[0])),
                            above=int(np.count_nonzero(finite > edges[-1])),
                            nonfinite=int(flat.size - finite.size)),
    )


def dead_fraction(y: np.ndarray) -> float:
    """Share of units (entries of a sample) that are <= 0 for every sample of the batch."""
    units = np.asarray(y).reshape(len(y), -1)
    return float(np.mean(np.all(units <= 0, axis=0)))


def saturated_fraction(y: np.ndarray, kind: type[Layer]) -> float:
    """Share of entries where sigmoid or tanh is flat (see the module docstring)."""
    y = np.asarray(y)
    if kind is Sigmoid:
        return float(np.mean((y < 1 - SATURATION) | (y > SATURATION)))
    return float(np.mean(np.abs(y) > SATURATION))


def _final_activation(layer: Layer) -> type[Layer] | None:
    """ReLU, Sigmoid or Tanh when the layer's output is that activation's (a residual block's "out")."""
    for kind in (ReLU, Sigmoid, Tanh):
        if isinstance(layer, kind):
            return kind
    out = layer.children.get("out")
    return _final_activation(out) if out is not None else None


def _norm(arrays: list[np.ndarray]) -> float:
    return float(math.sqrt(sum(float(np.vdot(a, a)) for a in arrays)))


def _children(model: Layer) -> list[tuple[str, Layer]]:
    if not isinstance(model, Sequential):
        raise TypeError(f"layer statistics need a Sequential (its layers in order), got {type(model).__name__}")
    return list(model.children.items())


# -- the traced passes --------------------------------------------------------------------------------
def forward_with_stats(model: Sequential, x: np.ndarray, *,
                       edges: Sequence[float] = ACTIVATION_EDGES) -> tuple[np.ndarray, list[LayerStats]]:
    """model.forward(x), and each child's output summarised (gradient fields still None)."""
    records = []
    for index, (name, layer) in enumerate(_children(model)):
        x = layer.forward(x)
        kind = _final_activation(layer)
        records.append(LayerStats(
            index=index, name=name, kind=type(layer).__name__, activation=tensor_stats(x, edges),
            dead_fraction=dead_fraction(x) if kind is ReLU else None,
            saturated_fraction=saturated_fraction(x, kind) if kind in (Sigmoid, Tanh) else None,
        ))
    return x, records


def backward_with_stats(model: Sequential, grad_out: np.ndarray, forward: list[LayerStats], *,
                        edges: Sequence[float] = GRADIENT_EDGES) -> tuple[np.ndarray, NetworkStats]:
    """model.backward(grad_out), and for each child the gradient at its output and its parameter norms,
    merged into the records `forward_with_stats` returned for the same batch."""
    children = _children(model)
    if len(forward) != len(children):
        raise ValueError(f"the forward records hold {len(forward)} layers, the model has {len(children)}")
    merged: list[LayerStats] = [None] * len(children)  # type: ignore[list-item]
    for index in range(len(children) - 1, -1, -1):
        _, layer = children[index]
        gradient = tensor_stats(grad_out, edges)
        grad_out = layer.backward(grad_out)
        params = layer.parameters()
        merged[index] = forward[index].model_copy(update={
            "gradient": gradient,
            "param_norm": _norm([p.data for p in params]) if params else None,
            "param_grad_norm": _norm([p.grad for p in params]) if params else None,
        })
    return grad_out, NetworkStats(layers=merged)


def measure(model: Sequential, loss, x: np.ndarray, y: np.ndarray, *,
            activation_edges: Sequence[float] = ACTIVATION_EDGES,
            gradient_edges: Sequence[float] = GRADIENT_EDGES) -> tuple[float, NetworkStats]:
    """One forward and backward under `loss` (`loss.forward(pred, y)`, `loss.backward()`), as a training
    step does them: the parameter gradients accumulate as usual, so an optimiser step may follow."""
    pred, records = forward_with_stats(model, x, edges=activation_edges)
    value = float(loss.forward(pred, y))
    _, stats = backward_with_stats(model, loss.backward(), records, edges=gradient_edges)
    return value, stats
