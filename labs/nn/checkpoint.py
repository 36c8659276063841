"""Checkpoints: a model's weights, its optimiser's state and the iteration in one file, to resume exactly.

The file is a NumPy .npz archive (np.savez, read back with allow_pickle=False, so loading never runs
code), holding:

    meta               a JSON string: {"format": "pathlab-checkpoint", "version": 1, "iteration": int,
                       "config": the caller's JSON-able dict or null, "rng": a numpy Generator's
                       bit_generator.state or null, "optimizer": true/false}
    model/<name>       every parameter and buffer, by its dotted name (Layer.state_dict)
    optim/<key>        the optimiser's state_dict(): its scalars, group sizes and flat moment buffers

Loading into a model of the same architecture and an optimiser over its parameters, and restoring the
Generator that draws the batches, makes the next steps bit-identical to the uninterrupted run. The
destination is a path (written to a temporary file beside it, then renamed, so a crash leaves the old
checkpoint whole) or an open binary file.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np
from pydantic import BaseModel

from labs.nn.core import Layer
from labs.nn.optim import Optimizer

FORMAT, VERSION = "pathlab-checkpoint", 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model; the message names the source."""


class CheckpointInfo(BaseModel):
    iteration: int
    config: dict | None = None
    has_optimizer: bool = False


Source = str | os.PathLike | BinaryIO


def _name(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return str(getattr(source, "name", "<the open file>"))


def save_checkpoint(dest: Source, model: Layer, optimizer: Optimizer | None = None, iteration: int = 0, *,
                    rng: np.random.Generator | None = None, config: dict | None = None) -> None:
    """Write model, optimiser state, iteration (and the batch Generator's state, and a config) to `dest`."""
    meta = {"format": FORMAT, "version": VERSION, "iteration": int(iteration), "config": config,
            "rng": None if rng is None else rng.bit_generator.state, "optimizer": optimizer is not None}
    arrays = {"meta": np.array(json.dumps(meta))}
    arrays.update({f"model/{name}": value for name, value in model.state_dict().items()})
    if optimizer is not None:
        arrays.update({f"optim/{key}": value for key, value in optimizer.state_dict().items()})
    if not isinstance(dest, (str, os.PathLike)):
        np.savez(dest, **arrays)
        return
    path = Path(dest)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(source: Source) -> tuple[dict, dict[str, np.ndarray]]:
    name = _name(source)
    try:
        with np.load(source, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"{name}: not a readable checkpoint ({exc})") from None
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except (KeyError, ValueError):
        raise CheckpointError(f"{name}: not a checkpoint (no readable 'meta' entry)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{name}: not a {FORMAT} file")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{name}: checkpoint version {meta.get('version')!r}, this code reads {VERSION}")
    return meta, arrays


def read_checkpoint_info(source: Source) -> CheckpointInfo:
    meta, _ = _read(source)
    return CheckpointInfo(iteration=meta["iteration"], config=meta.get("config"), has_optimizer=meta["optimizer"])


def load_checkpoint(source: Source, model: Layer, optimizer: Optimizer | None = None, *,
                    rng: np.random.Generator | None = None) -> CheckpointInfo:
    """Restore `model` (and `optimizer`, and `rng` when given) from `source`; returns the iteration and
    config. A checkpoint that does not fit raises CheckpointError before anything is changed."""
    name = _name(source)
    meta, arrays = _read(source)
    weights = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    optim = {k[len("optim/"):]: v for k, v in arrays.items() if k.startswith("optim/")}
    own = {n: p.data.shape for n, p in model.named_parameters()}
    own.update((n, b.shape) for n, b in model.named_buffers())  # e.g. BatchNorm's running statistics
    if set(own) != set(weights):
        missing, unexpected = sorted(set(own) - set(weights)), sorted(set(weights) - set(own))
        raise CheckpointError(f"{name}: the model does not match: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for n, shape in own.items():
        if weights[n].shape != shape:
            raise CheckpointError(f"{name}: parameter {n!r} has shape {weights[n].shape}, the model {shape}")
    if optimizer is not None and not optim:
        raise CheckpointError(f"{name}: holds no optimiser state")
    if rng is not None and meta.get("rng") is None:
        raise CheckpointError(f"{name}: holds no random generator state")
    model.load_state_dict(weights)
    if optimizer is not None:
        try:
            optimizer.load_state_dict(optim)
        except ValueError as exc:
            raise CheckpointError(f"{name}: {exc}") from None
    if rng is not None:
        rng.bit_generator.state = meta["rng"]
    return CheckpointInfo(iteration=meta["iteration"], config=meta.get("config"), has_optimizer=meta["optimizer"])
