"""capstone-cv-engineer: the data and evaluation pipeline around a digits ConvNet, written by you: the
one-pixel shift, the augmentation of a training batch, the confusion matrix and the per-class metrics.

The network is a residual ConvNet with batch normalisation, made of the library's layers (the blocks of
Training deep networks on the convolutions of Convolutional networks); the grader trains it, but every
training batch is augmented by YOUR augment_batch (built on your shift), and the test predictions are
read by YOUR confusion_matrix and per_class_metrics, which must agree with the grader's. The model must
reach the build's bars (0.98 test accuracy; on digits moved by one pixel at least 0.95 and 0.10 better
than an MLP). Each function is first checked on fixed inputs, with the classic mistakes named.

Conventions. Images are (N, 1, 8, 8) float arrays (channel first); dx moves the ink right (columns), dy
down (rows); what moves in from the edge is 0 (lesson "Computer-vision engineer", "Augmentation").
Labels and predictions are int64. NumPy and the standard library only.
Grade with `pathlab lab grade capstone-cv-engineer`; stuck? `pathlab lab hint capstone-cv-engineer`.
"""

import numpy as np

SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))
"""augmentation choice k in 1..4 moves an image by SHIFTS[k - 1] = (dx, dy); choice 0 leaves it as it is"""


def shift(images, dx, dy):
    """Every image moved by (dx, dy) pixels, dx, dy in {-1, 0, 1}: right/down for positive values, the
    uncovered edge filled with 0 (nothing wraps around). Returns a new array of the input's shape and dtype."""
    out = np.zeros_like(images)
    h, w = images.shape[-2:]
    rows_from, rows_to = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    cols_from, cols_to = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[..., rows_to, cols_to] = images[..., rows_from, cols_from]
    return out


def augment_batch(images, choices):
    """A training batch augmented image by image: image i moved as choices[i] says (see SHIFTS), with
    your shift. choices (N,) int64 in 0..4. Returns a new array; the inputs are not changed."""
    out = images.copy()
    for k, (dx, dy) in enumerate(SHIFTS, start=1):
        mask = choices == k
        out[mask] = shift(images[mask], dx, dy)
    return out


def confusion_matrix(y_true, y_pred, n_classes):
    """counts[i, j] = how many samples of true class i were predicted as class j. Returns an
    (n_classes, n_classes) int64 array."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def per_class_metrics(counts):
    """Precision, recall and F1 of every class from a confusion matrix (rows true, columns predicted), as
    three float64 arrays of shape (C,); a class never predicted (or never present) gets 0, not NaN."""
    tp = np.diag(counts).astype(np.float64)
    predicted, actual = counts.sum(axis=0), counts.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    return precision, recall, f1
