"""Losses: a pure function for the maths (returns loss and gradient together) and a small object API.

    loss = SoftmaxCrossEntropy()
    value = loss.forward(logits, targets)   # a Python float
    grad = loss.backward()                  # d value / d logits, same shape and dtype as logits

Softmax and cross-entropy are fused: for logits z (N, C) and targets y (N,),

    L = -(1/N) sum_i log p_i[y_i],  log p_i = z_i - max z_i - log sum_j e^{z_ij - max z_i},
    dL/dz_i = (p_i - onehot(y_i)) / N,

which is both cheaper and far more stable than chaining the two derivatives; the shift by max z_i
keeps logits of +-1e4 finite. `softmax_cross_entropy` takes ONE exp pass and builds the gradient in
that buffer; the loss needs only the target entries of log p, so the full log-softmax array is never
made; row sums are a BLAS matrix-vector product. Twin: reference.cross_entropy.
"""

from __future__ import annotations

import numpy as np

from labs.nn.layers import row_sums


# -- pure functions ------------------------------------------------------------------------------
def log_softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = logits - logits.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def mse(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Half squared error, summed over features and averaged over the batch (axis 0).

    The 1/2 makes the gradient exactly (pred - target) / batch."""
    pred, target = _same_shape(pred, target)
    diff = pred - target
    n = pred.shape[0]
    return float(0.5 * np.vdot(diff, diff) / n), diff / pred.dtype.type(n)


def softmax_cross_entropy(
    logits: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer class targets under softmax(logits), and its gradient.

    logits (N, C), targets (N,) of ints in [0, C). With `weights` (N,), the mean is weighted: the loss
    is sum(w_i * ce_i) / sum(w_i), which is how masked positions are left out of a sequence loss.
    """
    logits = np.asarray(logits)
    if weights is not None:  # masked-out positions may hold any placeholder target (e.g. -1 padding)
        targets = np.where(weights > 0, targets, 0)
    targets = _class_targets(targets, logits.shape)
    rows = np.arange(len(targets))
    grad = logits - logits.max(axis=1, keepdims=True)  # shifted logits, then exp in place
    shifted_target = grad[rows, targets]
    np.exp(grad, out=grad)
    sums = row_sums(grad)
    picked = shifted_target - np.log(sums)  # log p of each target
    # The gradient of the mean: (softmax - one_hot) * w_i / sum(w), with w_i = 1/n when unweighted.
    if weights is None:
        n = len(targets)
        sums *= n
        grad /= sums[:, None]
        grad[rows, targets] -= 1.0 / n
        return float(-picked.sum(dtype=np.float64) / n), grad
    total = float(weights.sum())
    if total <= 0:
        raise ValueError("the loss mask selects no positions: at least one must be valid")
    scale = (weights / total).astype(grad.dtype)
    grad *= (scale / sums)[:, None]
    grad[rows, targets] -= scale
    return float(-(picked * weights).sum(dtype=np.float64) / total), grad


def _same_shape(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, target = np.asarray(pred), np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"prediction has shape {pred.shape} but target has shape {target.shape}")
    return pred, target.astype(pred.dtype, copy=False)


def _class_targets(targets: np.ndarray, logits_shape: tuple[int, ...]) -> np.ndarray:
    targets = np.asarray(targets)
    if len(logits_shape) != 2:
        raise ValueError(f"logits must be (batch, classes), got shape {logits_shape}")
    if not np.issubdtype(targets.dtype, np.integer):
        raise ValueError(f"class targets must be integers, got dtype {targets.dtype}")
    if targets.shape != logits_shape[:1]:
        raise ValueError(f"targets have shape {targets.shape}, expected ({logits_shape[0]},) for the logits")
    bad = (targets < 0) | (targets >= logits_shape[1])
    if bad.any():
        raise ValueError(f"class target {int(targets[bad][0])} is outside 0..{logits_shape[1] - 1}")
    return targets


# -- object API ------------------------------------------------------------------------------------
class Loss:
    """forward(pred, target) -> float stores the gradient; backward() returns it."""

    def __init__(self) -> None:
        self._grad: np.ndarray | None = None

    def backward(self) -> np.ndarray:
        if self._grad is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward()")
        return self._grad

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        return self.forward(pred, target)


class MSELoss(Loss):
    """0.5 * (y_hat - y)^2, summed over features, mean over the batch."""

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        value, self._grad = mse(pred, target)
        return value


class SoftmaxCrossEntropy(Loss):
    """Softmax + cross-entropy over (N, C) logits with integer targets (N,), mean over the batch."""

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:
        value, self._grad = softmax_cross_entropy(logits, targets)
        return value


class SequenceCrossEntropy(Loss):
    """Cross-entropy of next-token logits (B, T, V) against targets (B, T), mean over valid positions.

    `mask` (B, T) marks valid positions (1/True) — e.g. the padding of short sequences is 0 and neither
    counts in the mean nor receives gradient.
    """

    def forward(self, logits: np.ndarray, targets: np.ndarray, mask: np.ndarray | None = None) -> float:
        logits, targets = np.asarray(logits), np.asarray(targets)
        if logits.ndim != 3 or targets.shape != logits.shape[:2]:
            raise ValueError(f"expected logits (B, T, V) and targets (B, T), got {logits.shape} and {targets.shape}")
        weights = None
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != targets.shape:
                raise ValueError(f"mask has shape {mask.shape}, expected {targets.shape} like the targets")
            weights = mask.reshape(-1).astype(np.float64)
        b, t, v = logits.shape
        value, grad = softmax_cross_entropy(logits.reshape(b * t, v), targets.reshape(b * t), weights)
        self._grad = grad.reshape(b, t, v)
        return value

    def __call__(self, logits: np.ndarray, targets: np.ndarray, mask: np.ndarray | None = None) -> float:
        return self.forward(logits, targets, mask)
