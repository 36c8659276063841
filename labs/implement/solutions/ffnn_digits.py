"""ffnn-digits: the parts of a feed-forward network, written by you in NumPy.

The grader assembles a two-layer network from your functions,

    logits = linear(relu(linear(x, W1, b1)), W2, b2)        loss = softmax_cross_entropy(logits, y)

checks each function on small fixed inputs (shapes, values, gradients against finite differences), then
trains the network on the 8x8 handwritten digits with your sgd_update and expects >= 90% test accuracy.

Conventions. The batch is the first axis: x (N, D_in) @ W (D_in, D_out) + b (D_out,). A backward function
receives `dout`, the gradient of the loss with respect to the function's output, and returns the gradients
with respect to its inputs, each with the same shape as that input. The loss is the MEAN over the batch,
so the factor 1/N belongs in softmax_cross_entropy's gradient and nowhere else.

NumPy only, and no Python loop over samples: one matrix product handles the whole batch.
Grade with `pathlab lab grade ffnn-digits`; stuck? `pathlab lab hint ffnn-digits`.
"""

import numpy as np


def linear_forward(x, W, b):
    """The affine map of a batch: out[n, j] = sum_i x[n, i] * W[i, j] + b[j].

    x (N, D_in), W (D_in, D_out), b (D_out,)  ->  out (N, D_out), same dtype as x.
    """
    return x @ W + b


def linear_backward(dout, x, W):
    """Gradients of linear_forward, given dout = dL/dout (N, D_out).

    By the chain rule, dL/dx[n, i] = sum_j dout[n, j] * W[i, j], dL/dW[i, j] = sum_n x[n, i] * dout[n, j]
    and dL/db[j] = sum_n dout[n, j]: every sample contributes to the shared W and b.
    Returns (dx, dW, db) with the shapes of x (N, D_in), W (D_in, D_out) and b (D_out,).
    """
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db


def relu_forward(x):
    """The rectifier, elementwise: out = max(x, 0). Any shape in, the same shape out."""
    return np.maximum(x, 0)


def relu_backward(dout, x):
    """Gradient of relu_forward at its input x, given dout = dL/dout (same shape as x).

    d max(x, 0)/dx is 1 where x > 0 and 0 elsewhere, so dx = dout where x > 0 and 0 where x <= 0.
    """
    return dout * (x > 0)


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of a softmax over classes, and its gradient with respect to the logits.

    logits (N, C) floats, y (N,) integer labels in [0, C). With p = softmax(logits) along axis 1,
    loss = -(1/N) * sum_n log p[n, y[n]]    and    dlogits = (p - onehot(y)) / N   (N, C).
    Subtract each row's maximum before exp(): the softmax is unchanged and exp() cannot overflow.
    Returns (loss, dlogits) with loss a Python float.
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = logits.shape[0]
    rows = np.arange(n)
    loss = -float(log_p[rows, y].mean())
    dlogits = np.exp(log_p)
    dlogits[rows, y] -= 1.0
    return loss, dlogits / n


def sgd_update(param, grad, lr):
    """One step of gradient descent: move the parameter AGAINST its gradient, param - lr * grad.

    param and grad have the same shape; lr > 0 is the learning rate. Returns the updated parameter.
    """
    return param - lr * grad
