"""Plain twins of the tuned kernels: each written straight from its equations, for reading and for tests.

The layers never call these. Every tuned kernel in labs.nn (in-place passes, fused buffers, shifted
softmaxes, flat optimiser state) has a twin here that computes the same function the obvious way:
one time step, one head, one tensor at a time, a fresh array per operator, no `out=`. The tests in
tests/nn/test_reference_twins.py hold each tuned kernel equal to its twin in float64 (outputs and
every gradient), so a speed trick that changes the maths fails there, not in a learner's lab.

Shapes follow the layers: x (B, T, D) for sequences, (N, C, H, W) for images, weights in the
layers' layouts (gates side by side in the columns, W (in, out) for dense products).
"""

from __future__ import annotations

import numpy as np

State = tuple[np.ndarray, ...]


# -- activations ------------------------------------------------------------------------------------
def sigmoid(a: np.ndarray) -> np.ndarray:
    """sigma(a) = 1 / (1 + e^-a)."""
    return 1.0 / (1.0 + np.exp(-a))


def sigmoid_backward(y: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """dL/da = g sigma(a) (1 - sigma(a)), from the output y = sigma(a)."""
    return grad * y * (1.0 - y)


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0)."""
    return np.maximum(x, 0)


def relu_backward(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """dL/dx = g * [x > 0] (the kink at 0 takes slope 0)."""
    return grad * (x > 0)


GELU_C = np.sqrt(2.0 / np.pi)
GELU_A = 0.044715


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3)."""
    return 0.5 * x * (1.0 + np.tanh(GELU_C * (x + GELU_A * x**3)))


def gelu_backward(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """dGELU/dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2)."""
    t = np.tanh(GELU_C * (x + GELU_A * x**3))
    return grad * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t**2) * GELU_C * (1.0 + 3.0 * GELU_A * x**2))


# -- sums, softmax, cross-entropy -----------------------------------------------------------------
def row_sums(a: np.ndarray, scale: float = 1.0) -> np.ndarray:
    return scale * a.sum(axis=-1)


def column_sums(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, a.shape[-1]).sum(axis=0)


