"""The data every lab trains on: handwritten digits, Shakespeare's text, and two seeded synthetic sets.

Each loader returns a small frozen dataclass holding NumPy arrays and a `sha256` of the dataset's
canonical bytes (the arrays' raw bytes, not the file's, so re-zipping a file does not change it). The hash
is recorded with every attempt, so a result can always be traced to the exact data it was graded on.

- `load_digits()`: 1797 8x8 images (UCI, pixels scaled to [0, 1]) with a stored stratified
  train/validation/test split (see data/README.md and data/datasets/build.py).
- `load_text(n_chars=None)`: tiny Shakespeare, a character vocabulary, and a split by position.
- `make_linear(...)`, `make_spirals(...)`: generated from a seed, so they need no files.

Bundled files are read once per process (`functools.cache`); the arrays are marked read-only so a lab
cannot corrupt the cached copy for the next one.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache

import numpy as np

from labs.datapath import data_dir

SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
"""Share of every digit class in train, validation and test."""
TRAIN, VAL, TEST = 0, 1, 2
IMAGE_SIDE = 8


def content_hash(*arrays: np.ndarray) -> str:
    """sha256 over the arrays' dtype, shape and little-endian bytes, in order."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


# -- splits ----------------------------------------------------------------------------------------
def stratified_split(labels: np.ndarray, fractions: tuple[float, ...], seed: int) -> np.ndarray:
    """A split code (0, 1, 2, ...) per sample so that every class is divided in `fractions`.

    Within each class the samples are shuffled, ranked, and the first round(n * f0) go to split 0, the
    next to split 1, and so on. Vectorised: one lexsort ranks every sample inside its class.
    """
    labels = np.asarray(labels)
    if not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"split fractions must sum to 1, got {fractions}")
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(labels.size), labels))  # by class, shuffled inside a class
    classes, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
    rank = np.arange(labels.size) - np.repeat(starts, counts)  # position inside its class
    share = rank / np.repeat(counts, counts)
    bounds = np.cumsum(fractions)[:-1]
    codes = np.empty(labels.size, dtype=np.int64)
    codes[order] = np.searchsorted(bounds, share, side="right")
    return codes


def shuffle_split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a random train/validation split of n samples (for the synthetic sets). Each part keeps
    at least one sample, however extreme the fraction: an empty training set would divide by zero."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    if n < 2:
        raise ValueError(f"a train/validation split needs at least 2 samples, got {n}")
    perm = np.random.default_rng(seed).permutation(n)
    n_val = min(n - 1, max(1, round(n * val_fraction)))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


# -- digits ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Split:
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Digits:
    """Flat images x (n, 64) float32 in [0, 1], labels y (n,) int64, for each of train/val/test."""

    train: Split
    val: Split
    test: Split
    sha256: str
    n_classes: int = 10


@cache
def load_digits() -> Digits:
    path = data_dir() / "datasets" / "digits.npz"
    try:
        with np.load(path) as f:
            pixels, labels, split = f["pixels"], f["labels"], f["split"]
    except (OSError, KeyError, ValueError) as exc:
        raise FileNotFoundError(f"{path}: cannot read the digits dataset ({exc}); reinstall the package") from exc
    x = pixels.astype(np.float32) / 16.0
    y = labels.astype(np.int64)

    def part(code: int) -> Split:
        mask = split == code
        return Split(_frozen(x[mask]), _frozen(y[mask]))

    return Digits(part(TRAIN), part(VAL), part(TEST), content_hash(pixels, labels, split))


def as_images(x: np.ndarray) -> np.ndarray:
    """(n, 64) -> (n, 1, 8, 8): the channel-first layout a ConvNet takes."""
    return x.reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE)


