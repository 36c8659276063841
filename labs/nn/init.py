"""Weight initialisers: start each layer so its signal neither dies nor explodes with depth.

He (Kaiming) scales the variance by 2 / fan_in, which keeps ReLU activations at a steady size;
Xavier (Glorot) scales it by 2 / (fan_in + fan_out), which suits tanh and sigmoid.

All randomness comes from the `numpy.random.Generator` the caller passes in, never the global
`np.random`, so the same seed gives bit-identical weights. Values are drawn in float64 and then cast,
so a float32 and a float64 model built from the same seed hold the same weights up to rounding.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Initializer = Callable[..., np.ndarray]


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight: (in, out) for a dense layer, (out_ch, in_ch, k, k) for a convolution."""
    if len(shape) < 2:
        raise ValueError(f"a weight needs at least 2 dimensions to have fans, got shape {shape}")
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    receptive = int(np.prod(shape[2:]))
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def he_normal(shape: tuple[int, ...], rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    fan_in, _ = fans(shape)
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def he_uniform(shape: tuple[int, ...], rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    fan_in, _ = fans(shape)
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, shape).astype(dtype)


def xavier_normal(shape: tuple[int, ...], rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    fan_in, fan_out = fans(shape)
    return (rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))).astype(dtype)


def xavier_uniform(shape: tuple[int, ...], rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    fan_in, fan_out = fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(dtype)


glorot_normal = xavier_normal
glorot_uniform = xavier_uniform

INITIALIZERS: dict[str, Initializer] = {
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "glorot_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
}


def get_initializer(name: str) -> Initializer:
    """Look an initialiser up by name, with a message listing the valid names on a typo."""
    try:
        return INITIALIZERS[name]
    except KeyError:
        raise ValueError(f"unknown initialiser {name!r}; choose one of {sorted(INITIALIZERS)}") from None