def softmax(scores: np.ndarray) -> np.ndarray:
    """p_j = e^{s_j - max s} / sum_k e^{s_k - max s} over the last axis (-inf scores get p = 0)."""
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(probs: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """dL/ds_j = p_j (g_j - sum_k g_k p_k): the Jacobian diag(p) - p p^T applied to g."""
    return probs * (grad - (grad * probs).sum(axis=-1, keepdims=True))


def causal_mask(steps: int) -> np.ndarray:
    """(T, T): 0 where key s <= query t, -inf where s > t."""
    return np.where(np.arange(steps)[None, :] > np.arange(steps)[:, None], -np.inf, 0.0)


def causal_softmax(scores: np.ndarray) -> np.ndarray:
    """The attention probabilities from raw scores (..., T, T): softmax over s <= t of each row t."""
    return softmax(scores + causal_mask(scores.shape[-1]))


def cross_entropy(logits: np.ndarray, targets: np.ndarray,
                  weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """L = sum_i w_i (-log p_i[y_i]) / sum_i w_i with p = softmax(z), w_i = 1 unless given;
    dL/dz_i = w_i (p_i - onehot(y_i)) / sum w."""
    n, classes = logits.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    targets = np.where(w > 0, targets, 0)
    log_p = logits - logits.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    one_hot = np.eye(classes)[targets]
    loss = -(w * log_p[np.arange(n), targets]).sum() / w.sum()
    return float(loss), (np.exp(log_p) - one_hot) * (w / w.sum())[:, None]


def scatter_rows(idx: np.ndarray, grad: np.ndarray, n_rows: int) -> np.ndarray:
    """The embedding gradient dW[v] = sum over positions p with idx[p] = v of grad[p]."""
    out = np.zeros((n_rows, grad.shape[-1]), dtype=grad.dtype)
    np.add.at(out, idx.reshape(-1), grad.reshape(idx.size, -1))
    return out


# -- layer normalisation -----------------------------------------------------------------------------
def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> tuple[np.ndarray, tuple]:
    """y = gamma * (x - mu) / sqrt(var + eps) + beta, mu and var over the last axis (N = its width)."""
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    x_hat = (x - mu) / np.sqrt(var + eps)
    return gamma * x_hat + beta, (x, mu, var, x_hat, gamma, eps)


def layer_norm_backward(grad: np.ndarray, cache: tuple) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The chain rule through x_hat, var and mu one at a time (the long way round):
    dx_hat = g gamma;  dvar = sum dx_hat (x - mu) * -1/2 (var + eps)^-3/2;
    dmu = -sum dx_hat / sqrt(var + eps) + dvar * mean(-2 (x - mu));
    dx = dx_hat / sqrt(var + eps) + dvar * 2 (x - mu) / N + dmu / N."""
    x, mu, var, x_hat, gamma, eps = cache
    n = x.shape[-1]
    d_hat = grad * gamma
    d_var = (d_hat * (x - mu) * -0.5 * (var + eps) ** -1.5).sum(axis=-1, keepdims=True)
    d_mu = (-d_hat / np.sqrt(var + eps)).sum(axis=-1, keepdims=True) + d_var * (-2.0 * (x - mu)).mean(
        axis=-1, keepdims=True)
    dx = d_hat / np.sqrt(var + eps) + d_var * 2.0 * (x - mu) / n + d_mu / n
    return dx, {"gamma": column_sums(grad * x_hat), "beta": column_sums(grad)}


# -- batch normalisation ---------------------------------------------------------------------------------
def _channel_axes(x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The axes a channel's statistics run over (all but axis 1) and the shape (1, C, 1, ...)."""
    return (0, *range(2, x.ndim)), (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> tuple[np.ndarray, tuple]:
    """Training mode: y = gamma (x - mu) / sqrt(var + eps) + beta with the batch's mu and biased var per
    channel (axis 1), over the M = x.size / C values of that channel."""
    axes, shape = _channel_axes(x)
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    x_hat = (x - mu) / np.sqrt(var + eps)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape), (x, mu, var, x_hat, gamma.reshape(shape), eps)


def batch_norm_backward(grad: np.ndarray, cache: tuple) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The chain rule through x_hat, var and mu one at a time, sums over a channel's M values:
    dx_hat = g gamma;  dvar = sum dx_hat (x - mu) * -1/2 (var + eps)^-3/2;
    dmu = -sum dx_hat / sqrt(var + eps) + dvar * mean(-2 (x - mu));
    dx = dx_hat / sqrt(var + eps) + dvar * 2 (x - mu) / M + dmu / M."""
    x, mu, var, x_hat, gamma, eps = cache
    axes, _ = _channel_axes(x)
    m = x.size // x.shape[1]
    d_hat = grad * gamma
    d_var = (d_hat * (x - mu) * -0.5 * (var + eps) ** -1.5).sum(axis=axes, keepdims=True)
    d_mu = (-d_hat / np.sqrt(var + eps)).sum(axis=axes, keepdims=True) + d_var * (-2.0 * (x - mu)).mean(
        axis=axes, keepdims=True)
    dx = d_hat / np.sqrt(var + eps) + d_var * 2.0 * (x - mu) / m + d_mu / m
    return dx, {"gamma": (grad * x_hat).sum(axis=axes), "beta": grad.sum(axis=axes)}


def batch_norm_eval(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray,
                    running_var: np.ndarray, eps: float, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Eval mode: y = gamma (x - running_mean) / sqrt(running_var + eps) + beta, an affine map of x, so
    dx = g gamma / sqrt(running_var + eps), dgamma = sum g x_hat, dbeta = sum g. Returns (y, dx, grads)."""
    axes, shape = _channel_axes(x)
    x_hat = (x - running_mean.reshape(shape)) / np.sqrt(running_var.reshape(shape) + eps)
    y = gamma.reshape(shape) * x_hat + beta.reshape(shape)
    dx = grad * gamma.reshape(shape) / np.sqrt(running_var.reshape(shape) + eps)
    return y, dx, {"gamma": (grad * x_hat).sum(axis=axes), "beta": grad.sum(axis=axes)}


def batch_norm_running(running_mean: np.ndarray, running_var: np.ndarray, x: np.ndarray,
                       momentum: float) -> tuple[np.ndarray, np.ndarray]:
    """One training step's running estimates: (1 - m) running + m batch, the batch variance unbiased
    (divided by M - 1)."""
    axes, _ = _channel_axes(x)
    return ((1 - momentum) * running_mean + momentum * x.mean(axis=axes),
            (1 - momentum) * running_var + momentum * x.var(axis=axes, ddof=1))


# -- causal self-attention -----------------------------------------------------------------------------
def attention(x: np.ndarray, W_qkv: np.ndarray, b_qkv: np.ndarray, W_proj: np.ndarray, b_proj: np.ndarray,
              n_heads: int) -> tuple[np.ndarray, tuple]:
    """y = concat_h(softmax_causal(q_h k_h^T / sqrt(d)) v_h) W_proj + b_proj, [q k v] = x W_qkv + b_qkv.

    x (B, T, C), d = C / n_heads; head h reads columns h*d..(h+1)*d of q, k and v."""
    b, t, c = x.shape
    d = c // n_heads
    qkv = x @ W_qkv + b_qkv
    q, k, v = (qkv[..., i * c:(i + 1) * c].reshape(b, t, n_heads, d).transpose(0, 2, 1, 3) for i in range(3))
    probs = causal_softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(d))
    heads = probs @ v  # (B, H, T, d)
    merged = heads.transpose(0, 2, 1, 3).reshape(b, t, c)
    return merged @ W_proj + b_proj, (x, q, k, v, probs, merged, W_qkv, W_proj, n_heads)


def attention_backward(grad: np.ndarray, cache: tuple) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """dP = dO V^T, dV = P^T dO, dS = softmax_backward(P, dP), dQ = dS K / sqrt(d), dK = dS^T Q / sqrt(d)."""
    x, q, k, v, probs, merged, W_qkv, W_proj, n_heads = cache
    b, t, c = x.shape
    d = c // n_heads
    grads = {"W_proj": merged.reshape(-1, c).T @ grad.reshape(-1, c), "b_proj": column_sums(grad)}
    d_heads = (grad @ W_proj.T).reshape(b, t, n_heads, d).transpose(0, 2, 1, 3)
    d_probs = d_heads @ v.transpose(0, 1, 3, 2)
    d_v = probs.transpose(0, 1, 3, 2) @ d_heads
    d_scores = softmax_backward(probs, d_probs)
    d_q = d_scores @ k / np.sqrt(d)
    d_k = d_scores.transpose(0, 1, 3, 2) @ q / np.sqrt(d)
    d_qkv = np.concatenate([g.transpose(0, 2, 1, 3).reshape(b, t, c) for g in (d_q, d_k, d_v)], axis=-1)
    grads["W_qkv"] = x.reshape(-1, c).T @ d_qkv.reshape(-1, 3 * c)
    grads["b_qkv"] = column_sums(d_qkv)
    return d_qkv @ W_qkv.T, grads


# -- recurrent cells, one step at a time ---------------------------------------------------------------
def rnn(x: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray,
        state: State | None = None) -> tuple[np.ndarray, State, list]:
    """h_t = tanh(x_t W_x + h_{t-1} W_h + b). Returns all h (B, T, H), the final state (h_T,), a cache."""
    h = np.zeros((x.shape[0], W_h.shape[0])) if state is None else state[0]
    outs, steps = [], []
    for t in range(x.shape[1]):
        h_new = np.tanh(x[:, t] @ W_x + h @ W_h + b)
        steps.append((x[:, t], h, h_new))
        outs.append(h_new)
        h = h_new
    return np.stack(outs, axis=1), (h,), [W_x, W_h, steps]


def rnn_backward(grad: np.ndarray, grad_final: State | None, cache: list):
    """da_t = (dh_t from above + dh_t from step t+1) (1 - h_t^2); dh_{t-1} = da_t W_h^T.
    Returns dx (B, T, D), the gradient on the initial state (dh_0,), and the parameter gradients."""
    W_x, W_h, steps = cache
    grads = {"W_x": np.zeros_like(W_x), "W_h": np.zeros_like(W_h), "b": np.zeros(W_x.shape[1])}
    dx = np.zeros(grad.shape[:2] + (W_x.shape[0],))
    dh_next = np.zeros_like(grad[:, 0]) if grad_final is None else grad_final[0]
    for t in reversed(range(len(steps))):
        x_t, h_prev, h = steps[t]
        da = (grad[:, t] + dh_next) * (1.0 - h**2)
        grads["W_x"] += x_t.T @ da
        grads["W_h"] += h_prev.T @ da
        grads["b"] += da.sum(axis=0)
        dx[:, t] = da @ W_x.T
        dh_next = da @ W_h.T
    return dx, (dh_next,), grads


def lstm(x: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray,
         state: State | None = None) -> tuple[np.ndarray, State, list]:
    """[a_i a_f a_o a_g] = x_t W_x + h_{t-1} W_h + b;  i, f, o = sigma(a_i, a_f, a_o);  g = tanh(a_g);
    c_t = f c_{t-1} + i g;  h_t = o tanh(c_t). Returns all h (B, T, H), (h_T, c_T) and a cache."""
    n = W_h.shape[0]
    zeros = np.zeros((x.shape[0], n))
    h, c = (zeros, zeros) if state is None else state
    outs, steps = [], []
    for t in range(x.shape[1]):
        a = x[:, t] @ W_x + h @ W_h + b
        i, f, o = sigmoid(a[:, :n]), sigmoid(a[:, n:2 * n]), sigmoid(a[:, 2 * n:3 * n])
        g = np.tanh(a[:, 3 * n:])
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        steps.append((x[:, t], h, c, i, f, o, g, c_new))
        outs.append(h_new)
        h, c = h_new, c_new
    return np.stack(outs, axis=1), (h, c), [W_x, W_h, steps]


def lstm_backward(grad: np.ndarray, grad_final: State | None, cache: list):
    """dh = dh_out + dh_next;  dc = dc_next + dh o (1 - tanh^2 c);
    da_i = dc g i(1-i), da_f = dc c_prev f(1-f), da_o = dh tanh(c) o(1-o), da_g = dc i (1-g^2);
    dh_prev = da W_h^T, dc_prev = dc f. Returns dx, (dh_0, dc_0) and the parameter gradients."""
    W_x, W_h, steps = cache
    grads = {"W_x": np.zeros_like(W_x), "W_h": np.zeros_like(W_h), "b": np.zeros(W_x.shape[1])}
    dx = np.zeros(grad.shape[:2] + (W_x.shape[0],))
    zeros = np.zeros_like(grad[:, 0])
    dh_next, dc_next = (zeros, zeros) if grad_final is None else grad_final
    for t in reversed(range(len(steps))):
        x_t, h_prev, c_prev, i, f, o, g, c = steps[t]
        dh = grad[:, t] + dh_next
        tanh_c = np.tanh(c)
        dc = dc_next + dh * o * (1.0 - tanh_c**2)
        da = np.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                             dh * tanh_c * o * (1 - o), dc * i * (1 - g**2)], axis=1)
        grads["W_x"] += x_t.T @ da
        grads["W_h"] += h_prev.T @ da
        grads["b"] += da.sum(axis=0)
        dx[:, t] = da @ W_x.T
        dh_next, dc_next = da @ W_h.T, dc * f
    return dx, (dh_next, dc_next), grads


