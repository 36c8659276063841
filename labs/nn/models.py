"""Ready-made networks for the labs: a multi-layer perceptron and a small ConvNet for 8x8 digits.

Both are `Sequential`s, so parameters are named by position ("0.W", "3.b", ...) and `state_dict`,
`save`/`load` and the gradient checker work on them unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labs.nn.conv import AvgPool2D, Conv2D, MaxPool2D
from labs.nn.layers import ACTIVATIONS, Dropout, Flatten, Linear, Sequential, make_activation

POOLS = {"max": MaxPool2D, "avg": AvgPool2D}


def default_init(activation: str) -> str:
    """He initialisation for the ReLU family, Xavier for the saturating tanh and sigmoid."""
    return "xavier_normal" if activation in ("tanh", "sigmoid") else "he_normal"


def _check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")


class MLP(Sequential):
    """Dense layers of the given sizes with an activation (and optional dropout) between them;
    the last layer outputs raw scores (logits), to be fed to a loss."""

    def __init__(self, sizes: Sequence[int], activation: str = "relu", dropout: float = 0.0, *,
                 rng: np.random.Generator, dtype=np.float32):
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2 or any(int(s) != s or s < 1 for s in sizes):
            raise ValueError(f"MLP sizes must be at least two positive integers, got {sizes}")
        _check_activation(activation)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        init = default_init(activation)
        last = len(sizes) - 2
        for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            self.append(Linear(n_in, n_out, rng=rng, init=init if index < last else "xavier_normal", dtype=dtype))
            if index < last:
                self.append(make_activation(activation))
                if dropout > 0:
                    self.append(Dropout(dropout, rng=rng))
        self.sizes = sizes


class ConvNet(Sequential):
    """[conv k x k ('same' padding) -> activation -> pool 2x2] per entry of `filters`, then a dense head.

    For 8x8 digits the default, filters=(8, 16), gives 8x8 -> 4x4 -> 2x2 feature maps, flattened to
    16*2*2 = 64 features -> `hidden` -> `num_classes`.
    """

    def __init__(self, *, rng: np.random.Generator, in_channels: int = 1, image_size: int = 8,
                 filters: Sequence[int] = (8, 16), kernel_size: int = 3, pool: str = "max",
                 hidden: int | None = 64, num_classes: int = 10, activation: str = "relu",
                 dropout: float = 0.0, dtype=np.float32):
        super().__init__()
        filters = list(filters)
        if not filters or any(int(f) != f or f < 1 for f in filters):
            raise ValueError(f"ConvNet filters must be one or more positive integers, got {filters}")
        if pool not in POOLS:
            raise ValueError(f"unknown pooling {pool!r}; choose one of {sorted(POOLS)}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd so 'same' padding is symmetric, got {kernel_size}")
        _check_activation(activation)
        if image_size >> len(filters) < 1:
            raise ValueError(f"{len(filters)} pooling stages shrink a {image_size}x{image_size} image to nothing; "
                             f"use at most {int(np.log2(image_size))} filters entries")
        init = default_init(activation)
        channels, size = in_channels, image_size
        for n_filters in filters:
            self.append(Conv2D(channels, n_filters, kernel_size, padding=kernel_size // 2, rng=rng,
                               init=init, dtype=dtype))
            self.append(make_activation(activation))
            self.append(POOLS[pool](2))
            channels, size = n_filters, size // 2
        self.append(Flatten())
        features = channels * size * size
        if hidden:
            self.append(Linear(features, hidden, rng=rng, init=init, dtype=dtype))
            self.append(make_activation(activation))
            if dropout > 0:
                self.append(Dropout(dropout, rng=rng))
            features = hidden
        self.append(Linear(features, num_classes, rng=rng, init="xavier_normal", dtype=dtype))
