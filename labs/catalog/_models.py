"""Models that outlive their run: what a lab hands over (`SavedModel`), what it may receive
(`YourModel`), and the one table that rebuilds a network from its recorded architecture.

Not a lab (no LAB), so the catalogue skips it. `RunContext.save_model` and `RunContext.load_model` are
the labs' doors (labs/catalog/base.py); the app (planner.checkpoints) records and offers the files.

A model file is a labs.nn.checkpoint archive (model only, no optimiser), its `config` holding
{"architecture": ..., "tokenizer": ..., "lab_id": ...}; its name in the models folder is the sha256 of
its bytes, `<sha256>.npz`, so equal weights are stored once and a file is checked by hashing it.

An architecture is a JSON-able dict: "kind" names the constructor, every other key is one of its
keyword arguments (rng excluded; "dtype" by its NumPy name):

    {"kind": "mlp", "sizes": [64, 128, 10], "activation": "relu", "dropout": 0.0, "dtype": "float32"}
    {"kind": "convnet", "filters": [8, 16], "kernel_size": 3, "pool": "max", "hidden": 64}
    {"kind": "char-rnn", "vocab_size": 65, "hidden_size": 128, "cell": "lstm", "embedding_dim": null}
    {"kind": "tinygpt", "vocab_size": 65, "context": 64, "n_layer": 2, "n_head": 4, "dim": 64}
    {"kind": "modern-lm", "vocab_size": 512, "context": 128, "n_layer": 2, "n_head": 4, "dim": 64}
    {"kind": "language-model", **LanguageModelConfig(...).model_dump()}      (gpt2 or modern)
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from labs.events import SavedModel

CHUNK = 1 << 20


class ModelUnavailable(ValueError):
    """"Your model" cannot be used: none was chosen, or its file does not fit; the message is one line."""


class YourModel(BaseModel):
    """The stored model a run was given (the worker's job `your_model`), read through `ctx.load_model`."""

    path: str
    sha256: str
    lab_id: str
    attempt_id: int | None = None
    architecture: dict[str, Any] = Field(default_factory=dict)
    tokenizer: dict[str, Any] | None = None


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tokenizer_label(tokenizer: dict[str, Any] | None) -> str | None:
    """The short name the table shows: its kind, and "-<vocab_size>" when given ("bpe-512", "chars")."""
    if not tokenizer:
        return None
    kind = str(tokenizer.get("kind", "custom"))
    size = tokenizer.get("vocab_size")
    return f"{kind}-{size}" if size is not None else kind


def _constructors() -> dict[str, Callable[..., Any]]:
    from labs.nn.language_models import CharRNN, TinyGPT
    from labs.nn.models import MLP, ConvNet
    from labs.nn.modern import LanguageModelConfig, ModernLM, build_language_model

    def language_model(*, rng, dtype=np.float32, **config):
        return build_language_model(LanguageModelConfig(**config), rng=rng, dtype=dtype)

    return {"mlp": MLP, "convnet": ConvNet, "char-rnn": CharRNN, "tinygpt": TinyGPT, "modern-lm": ModernLM,
            "language-model": language_model}


def build_model(architecture: dict[str, Any], rng: np.random.Generator | None = None):
    """A fresh network of the recorded architecture (weights to be loaded); ModelUnavailable names a
    kind or argument this code does not know."""
    arch = dict(architecture)
    kind = arch.pop("kind", None)
    table = _constructors()
    if kind not in table:
        raise ModelUnavailable(f"model architecture {kind!r} is unknown; known: {', '.join(sorted(table))}")
    if "dtype" in arch:
        arch["dtype"] = np.dtype(arch["dtype"]).type
    dropout = arch.pop("residual_dropout", 0.0) if kind == "tinygpt" else 0.0  # capstone-llm-engineer's
    rng = rng if rng is not None else np.random.default_rng(0)
    try:
        model = table[kind](rng=rng, **arch)
    except (TypeError, ValueError) as exc:
        raise ModelUnavailable(f"model architecture {kind!r} cannot be built: {exc}") from None
    if dropout:
        from labs.catalog.capstone_llm_engineer import add_residual_dropout

        add_residual_dropout(model, float(dropout), rng)  # same layer names as the stored weights
    return model


def write_model(folder: str | os.PathLike, model: Any, *, architecture: dict[str, Any],
                tokenizer: dict[str, Any] | None, lab_id: str) -> SavedModel:
    """Write `model` into `folder` as `<sha256>.npz`: a temporary file first (a kill leaves no half file
    under a real name), hashed, then renamed."""
    from labs.nn.checkpoint import save_checkpoint

    arch = dict(architecture)
    if "kind" not in arch:
        raise ValueError("save_model: the architecture needs a 'kind' (see labs.catalog._models)")
    if "dtype" not in arch:
        params = model.parameters()
        if params:
            arch["dtype"] = np.dtype(params[0].data.dtype).name
    config = {"architecture": arch, "tokenizer": tokenizer, "lab_id": lab_id}
    json.dumps(config)  # a TypeError here names what is not JSON-able, before any file is written
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".incoming-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            save_checkpoint(f, model, config=config)
            f.flush()
            os.fsync(f.fileno())
        sha = file_sha256(tmp)
        dest = folder / f"{sha}.npz"
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return SavedModel(file=str(dest), sha256=sha, bytes=dest.stat().st_size, architecture=arch,
                      tokenizer=tokenizer)


def read_model(your: YourModel, into: Any = None, rng: np.random.Generator | None = None):
    """The network of `your`, built from its architecture unless `into` (a Layer, or a function of the
    architecture dict returning one) is given, with the stored weights loaded."""
    from labs.nn.checkpoint import CheckpointError, load_checkpoint

    if into is None:
        model = build_model(your.architecture, rng)
    elif callable(into) and not hasattr(into, "parameters"):
        model = into(dict(your.architecture))
    else:
        model = into
    try:
        load_checkpoint(your.path, model)
    except CheckpointError as exc:
        raise ModelUnavailable(f"your model from {your.lab_id} ({your.sha256[:12]}) cannot be used: {exc}; "
                               f"train it again with `pathlab lab run {your.lab_id}`") from None
    except FileNotFoundError:
        raise ModelUnavailable(f"your model from {your.lab_id} ({your.sha256[:12]}) is missing; "
                               f"train it again with `pathlab lab run {your.lab_id}`") from None
    model.eval()
    return model
