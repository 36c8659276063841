"""Recurrent layers (vanilla RNN, LSTM, GRU) with back-propagation through time.

A recurrent layer reads a sequence (B, T, D) and returns its hidden state at every step (B, T, H). Each
step mixes the current input with the previous hidden state, so the output at step t depends on every
input up to t, and the backward pass must walk the steps in reverse, carrying the gradient of the state
from step t back to step t-1 (back-propagation through time). Truncate that walk and the first inputs
get no gradient at all; the tests check they do, against finite differences.

Layout: the gates of a cell sit side by side in one weight matrix, W_x (D, G*H) and W_h (H, G*H), so a
step is one matmul for all gates. Biases: one vector b (G*H) on the input side; the GRU also has a
hidden-side bias b_h, because its candidate gate scales the hidden projection by the reset gate.

Twins: reference.rnn, reference.lstm and reference.gru (and their _backward) compute each cell one
step at a time straight from its equations; the tests hold these layers equal to them in float64,
with and without an initial state. The tuned code differs in how, never in what:
- the input projections x_t W_x + b do not depend on the state, so all T are one matmul before the
  time loop; dW_x = sum_t x_t^T da_t and dW_h = sum_t h_{t-1}^T da_t are one matmul each after it;
- fed by token ids (`forward_tokens`), x_t is row v of an embedding table E (V, D), or the one-hot
  vector of v, so x_t W_x + b is row v of P = E W_x + b (of W_x + b): P is computed once and the
  projections of all T steps are a gather of its rows. Backward, with S (V, G*H) the sum of da over the
  positions of each token (a scatter): dW_x = E^T S (S itself for one-hot input), db = sum of S's rows,
  dE = S W_x^T. Twin: the Embedding lookup followed by the step-by-step cell;
- every array the loop writes is allocated once, time-major (T, B, ...), and filled with `out=`: the
  gate pre-activations are activated in place inside the projection buffer, which becomes the cache;
- sigma(a) = 0.5 tanh(a / 2) + 0.5. Halving the sigmoid gates' columns of the projections once (of
  x W_x + b and of W_h, not per step) gives exactly a / 2 there, since halving is exact in binary,
  so ONE tanh call activates all the gates of a step;
- in the backward pass the factors that do not depend on the gradient flowing back (e.g.
  g i (1 - i)) are computed for all steps before the loop, each into its own contiguous array;
- the per-step product with W_h^T uses a contiguous copy of it rather than the transposed view;
- a per-step product bigger than _SMALL_PRODUCT multiply-adds is made as several products, one per
  block of output columns (`BlockedProduct`): OpenBLAS runs small products with a kernel that skips
  packing the operands, and packing all of W_h for only B rows is a large part of a big product's
  cost at these sizes. Each output entry is still one dot product over the same inputs.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np

from labs.nn.core import Layer, Parameter
from labs.nn.embedding import check_indices, scatter_rows
from labs.nn.layers import column_sums

CellName = Literal["rnn", "lstm", "gru"]
State = tuple[np.ndarray, ...]

# Products with at most this many multiply-adds (m * k * n) take OpenBLAS's small-matrix kernel on the
# processors it has one for (it does not pack its operands); the measured effect is in benchmarks/RESULTS.md.
_SMALL_PRODUCT = 1_000_000


class BlockedProduct:
    """out = a @ w for a fixed weight w (k, n), made as `parts` products, one per block of n / parts
    output columns, each block a contiguous copy: `parts` is the fewest that keeps every product at or
    under _SMALL_PRODUCT multiply-adds for `rows` rows of a (a power of two dividing n, else 1)."""

    def __init__(self, w: np.ndarray, rows: int):
        k, n = w.shape
        parts = 1
        while rows * k * (n // parts) > _SMALL_PRODUCT and n % (2 * parts) == 0:
            parts *= 2
        width = n // parts
        self.blocks = [(slice(j * width, (j + 1) * width), np.ascontiguousarray(w[:, j * width : (j + 1) * width]))
                       for j in range(parts)]
        self.w = w if parts == 1 else None

    def __call__(self, a: np.ndarray, out: np.ndarray) -> None:
        if self.w is not None:
            np.matmul(a, self.w, out=out)
            return
        for cols, block in self.blocks:
            np.matmul(a, block, out=out[:, cols])


class Recurrent(Layer):
    """Runs a cell over time. Subclasses define the cell: `n_gates`, `_run` and `_run_back`.

    After `forward`, `final_state` holds the state after the last step (feed it back as
    `initial_state` to continue a sequence, e.g. when generating text); after `backward`,
    `grad_initial_state` holds the gradient with respect to the initial state.
    """

    n_gates: ClassVar[int] = 1
    n_state: ClassVar[int] = 1  # arrays in the state: (h,) or, for the LSTM, (h, c)
    hidden_bias: ClassVar[bool] = False

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        rng: np.random.Generator,
        dtype: np.dtype | type = np.float32,
    ):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        width = self.n_gates * hidden_size
        bound = 1.0 / np.sqrt(hidden_size)  # PyTorch's default: uniform(-1/sqrt(H), 1/sqrt(H))
        self.params["W_x"] = Parameter(rng.uniform(-bound, bound, (input_size, width)).astype(dtype))
        self.params["W_h"] = Parameter(rng.uniform(-bound, bound, (hidden_size, width)).astype(dtype))
        self.params["b"] = Parameter(np.zeros(width, dtype=dtype))
        if self.hidden_bias:
            self.params["b_h"] = Parameter(np.zeros(width, dtype=dtype))
        self.final_state: State | None = None
        self.grad_initial_state: State | None = None

    @classmethod
    def count_parameters(cls, input_size: int, hidden_size: int) -> int:
        """Closed form: G*H*(D + H + 1), plus G*H for a hidden-side bias."""
        biases = 2 if cls.hidden_bias else 1
        return cls.n_gates * hidden_size * (input_size + hidden_size + biases)

    def zero_state(self, batch: int, dtype: np.dtype | type) -> State:
        return tuple(np.zeros((batch, self.hidden_size), dtype=dtype) for _ in range(self.n_state))

    # -- forward ---------------------------------------------------------------------------------
    def forward(self, x: np.ndarray, initial_state: State | None = None) -> np.ndarray:
        batch, steps = self._check_input(x)
        # Time-major (T, B, ...) inside, so every per-step slice is one contiguous block.
        x_tm = np.ascontiguousarray(x.transpose(1, 0, 2))
        # All T input projections in one matmul, outside the time loop.
        xp = x_tm.reshape(steps * batch, -1) @ self.params["W_x"].data
        xp += self.params["b"].data
        return self._forward_projected(xp.reshape(steps, batch, -1), initial_state, ("x", x_tm))

    def forward_tokens(self, idx: np.ndarray, table: np.ndarray | None = None,
                       initial_state: State | None = None) -> np.ndarray:
        """Token ids (B, T) -> hidden states (B, T, H), the input of step t being row idx[:, t] of an
        embedding `table` (V, D), or, with no table, the one-hot vector of the id (input_size = V).

        The same function as `forward(table[idx])` (or `forward(eye(V)[idx])`), computed through
        P = table W_x + b (module docstring). After it, `backward` returns the gradient on the table
        (V, D), or None for one-hot input, instead of the gradient on the inputs."""
        n_rows = self.input_size if table is None else table.shape[0]
        if table is not None and (table.ndim != 2 or table.shape[1] != self.input_size):
            raise ValueError(f"{type(self).__name__} expects an embedding table (vocabulary, {self.input_size}), "
                             f"got shape {table.shape}")
        idx = check_indices(idx, n_rows)
        if idx.ndim != 2:
            raise ValueError(f"{type(self).__name__} expects token ids (batch, time), got shape {idx.shape}")
        w_x, b = self.params["W_x"].data, self.params["b"].data
        rows = (w_x if table is None else table @ w_x) + b  # P: the input projection of every token
        ids_tm = np.ascontiguousarray(idx.T)
        xp = rows[ids_tm]  # (T, B, G*H): a fresh array, which the time loop overwrites with the gates
        return self._forward_projected(xp, initial_state, ("tokens", ids_tm, table))

    def _forward_projected(self, xp: np.ndarray, initial_state: State | None, inputs: tuple) -> np.ndarray:
        """The time loop over input projections xp (T, B, G*H); `inputs` is what the backward needs of
        the inputs: ("x", x time-major) or ("tokens", ids time-major, table or None)."""
        steps, batch, _ = xp.shape
        state = self._check_state(initial_state, batch, xp.dtype)
        hs = np.empty((steps + 1, batch, self.hidden_size), dtype=xp.dtype)  # hs[t] is h_{t-1}
        hs[0] = state[0]
        self.final_state, cell_cache = self._run(xp, hs, state)
        self.cache = (inputs, hs, cell_cache)
        return hs[1:].transpose(1, 0, 2)

    def _check_input(self, x: np.ndarray) -> tuple[int, int]:
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(
                f"{type(self).__name__} expects input (batch, time, {self.input_size}), got shape {x.shape}"
            )
        return x.shape[0], x.shape[1]

    def _check_state(self, state: State | None, batch: int, dtype: np.dtype) -> State:
        if state is None:
            return self.zero_state(batch, dtype)
        expected = (batch, self.hidden_size)
        if len(state) != self.n_state or any(s.shape != expected for s in state):
            shapes = [s.shape for s in state]
            raise ValueError(
                f"{type(self).__name__} initial_state must be {self.n_state} array(s) of shape {expected}, "
                f"got {shapes}"
            )
        return tuple(state)

    # -- backward --------------------------------------------------------------------------------
    def backward(self, grad_out: np.ndarray, grad_final_state: State | None = None) -> np.ndarray | None:
        """Back-propagate through every time step; `grad_final_state` adds a gradient on the last state.
        Returns the gradient on the input x (B, T, D), or after `forward_tokens` on the table (or None)."""
        inputs, hs, cell_cache = self.cache
        grad_tm = np.ascontiguousarray(grad_out.transpose(1, 0, 2))
        # The carried state gradients, updated in place by the loop: start from the final state's.
        dstate = tuple(np.zeros_like(grad_tm[0]) for _ in range(self.n_state))
        for carried, given in zip(dstate, grad_final_state or ()):
            carried += given
        # A contiguous copy of W_h^T: the small per-step product runs faster on it than on the
        # transposed view (benchmarks/RESULTS.md, historical figures).
        w_h_t = np.ascontiguousarray(self.params["W_h"].data.T)
        dxp, dhp = self._run_back(grad_tm, hs, cell_cache, dstate, w_h_t)
        self.grad_initial_state = dstate
        return self._accumulate(inputs, hs[:-1], dxp, dhp)

    def _accumulate(self, inputs: tuple, h_prev: np.ndarray, dxp: np.ndarray, dhp: np.ndarray) -> np.ndarray | None:
        """Weight gradients for all steps at once (one matmul each); returns the input gradient (B, T, D),
        or for token input the table's (V, D) (None for one-hot input)."""
        steps, batch, width = dxp.shape
        flat_dxp, flat_dhp = dxp.reshape(-1, width), dhp.reshape(-1, width)
        p = self.params
        p["W_h"].grad += h_prev.reshape(steps * batch, -1).T @ flat_dhp
        if self.hidden_bias:
            p["b_h"].grad += column_sums(flat_dhp)
        if inputs[0] == "x":
            x_tm = inputs[1]
            p["W_x"].grad += x_tm.reshape(steps * batch, -1).T @ flat_dxp
            p["b"].grad += column_sums(flat_dxp)
            return (flat_dxp @ p["W_x"].data.T).reshape(steps, batch, -1).transpose(1, 0, 2)
        _, ids_tm, table = inputs
        per_token = scatter_rows(ids_tm, flat_dxp, self.input_size if table is None else table.shape[0])  # S
        p["W_x"].grad += per_token if table is None else table.T @ per_token
        p["b"].grad += column_sums(per_token)
        return None if table is None else per_token @ p["W_x"].data.T

    # -- the cell --------------------------------------------------------------------------------
    def _run(self, xp: np.ndarray, hs: np.ndarray, state: State) -> tuple[State, tuple]:
        """The time loop: input projections xp (T, B, G*H) -> fills hs[1:]; returns final state, cache."""
        raise NotImplementedError

    def _run_back(self, grad_tm: np.ndarray, hs: np.ndarray, cache: tuple, dstate: State,
                  w_h_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The reverse time loop: grad_tm (T, B, H) is the gradient on each output; `dstate` holds the
        gradient on the final state and is overwritten with the one on the initial state. Returns the
        gradients of the pre-activations on the input and hidden sides (T, B, G*H; the same array
        unless the cell has a hidden bias)."""
        raise NotImplementedError


def _sigmoid_from_tanh(t: np.ndarray) -> None:
    """In place: t = tanh(a / 2) becomes sigmoid(a) = 0.5 * t + 0.5 (two passes, no temporaries)."""
    t *= 0.5
    t += 0.5


class RNN(Recurrent):
    """Vanilla (Elman) RNN: h_t = tanh(x_t W_x + h_{t-1} W_h + b), W_x (D, H), W_h (H, H).

    Backward: da_t = dh_t (1 - h_t^2), where dh_t is the output's gradient plus da_{t+1} W_h^T."""

    def _run(self, xp, hs, state):
        w_h = self.params["W_h"].data
        for t in range(len(xp)):
            h = hs[t + 1]
            np.matmul(hs[t], w_h, out=h)  # written straight into the output array
            h += xp[t]
            np.tanh(h, out=h)
        return (hs[-1].copy(),), ()

    def _run_back(self, grad_tm, hs, cache, dstate, w_h_t):
        (dh,) = dstate
        dxp = hs[1:] * hs[1:]  # tanh' = 1 - h^2, for all steps at once
        np.subtract(1.0, dxp, out=dxp)
        for t in reversed(range(len(grad_tm))):
            dh += grad_tm[t]
            da = dxp[t]
            da *= dh
            np.matmul(da, w_h_t, out=dh)
        return dxp, dxp


class LSTM(Recurrent):
    """Long short-term memory; the columns of W_x (D, 4H), W_h (H, 4H) and b hold the gates i, f, o, g:

        [a_i a_f a_o a_g] = x_t W_x + h_{t-1} W_h + b,  i, f, o = sigma(a_i, a_f, a_o),  g = tanh(a_g),
        c_t = f c_{t-1} + i g,  h_t = o tanh(c_t).

    Backward, dh_t = output gradient + da_{t+1} W_h^T:  dc_t = f_{t+1} dc_{t+1} + dh_t o (1 - tanh^2 c_t),
        da_i = dc g i (1-i),  da_f = dc c_{t-1} f (1-f),  da_o = dh tanh(c_t) o (1-o),  da_g = dc i (1-g^2).
    The forget bias starts at 1 so the cell remembers by default, which helps gradients survive many
    steps early in training.
    """

    n_gates = 4
    n_state = 2

    def __init__(self, input_size: int, hidden_size: int, **kwargs):
        super().__init__(input_size, hidden_size, **kwargs)
        self.params["b"].data[hidden_size : 2 * hidden_size] = 1.0

    def _run(self, xp, hs, state):
        steps, batch, width = xp.shape
        n = self.hidden_size
        # Halve the sigmoid gates' pre-activations, so tanh of the whole row gives tanh(a/2) there.
        xp[:, :, : 3 * n] *= 0.5
        w_h = self.params["W_h"].data.copy()
        w_h[:, : 3 * n] *= 0.5
        recurrent = BlockedProduct(w_h, batch)
        cs = np.empty_like(hs)  # cs[t] is c_{t-1}
        cs[0] = state[1]
        tanh_c = np.empty((steps, batch, n), dtype=xp.dtype)
        hp, ig = np.empty((batch, width), dtype=xp.dtype), np.empty((batch, n), dtype=xp.dtype)
        for t in range(steps):
            a = xp[t]
            recurrent(hs[t], out=hp)
            a += hp
            np.tanh(a, out=a)  # all four gates in one call; a becomes the cache of gate values
            _sigmoid_from_tanh(a[:, : 3 * n])
            i, f, o, g = a[:, :n], a[:, n : 2 * n], a[:, 2 * n : 3 * n], a[:, 3 * n :]
            np.multiply(f, cs[t], out=cs[t + 1])
            np.multiply(i, g, out=ig)
            cs[t + 1] += ig
            np.tanh(cs[t + 1], out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=hs[t + 1])
        return (hs[-1].copy(), cs[-1].copy()), (xp, cs, tanh_c)

    def _run_back(self, grad_tm, hs, cache, dstate, w_h_t):
        gates, cs, tanh_c = cache
        steps, batch, n = grad_tm.shape
        i, f, o, g = (gates[:, :, k * n : (k + 1) * n] for k in range(4))
        # Factors independent of the flowing gradient, for all steps at once, each a contiguous array
        # (a strided operand slows every per-step multiplication):
        #   d a_i = dc * g i (1-i),  d a_f = dc * c_prev f (1-f),  d a_o = dh * tanh_c o (1-o),
        #   d a_g = dc * i (1-g^2),  and dc gains dh * o (1 - tanh_c^2).
        # All six in one allocation, each built by in-place passes straight from its gate's view: no
        # (T, B, 3H) slope temporary and no fresh array per operator.
        to_i, to_f, to_o, to_g, dc_from_h, forget = np.empty((6, steps, batch, n), dtype=gates.dtype)
        for factor, gate, other in ((to_i, i, g), (to_f, f, cs[:-1]), (to_o, o, tanh_c)):
            np.subtract(1.0, gate, out=factor)  # sigma' = s (1 - s)
            factor *= gate
            factor *= other
        np.multiply(g, g, out=to_g)
        np.subtract(1.0, to_g, out=to_g)
        to_g *= i
        np.multiply(tanh_c, tanh_c, out=dc_from_h)
        np.subtract(1.0, dc_from_h, out=dc_from_h)
        dc_from_h *= o
        forget[...] = f
        dxp = np.empty_like(gates)
        dh, dc = dstate
        scratch = np.empty_like(dh)
        recurrent = BlockedProduct(w_h_t, batch)
        for t in reversed(range(steps)):
            dh += grad_tm[t]
            np.multiply(dh, dc_from_h[t], out=scratch)
            dc += scratch
            d = dxp[t]
            np.multiply(dc, to_i[t], out=d[:, :n])
            np.multiply(dc, to_f[t], out=d[:, n : 2 * n])
            np.multiply(dh, to_o[t], out=d[:, 2 * n : 3 * n])
            np.multiply(dc, to_g[t], out=d[:, 3 * n :])
            dc *= forget[t]
            recurrent(d, out=dh)
        return dxp, dxp


class GRU(Recurrent):
    """Gated recurrent unit (PyTorch's formulation), gates r, z, n side by side in W_x (D, 3H), W_h (H, 3H):

        r = sigma(x W_xr + b_r + h W_hr + b_hr),  z = sigma(x W_xz + b_z + h W_hz + b_hz),
        n = tanh(x W_xn + b_n + r (h W_hn + b_hn)),  h_t = (1 - z) n + z h_{t-1}   (h = h_{t-1}).

    Backward: da_n = dh (1-z)(1-n^2),  da_z = dh (h_{t-1} - n) z (1-z),  da_r = da_n hn r (1-r) with
    hn = h W_hn + b_hn; the hidden side of n gets da_n r, and dh_{t-1} = [da_r da_z da_n r] W_h^T + dh z.
    """

    n_gates = 3
    hidden_bias = True

    def _run(self, xp, hs, state):
        steps, batch, width = xp.shape
        n_h = self.hidden_size
        # As in the LSTM: halve the r and z pre-activations so one tanh call serves both sigmoids.
        xp[:, :, : 2 * n_h] *= 0.5
        w_h, b_h = self.params["W_h"].data.copy(), self.params["b_h"].data.copy()
        w_h[:, : 2 * n_h] *= 0.5
        b_h[: 2 * n_h] *= 0.5
        hn = np.empty((steps, batch, n_h), dtype=xp.dtype)  # the hidden side of the candidate, cached
        hp, scratch = np.empty((batch, width), dtype=xp.dtype), np.empty((batch, n_h), dtype=xp.dtype)
        recurrent = BlockedProduct(w_h, batch)
        for t in range(steps):
            recurrent(hs[t], out=hp)
            hp += b_h
            rz, cand = xp[t, :, : 2 * n_h], xp[t, :, 2 * n_h :]
            rz += hp[:, : 2 * n_h]
            np.tanh(rz, out=rz)
            _sigmoid_from_tanh(rz)
            r, z = rz[:, :n_h], rz[:, n_h:]
            hn[t] = hp[:, 2 * n_h :]
            np.multiply(r, hn[t], out=scratch)
            cand += scratch
            np.tanh(cand, out=cand)
            np.subtract(hs[t], cand, out=scratch)  # h = n + z * (h_prev - n)
            scratch *= z
            np.add(cand, scratch, out=hs[t + 1])
        return (hs[-1].copy(),), (xp, hn)

    def _run_back(self, grad_tm, hs, cache, dstate, w_h_t):
        gates, hn = cache
        steps, batch, n_h = grad_tm.shape
        r, z, n = (gates[:, :, k * n_h : (k + 1) * n_h] for k in range(3))
        # Factors independent of the flowing gradient, for all steps at once:
        #   d a_n = dh (1-z)(1-n^2),  d a_r = d a_n * hn r (1-r),  d a_z = dh (h_prev - n) z (1-z).
        to_cand = (1.0 - z) * (1.0 - n * n)
        to_reset = hn * r * (1.0 - r)
        to_update = (hs[:-1] - n) * z * (1.0 - z)
        dxp = np.empty_like(gates)
        dhp = np.empty_like(gates)
        (dh,) = dstate
        direct = np.empty_like(dh)
        recurrent = BlockedProduct(w_h_t, batch)
        for t in reversed(range(steps)):
            dh += grad_tm[t]
            da_n = dxp[t, :, 2 * n_h :]
            np.multiply(dh, to_cand[t], out=da_n)
            np.multiply(da_n, to_reset[t], out=dhp[t, :, :n_h])
            np.multiply(dh, to_update[t], out=dhp[t, :, n_h : 2 * n_h])
            np.multiply(da_n, r[t], out=dhp[t, :, 2 * n_h :])
            np.multiply(dh, z[t], out=direct)
            recurrent(dhp[t], out=dh)
            dh += direct
        dxp[:, :, : 2 * n_h] = dhp[:, :, : 2 * n_h]  # r and z enter both sides alike
        return dxp, dhp


CELLS: dict[str, type[Recurrent]] = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def make_recurrent(
    cell: CellName, input_size: int, hidden_size: int, *, rng: np.random.Generator,
    dtype: np.dtype | type = np.float32,
) -> Recurrent:
    """The recurrent layer for a cell name ("rnn", "lstm" or "gru")."""
    if cell not in CELLS:
        raise ValueError(f"unknown recurrent cell {cell!r}; choose one of {sorted(CELLS)}")
    return CELLS[cell](input_size, hidden_size, rng=rng, dtype=dtype)
