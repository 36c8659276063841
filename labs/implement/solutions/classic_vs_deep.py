"""classic-vs-deep: logistic regression by hand, the classic linear model the lab compares a network with.

The model is p = sigmoid(X @ w + b), the probability of class 1. The grader checks each function on
small fixed inputs (values, stability for huge scores, your gradient against finite differences, the
decision boundary), then trains YOUR logistic regression by full-batch gradient descent on two data sets:
two separable clouds, where it must reach 0.95 accuracy, and two spiral arms, where no straight line
does well and your model must score what a correct logistic regression scores (within 0.02): the lab's
lesson, that a linear model cannot separate spirals.

Conventions. X (N, 2) float64, y (N,) labels 0 or 1 (integers), w (2,), b a Python float. The loss is the
MEAN binary cross-entropy over the batch (lesson "Deep learning versus classic ML": logistic regression).
NumPy only, no loop over samples.
Grade with `pathlab lab grade classic-vs-deep`; stuck? `pathlab lab hint classic-vs-deep`.
"""

import numpy as np


def sigmoid(z):
    """The logistic function 1 / (1 + e^-z), elementwise, any shape; same shape and dtype out.

    It must stay exact and finite for huge |z| (z = 800 gives 1.0, z = -800 gives 0.0): choose, per entry,
    a way of writing it whose exp() cannot overflow.
    """
    e = np.exp(-np.abs(z))  # at most 1, never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def predict_proba(X, w, b):
    """The model's probability of class 1 for each row of X: an array of shape (N,)."""
    return sigmoid(X @ w + b)


def bce_loss(X, y, w, b):
    """The mean binary cross-entropy of predict_proba(X, w, b) against y, and its gradient.

    Compute the loss from the scores z = X @ w + b, not from rounded probabilities, so that it stays
    finite when a score is huge (log(sigmoid(z)) = -log(1 + e^-z); np.logaddexp helps).
    Returns (loss, dw, db): loss a Python float, dw of shape (2,) like w, db a Python float.
    """
    z = X @ w + b
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
    err = sigmoid(z) - y
    return loss, X.T @ err / len(y), float(err.mean())


def predict(X, w, b):
    """The predicted class of each row, 0 or 1, as an int64 array (N,): class 1 where p >= 0.5."""
    return (X @ w + b >= 0).astype(np.int64)


def decision_boundary(w, b, x1):
    """Points on the decision boundary w . x + b = 0 (where p = 0.5): for each first coordinate in x1
    (M,), the second coordinate x2 (M,) that puts the point on the line. Assume w[1] != 0."""
    return -(b + w[0] * x1) / w[1]
