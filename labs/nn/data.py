"""Training batches from one long 1-D array of token ids (in memory, or a np.memmap of a file).

A batch is `batch_size` windows of `context + 1` consecutive tokens starting at uniformly random
offsets s in [0, N - context): x = tokens[s : s + context] and y = tokens[s + 1 : s + context + 1],
so y[t] is the token that follows x[..t]. Only the chosen windows are read, so a memmap of a corpus
far larger than memory serves batches without loading it.
"""

from __future__ import annotations

import os

import numpy as np


def get_batch(tokens: np.ndarray, batch_size: int, context: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(x, y), each (batch_size, context) int64: random windows and the same windows shifted by one."""
    if np.ndim(tokens) != 1:
        raise ValueError(f"get_batch reads a 1-D array of token ids, got shape {np.shape(tokens)}")
    if batch_size < 1 or context < 1:
        raise ValueError(f"batch_size and context must be >= 1, got {batch_size} and {context}")
    n = len(tokens)
    if n < context + 1:
        raise ValueError(f"{n} tokens are too few for a window of context {context} plus its next token")
    starts = rng.integers(0, n - context, size=batch_size)
    windows = np.asarray(tokens[starts[:, None] + np.arange(context + 1)], dtype=np.int64)
    return windows[:, :-1], windows[:, 1:]


def open_tokens(path: str | os.PathLike, dtype: np.dtype | type = np.uint16) -> np.memmap:
    """A read-only memmap of a file of raw token ids (e.g. written by `ids.astype(np.uint16).tofile`)."""
    return np.memmap(path, dtype=dtype, mode="r")
