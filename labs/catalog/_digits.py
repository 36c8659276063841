"""What the digit labs share: the MLP and ConvNet parameter sets, building the models from them, and
one `train_on_digits` that trains, emits per-epoch metrics and measures test and shifted-digit accuracy.

Used by ffnn-digits, cnn-digits and the capstones built on the digits. Not a lab (no LAB).
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from labs.catalog._training import OptimizerName, accuracy, fit, make_optimizer, per_class_accuracy
from labs.catalog.base import LabParams, RunContext
from labs.datasets import Digits, as_images, shift_images
from labs.nn import MLP, ConvNet, Layer

Activation = Literal["relu", "leaky_relu", "tanh", "sigmoid", "gelu"]
SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # one pixel right, left, down, up


class MLPParams(LabParams):
    hidden_layers: int = Field(1, ge=1, le=4, description="number of hidden layers")
    width: int = Field(128, ge=4, le=512, description="units in each hidden layer")
    activation: Activation = Field("relu", description="non-linearity between the layers")
    optimizer: OptimizerName = Field("adam", description="update rule: sgd, momentum (SGD 0.9), adam, adamw")
    lr: float = Field(0.003, gt=0, le=10, description="learning rate")
    batch_size: int = Field(32, ge=1, le=1083, description="examples per gradient step")
    epochs: int = Field(30, ge=1, le=200, description="passes over the 1083 training images")
    weight_decay: float = Field(0.0, ge=0, le=1, description="L2 pull of the weights towards zero")
    dropout: float = Field(0.0, ge=0, le=0.9, description="share of hidden units dropped while training")


class CNNParams(LabParams):
    filters1: int = Field(16, ge=1, le=64, description="filters in the first convolution")
    filters2: int = Field(32, ge=0, le=128, description="filters in the second convolution (0: only one)")
    kernel_size: Literal[1, 3, 5] = Field(3, description="side of each (square, 'same'-padded) filter")
    pool: Literal["max", "avg"] = Field("max", description="2x2 pooling after each convolution")
    hidden: int = Field(64, ge=0, le=256, description="units of the dense layer before the output (0: none)")
    lr: float = Field(0.002, gt=0, le=10, description="learning rate (Adam)")
    batch_size: int = Field(32, ge=1, le=1083, description="examples per gradient step")
    epochs: int = Field(30, ge=1, le=100, description="passes over the 1083 training images")


def build_mlp(p: MLPParams, rng: np.random.Generator) -> Layer:
    return MLP([64, *[p.width] * p.hidden_layers, 10], activation=p.activation, dropout=p.dropout, rng=rng)


def build_cnn(p: CNNParams, rng: np.random.Generator) -> Layer:
    return ConvNet(rng=rng, **{k: v for k, v in cnn_architecture(p).items() if k != "kind"})


def mlp_architecture(p: MLPParams) -> dict:
    """build_mlp's network as a stored model's architecture (labs.catalog._models.build_model)."""
    return {"kind": "mlp", "sizes": [64, *[p.width] * p.hidden_layers, 10], "activation": p.activation,
            "dropout": p.dropout}


def cnn_architecture(p: CNNParams) -> dict:
    """build_cnn's network as a stored model's architecture."""
    filters = [p.filters1, p.filters2] if p.filters2 else [p.filters1]
    return {"kind": "convnet", "filters": filters, "kernel_size": p.kernel_size, "pool": p.pool,
            "hidden": p.hidden or None}


class DigitsResult(BaseModel):
    train_accuracy: float
    val_accuracy: float
    test_accuracy: float
    shifted_accuracy: float
    per_class: list[float]
    train_seconds: float
    epochs_trained: int  # the epochs asked for, unless the run's deadline stopped training sooner

    def metrics(self, prefix: str = "") -> dict[str, float]:
        names = ("train_accuracy", "val_accuracy", "test_accuracy", "shifted_accuracy", "train_seconds")
        return {prefix + n: getattr(self, n) for n in names}


def shifted_accuracy(model: Layer, x_test: np.ndarray, y_test: np.ndarray, images: bool) -> float:
    """Mean accuracy on the test digits moved one pixel in each of four directions."""
    shifted = np.concatenate([shift_images(x_test, dx, dy) for dx, dy in SHIFTS])
    return accuracy(model, as_images(shifted) if images else shifted, np.tile(y_test, len(SHIFTS)))


def random_shifts(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Augmentation: each image stays put or moves one pixel in one of four directions, at random."""
    choice = rng.integers(0, len(SHIFTS) + 1, size=len(x))
    out = x.copy()
    for k, (dx, dy) in enumerate(SHIFTS, start=1):  # five groups, each shifted in one vectorised call
        mask = choice == k
        out[mask] = shift_images(x[mask], dx, dy)
    return out


def train_on_digits(model: Layer, data: Digits, *, optimizer: OptimizerName, lr: float, weight_decay: float,
                    batch_size: int, epochs: int, rng: np.random.Generator, images: bool,
                    ctx: RunContext | None, augment: bool = False, cosine: bool = False) -> DigitsResult:
    """Train `model` on the digits (flat for an MLP, (n,1,8,8) images when `images`) and measure it.

    Emits per-epoch train_loss / val_loss / val_accuracy through ctx (when given) and test_accuracy at the
    end; with ctx, training stops at its deadline (`epochs_trained` says where). The test set is touched
    only after training."""
    shape = as_images if images else (lambda a: a)
    x_tr, x_val, x_te = shape(data.train.x), shape(data.val.x), shape(data.test.x)
    opt = make_optimizer(optimizer, model, lr, weight_decay)
    t0 = time.perf_counter()
    last = fit(model, opt, (x_tr, data.train.y, x_val, data.val.y), epochs=epochs, batch_size=batch_size,
               rng=rng, ctx=ctx, augment=random_shifts if augment else None, cosine=cosine)
    seconds = time.perf_counter() - t0
    result = DigitsResult(
        train_accuracy=accuracy(model, x_tr, data.train.y),
        val_accuracy=accuracy(model, x_val, data.val.y),
        test_accuracy=accuracy(model, x_te, data.test.y),
        shifted_accuracy=shifted_accuracy(model, data.test.x, data.test.y, images),
        per_class=per_class_accuracy(model, x_te, data.test.y, data.n_classes).tolist(),
        train_seconds=seconds,
        epochs_trained=int(last["epochs"]),
    )
    if ctx is not None:
        done = result.epochs_trained
        ctx.progress(done, {"test_accuracy": result.test_accuracy}, epoch=done, split="test")
    return result
