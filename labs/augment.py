"""Data augmentation for batches of images: integer shifts, small rotations and pixel noise.

NumPy only, and vectorised over the batch: every function builds index or coordinate arrays for the
whole batch at once and gathers with them, with no Python loop over samples or pixels. Images are
(N, H, W) or (N, 1, H, W); the result has the input's shape and dtype. The random versions take a
seed or a `np.random.Generator`, so the same seed gives the same batch.

Coordinates: row i runs down, column j runs right, the centre is ((H - 1) / 2, (W - 1) / 2).

- shift by (dx, dy), right and down positive:   out[n, i, j] = x[n, i - dy_n, j - dx_n], 0 outside.
- rotate by theta degrees, counter-clockwise as the image is displayed (theta = 90 is `np.rot90`): the
  output pixel at offset (u, v) = (i - c_i, j - c_j) from the centre reads the input at
      (c_i + u cos theta + v sin theta,  c_j - u sin theta + v cos theta),
  interpolated bilinearly between the four pixels around it (a neighbour outside the image counts
  as 0), so a rotation by 0 is the identity and one by 90 lands on grid points exactly.
- noise:  out = clip(x + sigma z, low, high),  z ~ N(0, 1) per pixel.

These are for training batches only: augmenting the test set measures a different task.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Seed = int | np.random.Generator


def _generator(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _stack(images: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """The images as (N, H, W), and the function that gives a result the input's shape back."""
    images = np.asarray(images)
    if images.ndim == 3:
        return images, lambda out: out
    if images.ndim == 4 and images.shape[1] == 1:
        return images[:, 0], lambda out: out[:, None]
    raise ValueError(f"augment: expected images of shape (N, H, W) or (N, 1, H, W), got {images.shape}")


def _per_sample(name: str, value, n: int, *, integer: bool) -> np.ndarray:
    """A scalar or an (N,) array of per-image amounts, as an (N,) array."""
    array = np.asarray(value)
    if integer and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"augment: {name} must be whole pixels (integers), got {value!r}")
    if array.ndim == 0:
        return np.full(n, array)
    if array.shape != (n,):
        raise ValueError(f"augment: {name} must be one number or one per image ({n}), got shape {array.shape}")
    return array


# -- shifts ------------------------------------------------------------------------------------------
def shift(images: np.ndarray, dx, dy) -> np.ndarray:
    """Move each image dx pixels right and dy pixels down (negative: left, up), filling with 0.

    dx and dy are integers, one for the whole batch or one per image ((N,) arrays)."""
    x, restore = _stack(images)
    n, h, w = x.shape
    dx = _per_sample("dx", dx, n, integer=True)
    dy = _per_sample("dy", dy, n, integer=True)
    rows = np.arange(h)[None, :] - dy[:, None]  # (N, H): the source row of each output row
    cols = np.arange(w)[None, :] - dx[:, None]  # (N, W)
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    gathered = x[np.arange(n)[:, None, None], np.clip(rows, 0, h - 1)[:, :, None], np.clip(cols, 0, w - 1)[:, None, :]]
    return restore(np.where(inside, gathered, 0).astype(x.dtype, copy=False))


def random_shift(images: np.ndarray, max_shift: int, seed: Seed) -> np.ndarray:
    """Each image shifted by its own (dx, dy), both drawn uniformly from -max_shift..max_shift."""
    if int(max_shift) != max_shift or max_shift < 0:
        raise ValueError(f"augment: max_shift must be a whole number >= 0, got {max_shift!r}")
    rng = _generator(seed)
    n = len(images)
    d = rng.integers(-max_shift, max_shift + 1, size=(2, n))
    return shift(images, d[0], d[1])


# -- rotations ---------------------------------------------------------------------------------------
def rotate(images: np.ndarray, degrees) -> np.ndarray:
    """Rotate each image about its centre by `degrees` (counter-clockwise; one angle or one per image),
    bilinear, zero outside. The four neighbours of every output pixel of every image are gathered in one
    indexing operation from coordinate maps (N, H, W) built for the whole batch."""
    x, restore = _stack(images)
    n, h, w = x.shape
    theta = np.deg2rad(_per_sample("degrees", degrees, n, integer=False).astype(np.float64))
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    centre_i, centre_j = (h - 1) / 2.0, (w - 1) / 2.0
    u = (np.arange(h) - centre_i)[None, :, None]
    v = (np.arange(w) - centre_j)[None, None, :]
    src_i = centre_i + u * cos + v * sin  # (N, H, W)
    src_j = centre_j - u * sin + v * cos
    top, left = np.floor(src_i), np.floor(src_j)
    frac_i, frac_j = src_i - top, src_j - left
    top, left = top.astype(np.int64), left.astype(np.int64)
    # the four neighbours, stacked (4, N, H, W): top-left, top-right, bottom-left, bottom-right
    rows = np.stack([top, top, top + 1, top + 1])
    cols = np.stack([left, left + 1, left, left + 1])
    weights = np.stack([(1 - frac_i) * (1 - frac_j), (1 - frac_i) * frac_j, frac_i * (1 - frac_j), frac_i * frac_j])
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    values = x[np.arange(n)[None, :, None, None], np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)]
    out = (np.where(inside, values, 0.0) * weights).sum(axis=0)
    return restore(out.astype(x.dtype, copy=False))


def random_rotate(images: np.ndarray, max_degrees: float, seed: Seed) -> np.ndarray:
    """Each image rotated by its own angle, drawn uniformly from [-max_degrees, max_degrees]."""
    if not 0 <= max_degrees <= 180:
        raise ValueError(f"augment: max_degrees must be between 0 and 180, got {max_degrees!r}")
    rng = _generator(seed)
    return rotate(images, rng.uniform(-max_degrees, max_degrees, size=len(images)))


# -- noise -------------------------------------------------------------------------------------------
def add_noise(images: np.ndarray, sigma: float, seed: Seed, *, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """clip(x + sigma z, low, high) with z standard normal per pixel: the pixel range [low, high] is
    kept ([0, 1] for the bundled digits)."""
    if not sigma >= 0:
        raise ValueError(f"augment: sigma must be >= 0, got {sigma!r}")
    if not low < high:
        raise ValueError(f"augment: the pixel range needs low < high, got [{low}, {high}]")
    x, restore = _stack(images)
    rng = _generator(seed)
    noisy = x + sigma * rng.standard_normal(x.shape)
    return restore(np.clip(noisy, low, high).astype(x.dtype, copy=False))


def augment(images: np.ndarray, seed: Seed, *, max_shift: int = 1, max_degrees: float = 10.0,
            sigma: float = 0.05, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """A random shift, then a random rotation, then noise, each image with its own draws, from one
    generator (so one seed fixes the whole batch)."""
    rng = _generator(seed)
    out = random_shift(images, max_shift, rng)
    out = random_rotate(out, max_degrees, rng)
    return add_noise(out, sigma, rng, low=low, high=high)
