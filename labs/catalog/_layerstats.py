"""Per-layer activation and gradient histograms of a deep network, as a run's samples (the deep-nets lab).

A snapshot is measured on a fixed probe batch with `labs.nn.stats.measure` (one forward and backward in
training mode, the learner's own step untouched: BatchNorm's running statistics are restored and the
parameter gradients zeroed afterwards), reduced to the activation layers (each activation's output, and
a residual block's output after its sum: the places where a signal can saturate, die or vanish), and
emitted as ONE sample whose text is `PREFIX` followed by the snapshot as JSON:

    layer-stats {"epoch": 3, "act_edges": [...], "grad_edges": [...], "layers": [{"name": "L1 sigmoid",
                 "act": [counts], "act_std": 0.21, "grad": [counts], "grad_std": 3.1e-09, ...}, ...]}

The text is stored as any sample is (`attempt_samples.text`), so the live lab screen and the attempt
view draw the same picture from the same rows (`planner.tui.widgets.layer_histograms`); `decode` is
the one reader, and ordinary text samples are told apart by the prefix. Histogram counts use the fixed
edges of labs.nn.stats (ACTIVATION_EDGES, GRADIENT_EDGES) merged two bins into one, so every layer and
every epoch share their bins; entries outside the edges are counted in the first or last bin.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:  # the readers (the app, the CLI) need no NumPy: only `snapshot` measures
    import numpy as np

    from labs.nn import Layer
    from labs.nn.stats import LayerStats

PREFIX = "layer-stats "
ACTIVATION_KINDS = ("ReLU", "Sigmoid", "Tanh", "LeakyReLU", "GELU", "ResidualMLPBlock")


class LayerSnap(BaseModel):
    name: str             # "L3 sigmoid": the activation's position among the activations, and its kind
    act: list[int]        # histogram counts of the layer's output over the probe batch
    act_std: float
    grad: list[int]       # histogram counts of dL/d(output)
    grad_std: float
    dead: float | None = None       # ReLU: share of units that are 0 for every probe sample
    saturated: float | None = None  # sigmoid/tanh: share of entries on the flat tails


class LayerSnapshot(BaseModel):
    epoch: int            # 0: at initialisation; k: after k epochs
    act_edges: list[float]
    grad_edges: list[float]
    layers: list[LayerSnap]

    def encode(self) -> str:
        return PREFIX + self.model_dump_json()

    def summary(self) -> str:
        """One line for a terminal: 'after epoch 3: gradient std L1 sigmoid 4.1e-12 ... L19 sigmoid 2.0e-03'."""
        where = "at initialisation" if self.epoch == 0 else f"after epoch {self.epoch}"
        if not self.layers:
            return where
        first, last = self.layers[0], self.layers[-1]
        return f"{where}: gradient std {first.name} {first.grad_std:.1e} ... {last.name} {last.grad_std:.1e}"


def decode(text: str) -> LayerSnapshot | None:
    """The snapshot a sample's text holds, or None for an ordinary text sample (or a damaged one)."""
    if not text.startswith(PREFIX):
        return None
    try:
        return LayerSnapshot.model_validate(json.loads(text[len(PREFIX):]))
    except (ValueError, ValidationError):
        return None


def is_layer_stats(text: str) -> bool:
    return text.startswith(PREFIX)


def _merged(counts: list[int], below: int, above: int) -> list[int]:
    """Pairs of bins summed (an odd last bin kept); the outliers folded into the end bins."""
    c = list(counts)
    c[0] += below
    c[-1] += above
    return [sum(c[i:i + 2]) for i in range(0, len(c), 2)]


def _every_other(edges: tuple[float, ...]) -> list[float]:
    """The edges of the merged bins (an even number of bins: every other edge, both ends kept)."""
    assert len(edges) % 2 == 1, "an even number of bins merges into pairs"
    return list(edges[::2])


def _label(index: int, kind: str) -> str:
    name = {"ResidualMLPBlock": "block", "LeakyReLU": "lrelu"}.get(kind, kind.lower())
    return f"L{index} {name}"


def _snap(index: int, layer: LayerStats) -> LayerSnap:
    a, g = layer.activation, layer.gradient
    assert g is not None
    finite = lambda v: float(v) if math.isfinite(v) else 0.0  # noqa: E731 (a dead net's NaN std stays drawable)
    return LayerSnap(name=_label(index, layer.kind),
                     act=_merged(a.histogram.counts, a.histogram.below, a.histogram.above), act_std=finite(a.std),
                     grad=_merged(g.histogram.counts, g.histogram.below, g.histogram.above), grad_std=finite(g.std),
                     dead=layer.dead_fraction, saturated=layer.saturated_fraction)


def snapshot(model: Layer, x: np.ndarray, y: np.ndarray, epoch: int) -> LayerSnapshot:
    """Measure the model on the probe batch (x, y) without disturbing its training (see the module doc)."""
    from labs.nn import SoftmaxCrossEntropy
    from labs.nn.stats import ACTIVATION_EDGES, GRADIENT_EDGES, measure

    saved = [(buf, buf.copy()) for _, buf in model.named_buffers()]
    try:
        _, stats = measure(model, SoftmaxCrossEntropy(), x, y)
    finally:
        for buf, copy in saved:
            buf[...] = copy
        model.zero_grad()
    layers = [layer for layer in stats.layers if layer.kind in ACTIVATION_KINDS]
    return LayerSnapshot(epoch=epoch, act_edges=_every_other(ACTIVATION_EDGES), grad_edges=_every_other(GRADIENT_EDGES),
                         layers=[_snap(i + 1, layer) for i, layer in enumerate(layers)])
