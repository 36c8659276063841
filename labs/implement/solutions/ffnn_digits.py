"""ffnn-digits: a feed-forward network and its whole training pipeline, written by you in NumPy.

The network has two layers,

    logits = linear(relu(linear(x, W1, b1)), W2, b2)        loss = softmax_cross_entropy(logits, y)

and around it you write the pipeline: He initialisation, the minibatches of an epoch, SGD with momentum
and Adam, the epoch loop, and the evaluation on held-out data. The grader checks each function on small
fixed inputs (shapes, values, gradients against finite differences, optimiser updates step by step),
then trains: it initialises the weights with your he_init and calls YOUR train_epoch (which runs your
minibatches, layers and adam_step) once per epoch, and your evaluate must report >= 90% accuracy on the
held-out digits.

Conventions. The batch is the first axis: x (N, D_in) @ W (D_in, D_out) + b (D_out,). A backward function
receives `dout`, the gradient of the loss with respect to the function's output, and returns the gradients
with respect to its inputs, each with the same shape as that input. The loss is the MEAN over the batch,
so the factor 1/N belongs in softmax_cross_entropy's gradient and nowhere else. Parameters and optimiser
state travel as lists and tuples of arrays (not dicts).

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

    Apply the chain rule to linear_forward's sum (lesson "Backpropagation", "The chain rule on a graph";
    the shapes: "Shapes, in batch form"); every sample of the batch uses the same W and b.
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

    The rectifier's local derivative times dout (lesson "Backpropagation"); at x == 0 take the
    derivative as 0. Returns dx with the shape of x.
    """
    return dout * (x > 0)


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of a softmax over classes, and its gradient with respect to the logits.

    logits (N, C) floats, y (N,) integer labels in [0, C); the softmax is taken along axis 1 and the
    loss is the MEAN over the N samples of -log of the true class's probability. The gradient is the
    lesson's "softmax and cross-entropy together" (lesson "Backpropagation"), for a mean: dlogits (N, C).
    Keep exp() from overflowing on large logits without changing the softmax.
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


# -- the rest of the pipeline: initialisation, minibatches, optimisers, the epoch loop, evaluation --------
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
"""Adam's constants, as in the lesson ("Optimisers"); train_epoch passes them to adam_step"""


def he_init(draws, fan_in, fan_out):
    """He initialisation of a (fan_in, fan_out) weight, from standard-normal draws (lesson "Initialisation").

    draws (fan_in, fan_out) are samples of Normal(0, 1), given to you so the result is reproducible; scale
    them so the weight has He's variance for a ReLU layer. Returns W with the shape and dtype of draws.
    """
    return draws * np.sqrt(2.0 / fan_in)


def minibatches(n, batch_size, permutation):
    """The index arrays of one epoch's minibatches, in the order of `permutation` (a shuffle of 0..n-1).

    Consecutive runs of batch_size entries of the permutation, each an integer array; every sample appears
    exactly once per epoch, so when batch_size does not divide n the last batch is the smaller remainder.
    Returns a list of 1-D integer arrays.
    """
    return [permutation[start:start + batch_size] for start in range(0, n, batch_size)]


def momentum_step(p, g, v, lr, beta):
    """One step of SGD with momentum (lesson "Optimisers", heavy-ball form): the velocity v remembers past
    gradients, decayed by beta, and the parameter moves against the velocity, scaled by lr.

    p, g and v have the same shape (v starts at zeros). Returns (p, v): the new parameter and velocity.
    """
    v = beta * v + g
    return p - lr * v, v


def adam_step(p, g, m, v, t, lr, beta1, beta2, eps):
    """One step of Adam with bias correction (lesson "Optimisers").

    m and v are the running averages of g and of g**2 (both start at zeros); t is the number of THIS step,
    1 for the first one. Correct both averages for their start at zero, then take the lesson's step, with
    eps added outside the square root.
    Returns (p, m, v): the new parameter and both updated averages, each with p's shape.
    """
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def train_epoch(params, x, y, batch_size, perm, lr, state):
    """One epoch of training the two-layer network with Adam, built from YOUR functions above.

    params [W1, b1, W2, b2]: logits = linear(relu(linear(x, W1, b1)), W2, b2), loss softmax_cross_entropy.
    Visit the minibatches of `perm` (a fresh shuffle each epoch) in order; on each, compute the loss and
    every gradient, then step each parameter with adam_step (BETA1, BETA2, EPS above).
    state (m, v, t): m and v lists of arrays shaped like params, t the number of steps taken so far.
    Returns (params, state, mean_loss): the new lists, the new (m, v, t), and the plain mean of the
    epoch's minibatch losses (each taken before its step) as a Python float.
    """
    W1, b1, W2, b2 = params
    m, v, t = state
    m, v = list(m), list(v)
    params, losses = [W1, b1, W2, b2], []
    for idx in minibatches(len(y), batch_size, perm):
        xb, yb = x[idx], y[idx]
        W1, b1, W2, b2 = params
        pre = linear_forward(xb, W1, b1)
        hidden = relu_forward(pre)
        loss, dlogits = softmax_cross_entropy(linear_forward(hidden, W2, b2), yb)
        dhidden, dW2, db2 = linear_backward(dlogits, hidden, W2)
        _, dW1, db1 = linear_backward(relu_backward(dhidden, pre), xb, W1)
        t += 1
        for i, g in enumerate((dW1, db1, dW2, db2)):
            params[i], m[i], v[i] = adam_step(params[i], g, m[i], v[i], t, lr, BETA1, BETA2, EPS)
        losses.append(loss)
    return params, (m, v, t), float(np.mean(losses))


def accuracy(logits, y):
    """The share of rows whose largest logit is at the true class: a Python float in [0, 1].

    logits (N, C), y (N,) integer labels.
    """
    return float(np.mean(logits.argmax(axis=1) == y))


def evaluate(params, x_train, y_train, x_test, y_test):
    """The network's accuracy on the data it trained on and on the HELD-OUT set, with your forward pass
    and your accuracy (lesson "The training loop": the held-out score is the one that counts).

    params [W1, b1, W2, b2] as in train_epoch. Returns (train_accuracy, test_accuracy), two floats.
    """
    W1, b1, W2, b2 = params

    def logits(x):
        return linear_forward(relu_forward(linear_forward(x, W1, b1)), W2, b2)

    return accuracy(logits(x_train), y_train), accuracy(logits(x_test), y_test)
