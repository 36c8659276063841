"""What the two character-model labs share in the checker: text windows, a softmax readout over every
position, Adam, and the validation loss. The learner's functions are the model's core (the recurrence, or
attention); everything around them is here, so a failure points at the learner's part."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from labs.datasets import load_text
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed

N_CHARS = 60_000
FLOOR = 3.5
"""validation loss (nats per character) that earns nothing: a uniform guess over 65 characters is 4.2, and
bigram statistics alone reach about 2.5, so each lab's target sits below that"""
REPORT_EVERY = 5
"""steps between two reports of the training loss (the live curve)"""


def windows(ids: np.ndarray, starts: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (B, T) and next-character targets (B, T) starting at each of `starts`."""
    index = starts[:, None] + np.arange(steps)[None, :]
    return ids[index], ids[index + 1]


def readout(hidden: np.ndarray, w: np.ndarray, b: np.ndarray, targets: np.ndarray):
    """Mean cross-entropy of softmax(hidden @ w + b) over every position, with the gradients
    (dhidden, dw, db)."""
    batch, steps, width = hidden.shape
    flat = hidden.reshape(-1, width)
    logits = flat @ w + b
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    rows, labels = np.arange(len(flat)), targets.reshape(-1)
    loss = -float(log_p[rows, labels].mean())
    dlogits = np.exp(log_p)
    dlogits[rows, labels] -= 1.0
    dlogits /= len(flat)
    return loss, (dlogits @ w.T).reshape(hidden.shape), flat.T @ dlogits, dlogits.sum(axis=0)


class Adam:
    def __init__(self, params: list[np.ndarray], lr: float, betas: tuple[float, float] = (0.9, 0.99)):
        self.params, self.lr, self.betas, self.t = params, lr, betas, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.betas
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= self.lr * (m / (1 - b1**self.t)) / (np.sqrt(v / (1 - b2**self.t)) + 1e-8)


LossAndGrads = Callable[[np.ndarray, np.ndarray], tuple[float, list[np.ndarray]]]


def train_char_model(step: LossAndGrads, evaluate: Callable[[np.ndarray, np.ndarray], float],
                     params: list[np.ndarray], *, target: float, lr: float, steps: int, batch: int, length: int,
                     budget_s: float, report: Callable[[int, int, dict[str, float]], None] | None = None
                     ) -> tuple[float, str, dict[str, float]]:
    """Train with Adam on tiny Shakespeare: `step(inputs, targets)` returns the loss and the gradients
    of `params` (in order); `evaluate(inputs, targets)` the loss alone. Points follow the validation loss
    between FLOOR (none) and `target` (all). `report(step, steps, metrics)`, when given, hears the training
    loss every REPORT_EVERY steps and at the last."""
    corpus = load_text(N_CHARS)
    rng = np.random.default_rng(0)
    optimiser = Adam(params, lr)
    start, loss = time.perf_counter(), float("nan")
    for i in range(steps):
        inputs, targets = windows(corpus.train, rng.integers(0, len(corpus.train) - length - 1, batch), length)
        loss, grads = step(inputs, targets)
        if not np.isfinite(loss):
            raise CheckFailed(f"training diverged: the loss became {loss} at step {i + 1}")
        optimiser.step(grads)
        if report is not None and ((i + 1) % REPORT_EVERY == 0 or i + 1 == steps):
            report(i + 1, steps, {"train_loss": float(loss)})
        if time.perf_counter() - start > budget_s:
            raise CheckFailed(f"training took longer than {budget_s:.0f} s (stopped at step {i + 1} of {steps}): "
                              "avoid Python loops over samples")
    val_starts = np.arange(0, len(corpus.val) - length - 1, length)
    val_loss = evaluate(*windows(corpus.val, val_starts, length))
    seconds = time.perf_counter() - start
    metrics = {"val_loss": val_loss, "train_loss": float(loss), "train_seconds": seconds}
    message = (f"validation loss {val_loss:.3f} nats/char (target <= {target}) after {steps} steps in "
               f"{seconds:.1f} s")
    return partial_credit(val_loss, FLOOR, target), message, metrics