def gru(x: np.ndarray, W_x: np.ndarray, W_h: np.ndarray, b: np.ndarray, b_h: np.ndarray,
        state: State | None = None) -> tuple[np.ndarray, State, list]:
    """PyTorch's GRU, gates r, z, n side by side:
    r = sigma(x W_xr + b_r + h W_hr + b_hr),  z = sigma(x W_xz + b_z + h W_hz + b_hz),
    n = tanh(x W_xn + b_n + r (h W_hn + b_hn)),  h_t = (1 - z) n + z h_{t-1}."""
    m = W_h.shape[0]
    h = np.zeros((x.shape[0], m)) if state is None else state[0]
    outs, steps = [], []
    for t in range(x.shape[1]):
        ax = x[:, t] @ W_x + b
        ah = h @ W_h + b_h
        r = sigmoid(ax[:, :m] + ah[:, :m])
        z = sigmoid(ax[:, m:2 * m] + ah[:, m:2 * m])
        n = np.tanh(ax[:, 2 * m:] + r * ah[:, 2 * m:])
        h_new = (1 - z) * n + z * h
        steps.append((x[:, t], h, r, z, n, ah[:, 2 * m:]))
        outs.append(h_new)
        h = h_new
    return np.stack(outs, axis=1), (h,), [W_x, W_h, steps]


