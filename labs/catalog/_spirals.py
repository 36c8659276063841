"""What the spiral labs share: the data, a two-layer net and its linear counterpart, and full-batch
training with progress. Not a lab (no LAB).

Full batch because 300 points fit in one matrix product: every step sees all the data, so the curve the
learner watches is the true training loss, not minibatch noise. Plain gradient descent with momentum
(not Adam) so the learning rate behaves as the lessons say: too large a rate throws the network into
saturation or blows the loss up, too small a rate barely moves.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from labs.catalog._training import BLOW_UP_LOSS, accuracy, make_optimizer
from labs.catalog.base import RunContext
from labs.datasets import Classification, make_spirals
from labs.nn import MLP, Layer, SoftmaxCrossEntropy

SpiralActivation = Literal["tanh", "relu", "sigmoid", "gelu"]
ARMS, POINTS_PER_ARM, NOISE, DATA_SEED = 3, 100, 0.2, 0


def spirals(n_per_arm: int = POINTS_PER_ARM) -> Classification:
    """The same spirals for every attempt (seed fixed), so scores compare across attempts."""
    return make_spirals(n_per_arm=n_per_arm, arms=ARMS, noise=NOISE, seed=DATA_SEED)


def two_layer_net(hidden: int, activation: str, rng: np.random.Generator) -> Layer:
    """2 inputs -> `hidden` units -> one score per arm, in float64 so it can be gradient-checked."""
    return MLP([2, hidden, ARMS], activation=activation, rng=rng, dtype=np.float64)


def linear_classifier(rng: np.random.Generator) -> Layer:
    """Softmax (multinomial logistic) regression: a single linear layer, so straight class boundaries."""
    return MLP([2, ARMS], rng=rng, dtype=np.float64)


def train_full_batch(model: Layer, x: np.ndarray, y: np.ndarray, *, lr: float, steps: int,
                     ctx: RunContext | None, prefix: str = "", step_offset: int = 0,
                     trace: list[float] | None = None) -> float:
    """Gradient descent with momentum 0.9 on the whole set for `steps` steps; emits `{prefix}train_loss`
    and `{prefix}train_accuracy` about 50 times, and stops early at ctx's deadline. Returns the final loss.

    A loss that blows up is emitted at the step it blew up (when finite) before `Diverged` stops the
    run, so the curve runs to the stop. `trace`, when given, receives the loss of every step: the
    evidence a diagnosis reads (still falling at the end, or flat)."""
    loss_fn = SoftmaxCrossEntropy()
    opt = make_optimizer("momentum", model, lr)
    every = max(1, steps // 50)
    loss = float("nan")
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = loss_fn.forward(model.forward(x), y)
        if trace is not None:
            trace.append(float(loss))
        if ctx is not None:
            if not loss <= BLOW_UP_LOSS and np.isfinite(loss):  # diverging: draw the point it stopped at
                ctx.progress(step_offset + step, {f"{prefix}train_loss": loss})
            ctx.guard(step_offset + step, f"{prefix}train_loss", loss, blow_up=BLOW_UP_LOSS)
        model.backward(loss_fn.backward())
        opt.step()
        if ctx is None:
            continue
        stop = ctx.deadline_reached(step, steps)
        if step % every == 0 or step == steps or stop:
            metrics = {f"{prefix}train_loss": loss, f"{prefix}train_accuracy": accuracy(model, x, y)}
            ctx.progress(step_offset + step, metrics)
        if stop:
            break
    return float(loss)
