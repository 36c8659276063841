"""backprop-spirals: a two-layer network's forward and backward pass, and a gradient checker, by you.

The network is  h = tanh(X @ W1 + b1),  logits = h @ W2 + b2,  loss = mean softmax cross-entropy.
The grader checks each function on small fixed inputs (values; your backward pass against finite
differences; your gradient checker on functions whose gradient it knows), then trains the network on the
lab's three spirals with YOUR gradients (gradient descent with momentum, full batch) and expects a
training accuracy of at least 0.95.

Conventions. X (N, 2), W1 (2, H), b1 (H,), W2 (H, C), b2 (C,), y (N,) integer labels in [0, C), all
float64. The loss is the MEAN over the batch (lesson "Backpropagation and gradient checking": the chain
rule on a graph, and gradient checking). NumPy only, no loop over samples in forward and backward.
Grade with `pathlab lab grade backprop-spirals`; stuck? `pathlab lab hint backprop-spirals`.
"""

import numpy as np


def forward(X, W1, b1, W2, b2):
    """The forward pass. Returns (h, logits): the hidden activations h (N, H) after the tanh, and the
    class scores logits (N, C). backward receives both, so it never recomputes them."""
    h = np.tanh(X @ W1 + b1)
    return h, h @ W2 + b2


def loss(logits, y):
    """The mean softmax cross-entropy of the logits (N, C) against the labels y (N,), as a Python float.
    Stable for large logits: the softmax does not change when a constant is subtracted from a row."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -float(log_p[np.arange(len(y)), y].mean())


def backward(X, y, h, logits, W2):
    """The backward pass: the gradients of loss(forward(X, W1, b1, W2, b2)[1], y) with respect to the
    four parameters, by the chain rule from the loss back to W1 (h and logits as forward returned them).
    Returns (dW1, db1, dW2, db2), each with the shape of its parameter.
    """
    n = len(y)
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(n), y] -= 1.0
    dlogits = p / n
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(axis=0)
    dpre = (dlogits @ W2.T) * (1.0 - h**2)
    dW1 = X.T @ dpre
    db1 = dpre.sum(axis=0)
    return dW1, db1, dW2, db2


def grad_check(f, x, analytic, eps):
    """How far an analytic gradient is from the numerical one: the normwise relative error.

    f(x) returns a float for an array x of any shape; analytic is the claimed gradient df/dx (x's shape).
    Estimate every entry of the gradient with CENTRAL differences of step eps (the lesson's g_num), then
    return ||analytic - numeric|| / max(||analytic|| + ||numeric||, 1e-12) as a Python float.
    You may perturb x in place to evaluate f, but x must hold its original values when you return.
    """
    numeric = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        x[i] = old
        numeric[i] = (up - down) / (2 * eps)
    diff = np.linalg.norm(analytic - numeric)
    return float(diff / max(np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-12))
