"""What the two digit-classifier labs share in the checker: one training loop (minibatch SGD over the stored
split, a wall-clock budget, stop on a non-finite loss) and the test accuracy that earns the points. Each
lab brings its network as three functions; the learner's parts run in their process (remote.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from labs.datasets import as_images, load_digits
from labs.grading import partial_credit
from labs.implement.checks.common import CheckFailed

TARGET, FLOOR = 0.90, 0.50
"""test accuracy that earns every point of the training check, and none"""

Params = list[np.ndarray]
Report = Callable[[int, int, dict[str, float]], None]
"""report(step, total_steps, metrics): the live curve of a training check (the checker throttles it)"""
REPORT_EVERY = 5
"""steps between two reports of the training loss"""


def train_digits_model(init: Callable[[np.random.Generator, int], Params],
                       step: Callable[[Params, np.ndarray, np.ndarray], tuple[float, Params]],
                       predict: Callable[[Params, np.ndarray], np.ndarray], *, images: bool, epochs: int,
                       batch: int, budget_s: float, too_slow: str,
                       report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    """Train on the digits: `init(rng, features)` gives the parameters, `step(params, x, y)` the loss and
    the updated parameters, `predict(params, x)` the logits. The share of points is the test accuracy
    between FLOOR (none) and TARGET (all); `too_slow` says what to change when the budget runs out.
    `report`, when given, hears the training loss every REPORT_EVERY steps and at each epoch's end."""
    data = load_digits()
    shape = as_images if images else (lambda a: a)
    x, y = shape(data.train.x).astype(np.float64), data.train.y
    rng = np.random.default_rng(0)
    params = init(rng, data.train.x.shape[1])
    start, loss = time.perf_counter(), float("nan")
    per_epoch = len(y) // batch
    for epoch in range(epochs):
        for i, idx in enumerate(np.array_split(rng.permutation(len(y)), per_epoch)):
            loss, params = step(params, x[idx], y[idx])
            done = epoch * per_epoch + i + 1
            if report is not None and (done % REPORT_EVERY == 0 or i == per_epoch - 1) and np.isfinite(loss):
                report(done, epochs * per_epoch, {"train_loss": float(loss)})
            if not np.isfinite(loss):
                raise CheckFailed(f"training diverged: the loss became {loss} in epoch {epoch + 1}")
            if time.perf_counter() - start > budget_s:
                raise CheckFailed(f"training took longer than {budget_s:.0f} s (stopped in epoch {epoch + 1} of "
                                  f"{epochs}): {too_slow}")
    logits = np.asarray(predict(params, shape(data.test.x).astype(np.float64)))
    accuracy = float(np.mean(logits.argmax(axis=1) == data.test.y))
    seconds = time.perf_counter() - start
    metrics = {"test_accuracy": accuracy, "train_loss": float(loss), "train_seconds": seconds}
    message = (f"test accuracy {accuracy:.3f} (target {TARGET:.2f}) after {epochs} epochs in {seconds:.1f} s, "
               f"final training loss {loss:.3f}")
    return partial_credit(accuracy, FLOOR, TARGET), message, metrics
