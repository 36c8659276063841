"""cnn-digits: a ConvNet's pieces, forward and backward, written by you in NumPy.

The grader builds  conv(1 -> 8 channels, 3x3, pad 1) -> ReLU -> max-pool 2x2 -> flatten -> linear head
from your six functions: the convolution, the pooling, the flatten and the classifier head are yours;
the ReLU, the softmax cross-entropy and the plain SGD step are the library's (the same maths you wrote
in Feed-forward networks). It checks each function on small fixed inputs (shapes, values, gradients
against finite differences), then trains the ConvNet on the 8x8 digits, forward and backward through
your functions, and expects >= 90% test accuracy.

Conventions. Images are channel-first: x (N, C, H, W). A filter bank is W (F, C, K, K) with one bias per
filter, b (F,). The convolution has stride 1 and `pad` zeros on every side, so its output is
(N, F, H + 2*pad - K + 1, W + 2*pad - K + 1). Like every deep-learning library, "convolution" here is
cross-correlation: the filter is not flipped in the forward pass. The head sees each image as one row of
features, flattened in NumPy's (C order) order: channel, then row, then column.

NumPy only. A loop over the K*K filter offsets is fine; a loop over samples or pixels is too slow to
train in time. np.pad and np.lib.stride_tricks.sliding_window_view are your friends.
Grade with `pathlab lab grade cnn-digits`; stuck? `pathlab lab hint cnn-digits`.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv2d_forward(x, W, b, pad=1):
    """out[n, f, i, j] = b[f] + sum_{c, u, v} xp[n, c, i + u, j + v] * W[f, c, u, v],

    where xp is x with `pad` zeros around each image. x (N, C, H, W), W (F, C, K, K), b (F,)
    -> out (N, F, H + 2*pad - K + 1, W + 2*pad - K + 1).
    """
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(xp, W.shape[2:], axis=(2, 3))  # (N, C, Ho, Wo, K, K)
    return np.einsum("nchwuv,fcuv->nfhw", windows, W, optimize=True) + b[None, :, None, None]


def conv2d_backward(dout, x, W, pad=1):
    """Gradients of conv2d_forward, given dout = dL/dout (N, F, Ho, Wo). Returns (dx, dW, db).

    Differentiate conv2d_forward's sum above with the chain rule (lesson "Backpropagation", "The chain
    rule on a graph"; the convolution itself: lesson "Convolutional networks", "Convolution" and "Padding
    and stride"). A weight and a bias are shared by every output position of every image, and an input
    pixel feeds many output positions; the gradient with respect to x has x's shape, without the padding.
    Shapes: dx like x (N, C, H, W), dW like W (F, C, K, K), db (F,).
    """
    k = W.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(xp, (k, k), axis=(2, 3))
    dW = np.einsum("nchwuv,nfhw->fcuv", windows, dout, optimize=True)
    db = dout.sum(axis=(0, 2, 3))
    # The input gradient is a "full" correlation of dout with the filters turned by 180 degrees.
    edge = k - 1 - pad
    dpad = np.pad(dout, ((0, 0), (0, 0), (edge, edge), (edge, edge)))
    dwindows = sliding_window_view(dpad, (k, k), axis=(2, 3))  # (N, F, H, W, K, K)
    dx = np.einsum("nfhwuv,fcuv->nchw", dwindows, W[:, :, ::-1, ::-1], optimize=True)
    return dx, dW, db


def maxpool_forward(x, size=2):
    """Non-overlapping max-pooling: the largest value of each size x size block, per channel.

    x (N, C, H, W) with H and W divisible by size  ->  out (N, C, H // size, W // size).
    """
    n, c, h, w = x.shape
    return x.reshape(n, c, h // size, size, w // size, size).max(axis=(3, 5))


def maxpool_backward(dout, x, size=2):
    """Gradient of maxpool_forward, given dout = dL/dout (N, C, H // size, W // size).

    Only the winner of each block affected the output, so it receives that block's dout and every
    other pixel of the block receives 0. (With a tie, give it to the first maximum in row-major order.)
    Returns dx with the shape of x.
    """
    n, c, h, w = x.shape
    ho, wo = h // size, w // size
    blocks = x.reshape(n, c, ho, size, wo, size).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, ho, wo, -1)
    winner = np.arange(size * size) == blocks.argmax(axis=-1)[..., None]  # (N, C, Ho, Wo, size*size)
    dblocks = winner * dout[..., None]
    return dblocks.reshape(n, c, ho, wo, size, size).transpose(0, 1, 2, 4, 3, 5).reshape(x.shape)


def flatten_forward(x):
    """Each image's feature maps as one row: x (N, C, H, W) -> (N, C*H*W), in C order (channel, row,
    column), so the head's weight rows line up with the pooled features."""
    return x.reshape(len(x), -1)


def flatten_backward(dout, x):
    """Gradient of flatten_forward: dout (N, C*H*W) back to the shape of x (N, C, H, W). Flattening moves
    no value and changes none, so each entry of dout goes back to the position it came from."""
    return dout.reshape(x.shape)


def head_forward(feats, W, b):
    """The classifier head: one affine map from the flattened features to the class scores (logits).

    feats (N, D), W (D, classes), b (classes,)  ->  logits (N, classes).
    """
    return feats @ W + b


def head_backward(dout, feats, W):
    """Gradients of head_forward, given dout = dL/dlogits (N, classes): returns (dfeats, dW, db) with the
    shapes of feats, W and b. Every image contributes to the shared W and b."""
    dfeats = dout @ W.T
    dW = feats.T @ dout
    db = dout.sum(axis=0)
    return dfeats, dW, db