def gru_backward(grad: np.ndarray, grad_final: State | None, cache: list):
    """da_n = dh (1-z)(1-n^2);  da_z = dh (h_prev - n) z(1-z);  da_r = da_n hn r(1-r), hn = h W_hn + b_hn;
    input side [da_r da_z da_n], hidden side [da_r da_z da_n r];  dh_prev = hidden side W_h^T + dh z."""
    W_x, W_h, steps = cache
    grads = {"W_x": np.zeros_like(W_x), "W_h": np.zeros_like(W_h),
             "b": np.zeros(W_x.shape[1]), "b_h": np.zeros(W_x.shape[1])}
    dx = np.zeros(grad.shape[:2] + (W_x.shape[0],))
    dh_next = np.zeros_like(grad[:, 0]) if grad_final is None else grad_final[0]
    for t in reversed(range(len(steps))):
        x_t, h_prev, r, z, n, hn = steps[t]
        dh = grad[:, t] + dh_next
        da_n = dh * (1 - z) * (1 - n**2)
        da_z = dh * (h_prev - n) * z * (1 - z)
        da_r = da_n * hn * r * (1 - r)
        d_in = np.concatenate([da_r, da_z, da_n], axis=1)
        d_hid = np.concatenate([da_r, da_z, da_n * r], axis=1)
        grads["W_x"] += x_t.T @ d_in
        grads["b"] += d_in.sum(axis=0)
        grads["W_h"] += h_prev.T @ d_hid
        grads["b_h"] += d_hid.sum(axis=0)
        dx[:, t] = d_in @ W_x.T
        dh_next = d_hid @ W_h.T + dh * z
    return dx, (dh_next,), grads


