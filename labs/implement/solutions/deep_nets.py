"""deep-nets: batch normalisation (training and evaluation modes) and a residual block, forward and
backward, by you.

The grader checks BatchNorm's outputs and running statistics against the reference in both modes (in
evaluation mode a batch of one must give the same row as the whole batch), both backward passes against
finite differences, then trains a 20-layer network made of YOUR pieces on the digits: a stem Linear, your
BatchNorm and a ReLU, nine of your residual blocks, and a Linear head, judged in evaluation mode.

Conventions (lesson "Training deep networks", PyTorch's torch.nn.BatchNorm1d): x (N, C) float64, one
statistic per column C; the forward pass normalises with the BIASED batch variance, the running variance
is updated with the UNBIASED one (times N / (N - 1)); momentum is the weight of the new batch (0.1);
eps is added to the variance inside the square root. NumPy only, no loop over samples.
Grade with `pathlab lab grade deep-nets`; stuck? `pathlab lab hint deep-nets`.
"""

import numpy as np


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    """BatchNorm over the batch axis. training=True: normalise with the batch's mean and biased variance,
    and move the running statistics towards the batch's (the variance unbiased); training=False: normalise
    with the running statistics and leave them as they are.

    Returns (y, running_mean, running_var): y (N, C) and the running statistics as NEW arrays (C,)."""
    if training:
        n = x.shape[0]
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)
    else:
        mean, var = running_mean, running_var
        running_mean, running_var = running_mean.copy(), running_var.copy()
    x_hat = (x - mean) / np.sqrt(var + eps)
    return gamma * x_hat + beta, running_mean, running_var


def batchnorm_backward(dout, x, gamma, eps):
    """The gradients of a TRAINING-mode batchnorm_forward(x, gamma, ...) whose output received dout:
    through the batch mean and variance as well as x_hat (every sample moves both).

    Returns (dx, dgamma, dbeta): dx (N, C), dgamma and dbeta (C,)."""
    n = x.shape[0]
    mean = x.mean(axis=0)
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - mean) * inv_std
    dgamma = (dout * x_hat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dx = (gamma * inv_std / n) * (n * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def residual_forward(x, W1, b1, W2, b2):
    """A residual block: the branch F(x) = relu(x @ W1 + b1) @ W2 + b2, added to x, then a ReLU:
    y = relu(x + F(x)). x (N, D), W1 (D, H), W2 (H, D). Returns y (N, D)."""
    h = np.maximum(x @ W1 + b1, 0.0)
    return np.maximum(x + h @ W2 + b2, 0.0)


def residual_backward(dout, x, W1, b1, W2, b2):
    """The gradients of residual_forward(x, W1, b1, W2, b2) whose output received dout.

    Returns (dx, dW1, db1, dW2, db2), each shaped like its input."""
    a = x @ W1 + b1
    h = np.maximum(a, 0.0)
    s = x + h @ W2 + b2
    ds = dout * (s > 0)
    dW2 = h.T @ ds
    db2 = ds.sum(axis=0)
    da = (ds @ W2.T) * (a > 0)
    dW1 = x.T @ da
    db1 = da.sum(axis=0)
    dx = ds + da @ W1.T
    return dx, dW1, db1, dW2, db2
