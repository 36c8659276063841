"""Residual blocks (He et al., "Deep residual learning", 2016) and the deep MLPs they are compared in.

A residual block adds its input back to what its branch computes, and applies the activation after
the sum:

    s = shortcut(x) + F(x),   y = act(s).

Backward, with g = dL/dy:  g_s = act'(s) g,  dx = shortcut'(g_s) + F'(g_s), and for the identity
shortcut dx = g_s + F'(g_s): the gradient reaches x along the identity whatever F does to it, which is
why a deep stack of blocks still trains where the same depth of plain layers does not.

- `ResidualMLPBlock`: F = Linear - BN - act - Linear - BN, width -> width (norm="none" drops both BN
  and gives the Linears their biases back).
- `ResidualConvBlock`: F = 3x3 conv - BN - ReLU - 3x3 conv - BN on (N, C, H, W) images, the basic
  block of ResNet-18/34; the shortcut is the identity when the shape is kept, else a 1x1 convolution
  with the block's stride followed by BN (the projection shortcut).
- `deep_mlp`: a stack of `depth` weight layers, plain or residual, with or without batch norm.

Convolutions and Linears in front of a BN have no bias: the BN subtracts the channel mean, so a bias
there would cancel exactly and its gradient would be zero.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from labs.nn.batchnorm import BatchNorm1d, BatchNorm2d
from labs.nn.conv import Conv2D
from labs.nn.core import Layer
from labs.nn.layers import ACTIVATIONS, Linear, Sequential, make_activation
from labs.nn.models import default_init

Norm = Literal["none", "batch"]
NORMS = ("none", "batch")


def _check_choices(activation: str, norm: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; choose one of {list(NORMS)}")


def _dense(n_in: int, n_out: int, norm: str, init: str, rng: np.random.Generator, dtype) -> list[Layer]:
    """Linear (no bias before a BN) followed by BatchNorm1d when norm == "batch"."""
    layers: list[Layer] = [Linear(n_in, n_out, rng=rng, init=init, bias=norm == "none", dtype=dtype)]
    if norm == "batch":
        layers.append(BatchNorm1d(n_out, dtype=dtype))
    return layers


class ResidualMLPBlock(Layer):
    """(N, width) -> (N, width): y = act(x + F(x)), F = Linear - [BN] - act - Linear - [BN].

    Children: "branch" (the Sequential F) and "out" (the activation after the sum)."""

    def __init__(self, width: int, *, rng: np.random.Generator, activation: str = "relu", norm: Norm = "batch",
                 dtype=np.float32):
        super().__init__()
        _check_choices(activation, norm)
        init = default_init(activation)
        self.width = width
        self.children["branch"] = Sequential(*_dense(width, width, norm, init, rng, dtype), make_activation(activation),
                                             *_dense(width, width, norm, init, rng, dtype))
        self.children["out"] = make_activation(activation)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.width:
            raise ValueError(f"ResidualMLPBlock expects (N, {self.width}) input, got shape {x.shape}")
        return self.children["out"].forward(x + self.children["branch"].forward(x))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_sum = self.children["out"].backward(grad_out)
        return grad_sum + self.children["branch"].backward(grad_sum)


class ResidualConvBlock(Layer):
    """(N, C_in, H, W) -> (N, C_out, H', W'), H' = (H - 1) // stride + 1:
    y = ReLU(shortcut(x) + F(x)), F = conv3x3(stride) - BN - ReLU - conv3x3 - BN, 'same' padding.

    The shortcut is x itself when C_in == C_out and stride == 1, else conv1x1(stride) - BN. Children:
    "branch", "shortcut" (only when projecting) and "out"."""

    def __init__(self, in_channels: int, out_channels: int, *, rng: np.random.Generator, stride: int = 1,
                 activation: str = "relu", dtype=np.float32):
        super().__init__()
        _check_choices(activation, "batch")
        init = default_init(activation)
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.children["branch"] = Sequential(
            Conv2D(in_channels, out_channels, 3, stride=stride, padding=1, bias=False, init=init, rng=rng, dtype=dtype),
            BatchNorm2d(out_channels, dtype=dtype),
            make_activation(activation),
            Conv2D(out_channels, out_channels, 3, padding=1, bias=False, init=init, rng=rng, dtype=dtype),
            BatchNorm2d(out_channels, dtype=dtype),
        )
        if in_channels != out_channels or stride != 1:
            self.children["shortcut"] = Sequential(
                Conv2D(in_channels, out_channels, 1, stride=stride, bias=False, init=init, rng=rng, dtype=dtype),
                BatchNorm2d(out_channels, dtype=dtype),
            )
        self.children["out"] = make_activation(activation)

    @property
    def projects(self) -> bool:
        """True when the shortcut is a 1x1 convolution rather than the identity."""
        return "shortcut" in self.children

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ResidualConvBlock expects (N, {self.in_channels}, H, W) input, got shape {x.shape}")
        skip = self.children["shortcut"].forward(x) if self.projects else x
        return self.children["out"].forward(skip + self.children["branch"].forward(x))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_sum = self.children["out"].backward(grad_out)
        grad_x = self.children["branch"].backward(grad_sum)
        grad_x += self.children["shortcut"].backward(grad_sum) if self.projects else grad_sum
        return grad_x


def deep_mlp(depth: int, width: int, *, rng: np.random.Generator, in_features: int = 64, num_classes: int = 10,
             activation: str = "relu", norm: Norm = "none", residual: bool = False, dtype=np.float32) -> Sequential:
    """An MLP of `depth` weight layers (Linears, as He et al. count them), all hidden ones `width` wide:

        plain:     [Linear - [BN] - act] x (depth - 1), Linear head;
        residual:  Linear - [BN] - act stem, ResidualMLPBlock x (depth - 2) / 2, Linear head.

    The last layer outputs logits (Xavier-initialised, as in `MLP`); the hidden ones use He
    initialisation for the ReLU family and Xavier for tanh and sigmoid. With norm="none" and
    residual=False it is `MLP([in_features] + [width] * (depth - 1) + [num_classes])`, drawn from the
    generator in the same order, so the same seed gives the same weights."""
    if int(depth) != depth or depth < 2:
        raise ValueError(f"deep_mlp depth must be an integer >= 2 (weight layers, head included), got {depth!r}")
    if int(width) != width or width < 1:
        raise ValueError(f"deep_mlp width must be a positive integer, got {width!r}")
    if residual and (depth - 2) % 2:
        raise ValueError(f"a residual deep_mlp has a stem, blocks of two layers and a head, so depth - 2 must be "
                         f"even; got depth {depth}")
    _check_choices(activation, norm)
    init = default_init(activation)
    model = Sequential()
    hidden_layers = 1 if residual else depth - 1
    for index in range(hidden_layers):
        for layer in _dense(in_features if index == 0 else width, width, norm, init, rng, dtype):
            model.append(layer)
        model.append(make_activation(activation))
    if residual:
        for _ in range((depth - 2) // 2):
            model.append(ResidualMLPBlock(width, rng=rng, activation=activation, norm=norm, dtype=dtype))
    model.append(Linear(width, num_classes, rng=rng, init="xavier_normal", dtype=dtype))
    return model