# -- convolution ---------------------------------------------------------------------------------------
def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """y[s, o, i, j] = b[o] + sum_{c, u, v} x_pad[s, c, i*stride + u, j*stride + v] w[o, c, u, v],
    one output pixel at a time."""
    n, _, h, width = x.shape
    f, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out_h, out_w = (h + 2 * padding - k) // stride + 1, (width + 2 * padding - k) // stride + 1
    out = np.zeros((n, f, out_h, out_w))
    for s in range(n):
        for o in range(f):
            for i in range(out_h):
                for j in range(out_w):
                    patch = xp[s, :, i * stride:i * stride + k, j * stride:j * stride + k]
                    out[s, o, i, j] = np.sum(patch * w[o]) + b[o]
    return out


def conv2d_backward(x: np.ndarray, w: np.ndarray, grad: np.ndarray, stride: int,
                    padding: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Each output pixel's gradient flows back to the window it read: dw[o] += g[s, o, i, j] * patch,
    dx_pad[window] += g[s, o, i, j] * w[o], db[o] = sum of g[:, o]."""
    n, _, h, width = x.shape
    f, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for s in range(n):
        for o in range(f):
            for i in range(grad.shape[2]):
                for j in range(grad.shape[3]):
                    rows, cols = slice(i * stride, i * stride + k), slice(j * stride, j * stride + k)
                    dw[o] += grad[s, o, i, j] * xp[s, :, rows, cols]
                    dxp[s, :, rows, cols] += grad[s, o, i, j] * w[o]
    return dxp[:, :, padding:padding + h, padding:padding + width], {"W": dw, "b": grad.sum(axis=(0, 2, 3))}


def max_pool2d(x: np.ndarray, k: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """y[s, c, i, j] = max of the k x k window at (i*stride, j*stride); also returns dy/dx's routing:
    for each output, the flat window index of its maximum (the first in row-major order on a tie)."""
    n, c, h, w = x.shape
    out_h, out_w = (h - k) // stride + 1, (w - k) // stride + 1
    out, winner = np.zeros((n, c, out_h, out_w)), np.zeros((n, c, out_h, out_w), dtype=int)
    for s in range(n):
        for ch in range(c):
            for i in range(out_h):
                for j in range(out_w):
                    window = x[s, ch, i * stride:i * stride + k, j * stride:j * stride + k].ravel()
                    winner[s, ch, i, j] = int(np.argmax(window))  # argmax returns the first maximum
                    out[s, ch, i, j] = window[winner[s, ch, i, j]]
    return out, winner


def max_pool2d_backward(x_shape: tuple[int, ...], winner: np.ndarray, grad: np.ndarray, k: int,
                        stride: int) -> np.ndarray:
    """Each output's gradient goes to the one input that won its window: dx[winner] += g."""
    dx = np.zeros(x_shape)
    n, c, out_h, out_w = grad.shape
    for s in range(n):
        for ch in range(c):
            for i in range(out_h):
                for j in range(out_w):
                    u, v = divmod(int(winner[s, ch, i, j]), k)
                    dx[s, ch, i * stride + u, j * stride + v] += grad[s, ch, i, j]
    return dx


def avg_pool2d(x: np.ndarray, k: int, stride: int) -> np.ndarray:
    """y[s, c, i, j] = mean of the k x k window at (i*stride, j*stride)."""
    n, c, h, w = x.shape
    out_h, out_w = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((n, c, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + k, j * stride:j * stride + k].mean(axis=(2, 3))
    return out


def avg_pool2d_backward(x_shape: tuple[int, ...], grad: np.ndarray, k: int, stride: int) -> np.ndarray:
    """Each output's gradient is shared evenly, g / k^2, by the k x k inputs of its window."""
    dx = np.zeros(x_shape)
    for i in range(grad.shape[2]):
        for j in range(grad.shape[3]):
            dx[:, :, i * stride:i * stride + k, j * stride:j * stride + k] += grad[:, :, i, j, None, None] / (k * k)
    return dx


# -- optimisers --------------------------------------------------------------------------------------
def adam(params: list[np.ndarray], grads_per_step: list[list[np.ndarray]], lr: float = 0.01,
         b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
         decoupled_weight_decay: float = 0.0) -> list[np.ndarray]:
    """Textbook Adam, one tensor at a time, updating `params` in place and returning them:
    g += wd w (coupled L2);  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
    w = w - lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) - lr dwd w (AdamW's decoupled decay)."""
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, grads in enumerate(grads_per_step, start=1):
        for i, (p, g) in enumerate(zip(params, grads)):
            g = g + weight_decay * p
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            p -= lr * (m[i] / (1 - b1**t)) / (np.sqrt(v[i] / (1 - b2**t)) + eps) + lr * decoupled_weight_decay * p
    return params