def shift_images(x: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Translate each image by (dx, dy) pixels (right/down positive), filling the uncovered edge with 0.

    Accepts flat (n, 64) or (n, 1, 8, 8) input and returns the same shape. Used to test whether a model
    learnt a shape or memorised where the ink usually is.
    """
    flat = x.ndim == 2
    img = as_images(x) if flat else x
    out = np.zeros_like(img)
    h, w = img.shape[-2:]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[..., yd, xd] = img[..., ys, xs]
    return out.reshape(x.shape) if flat else out


# -- text ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextCorpus:
    """Characters as ids. The vocabulary is always the whole corpus's, so a model's size does not
    depend on how much text a lab uses; `train`/`val` are the first and last part of the used text."""

    text: str
    chars: str
    train: np.ndarray
    val: np.ndarray
    sha256: str

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, s: str) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.chars)}
        unknown = sorted(set(s) - set(index))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {''.join(unknown)!r}")
        return np.array([index[c] for c in s], dtype=np.int64)

    def decode(self, ids: np.ndarray) -> str:
        return "".join(np.array(list(self.chars))[np.asarray(ids, dtype=np.int64)])


@cache
def _shakespeare() -> str:
    path = data_dir() / "datasets" / "tinyshakespeare.txt.gz"
    try:
        with gzip.open(path, "rb") as f:
            return f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileNotFoundError(f"{path}: cannot read the text corpus ({exc}); reinstall the package") from exc


@cache
def load_text(n_chars: int | None = None, val_fraction: float = 0.1) -> TextCorpus:
    """The first `n_chars` characters of tiny Shakespeare (all 1,115,394 when None), split by position:
    the last `val_fraction` is validation, so validation text is never seen in training."""
    full = _shakespeare()
    if n_chars is not None and not 100 <= n_chars <= len(full):
        raise ValueError(f"n_chars must be between 100 and {len(full)}, got {n_chars}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    text = full if n_chars is None else full[:n_chars]
    chars = "".join(sorted(set(full)))
    lookup = np.zeros(max(map(ord, chars)) + 1, dtype=np.int64)
    lookup[[ord(c) for c in chars]] = np.arange(len(chars))
    ids = lookup[np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)]
    cut = int(len(ids) * (1.0 - val_fraction))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return TextCorpus(text, chars, _frozen(ids[:cut]), _frozen(ids[cut:]), digest)


# -- synthetic -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Regression:
    """y = x @ w_true + b_true + noise; x (n, d) float64, y (n,) float64."""

    x: np.ndarray
    y: np.ndarray
    w_true: np.ndarray
    b_true: float
    sha256: str


def make_linear(n: int = 200, n_features: int = 3, noise: float = 0.5, seed: int = 0) -> Regression:
    """A noisy linear relation; features have different scales so the step size matters."""
    rng = np.random.default_rng(seed)
    scales = np.linspace(1.0, 3.0, n_features)
    x = rng.normal(size=(n, n_features)) * scales
    w = rng.normal(size=n_features)
    b = float(rng.normal())
    y = x @ w + b + noise * rng.normal(size=n)
    return Regression(x, y, w, b, content_hash(x, y))


@dataclass(frozen=True)
class Classification:
    """Points x (n, 2) float64 and class labels y (n,) int64."""

    x: np.ndarray
    y: np.ndarray
    n_classes: int
    sha256: str


def make_spirals(n_per_arm: int = 100, arms: int = 3, noise: float = 0.2, seed: int = 0) -> Classification:
    """K interleaved spiral arms in the plane, one class per arm: no straight line separates them.

    Along each arm the radius grows from 0 to 1 while the angle turns through 4 radians, offset by
    arm; `noise` jitters the angle.
    """
    if arms < 2 or n_per_arm < 2:
        raise ValueError(f"spirals need at least 2 arms and 2 points per arm, got arms={arms}, n={n_per_arm}")
    rng = np.random.default_rng(seed)
    r = np.tile(np.linspace(0.0, 1.0, n_per_arm), arms)
    y = np.repeat(np.arange(arms), n_per_arm)
    theta = y * (2 * np.pi / arms) + 4.0 * r + noise * rng.normal(size=r.size)
    x = np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1)
    return Classification(x, y.astype(np.int64), arms, content_hash(x, y))


def dataset_names() -> tuple[str, ...]:
    """The names a Lab's `dataset` field may take."""
    return ("digits", "tinyshakespeare", "linear", "spirals", "none")
