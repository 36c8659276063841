"""rnn-chars: a vanilla recurrent network, one step and through time, forward and backward, by you.

The grader feeds one-hot characters of Shakespeare through your rnn_forward, reads out the next
character from every hidden state (a linear layer and softmax of its own), trains with your rnn_backward
and expects the validation loss to fall below the lab's target.

One step:  h = tanh(x @ Wx + h_prev @ Wh + b)   with x (N, D), h_prev and h (N, H), Wx (D, H), Wh (H, H),
b (H,). Through time, x is (N, T, D) and the hidden states are stacked as hs (N, T, H), hs[:, t] being
the state after reading x[:, t]; h0 (N, H) is the state before the first step.

Backward functions receive the gradient of the loss with respect to their outputs. Through time the
loss reads EVERY hidden state, so rnn_backward receives dhs (N, T, H); but hs[:, t] also feeds step t + 1,
so its total gradient is dhs[:, t] plus what flows back from the future (backpropagation through time).
A loop over the T time steps is necessary; a loop over samples is not.

Two pieces make the recurrence trainable and usable (lesson: "Vanishing and exploding gradients" and
"Sampling"): clip_by_global_norm bounds a training step, and sample_next turns the logits of the next
character into a character. The grader trains with your clipping in the loop and shows text that your
sampling wrote.
Grade with `pathlab lab grade rnn-chars`; stuck? `pathlab lab hint rnn-chars`.
"""

import numpy as np


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """One step of the recurrence: h = tanh(x @ Wx + h_prev @ Wh + b).

    x (N, D), h_prev (N, H), Wx (D, H), Wh (H, H), b (H,)  ->  h (N, H).
    """
    return np.tanh(x @ Wx + h_prev @ Wh + b)


def rnn_step_backward(dh, x, h_prev, h, Wx, Wh):
    """Gradients of one step, given dh = dL/dh (N, H) and the step's output h (N, H).

    Differentiate rnn_step_forward by the chain rule (lesson "Recurrent networks", "Back-propagation
    through time"; the chain rule: lesson "Backpropagation"): first through the tanh, whose derivative
    can be written with h alone, then through the affine map, which x and h_prev both enter.
    Returns (dx, dh_prev, dWx, dWh, db) with the shapes of x, h_prev, Wx, Wh and b.
    """
    da = dh * (1.0 - h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """Run the recurrence over a sequence: hs[:, t] = rnn_step_forward(x[:, t], hs[:, t - 1], ...),
    starting from h0. x (N, T, D), h0 (N, H)  ->  hs (N, T, H).
    """
    n, steps, _ = x.shape
    hs = np.empty((n, steps, h0.shape[1]), dtype=np.result_type(x, h0, Wx))
    h = h0
    for t in range(steps):
        h = rnn_step_forward(x[:, t], h, Wx, Wh, b)
        hs[:, t] = h
    return hs


def rnn_backward(dhs, x, h0, hs, Wx, Wh):
    """Backpropagation through time, given dhs = dL/dhs (N, T, H) and the forward pass's hs.

    Walk t = T-1 down to 0. The gradient arriving at hs[:, t] is dhs[:, t] plus the dh_prev that step
    t + 1 sent back; feed their sum to rnn_step_backward. The weights are shared by every step, so their
    gradients are the sums over all steps.
    Returns (dx, dh0, dWx, dWh, db) with the shapes of x (N, T, D), h0, Wx, Wh and b (H,).
    """
    steps = x.shape[1]
    dx = np.zeros_like(x)
    dWx, dWh = np.zeros_like(Wx), np.zeros_like(Wh)
    db = np.zeros(Wh.shape[0], dtype=Wh.dtype)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(steps)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        dx[:, t], dh_next, dWx_t, dWh_t, db_t = rnn_step_backward(
            dhs[:, t] + dh_next, x[:, t], h_prev, hs[:, t], Wx, Wh
        )
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dh_next, dWx, dWh, db


def clip_by_global_norm(grads, max_norm):
    """Clip a list of gradient arrays by their GLOBAL norm (lesson: "Gradient clipping").

    The global norm is the L2 norm of all their entries taken together, as if concatenated into one
    vector. When it exceeds max_norm, every array is rescaled by the same factor so the global norm
    becomes max_norm (the direction is kept); otherwise the arrays are returned unchanged.
    grads: a list of arrays, max_norm > 0  ->  (clipped, total_norm): a list of arrays with the shapes
    of grads, and the global norm BEFORE clipping as a float (training logs it).
    """
    total_norm = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    scale = max_norm / total_norm if total_norm > max_norm else 1.0
    return [g * scale for g in grads], total_norm


def sample_next(logits, temperature, u):
    """The index of the next character, drawn from softmax(logits / temperature) (lesson: "Sampling").

    logits (V,) float, temperature >= 0 float, u a uniform draw in [0, 1) given by the grader (so the
    draw is deterministic)  ->  an int in 0..V-1. Inverse CDF: with c the cumulative sum of the
    probabilities, return the first index i with u < c[i]. Temperature 0 means greedy: the index of the
    largest logit. Small temperatures make logits / temperature huge: keep np.exp from overflowing.
    """
    if temperature == 0:
        return int(np.argmax(logits))
    scaled = logits / temperature
    weights = np.exp(scaled - scaled.max())
    cumulative = np.cumsum(weights / weights.sum())
    return min(int(np.sum(cumulative <= u)), len(logits) - 1)
