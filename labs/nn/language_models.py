"""Character language models: a recurrent one (CharRNN) and a small transformer (TinyGPT).

Both map token ids (B, T) to next-token logits (B, T, V), train with `SequenceCrossEntropy`, expose
`backward(dlogits)` (token ids have no gradient, so it returns None) and `generate(idx, n, rng,
temperature)` to sample text. Each has a closed-form `count_parameters` that the tests hold equal to
the built model, so a learner can check an estimate by hand.

`generate` reuses the forward pass, so it overwrites the cached activations: call it between training
steps, never between a forward and its backward.
"""

from __future__ import annotations

import numpy as np

from labs.nn.attention import TransformerBlock, normal_linear
from labs.nn.core import Layer
from labs.nn.embedding import Embedding, check_indices
from labs.nn.layers import Linear, Sequential
from labs.nn.losses import softmax
from labs.nn.normalization import LayerNorm
from labs.nn.recurrent import CELLS, CellName, State, make_recurrent


def sample_next(logits: np.ndarray, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
    """One token id per row of `logits` (B, V): a draw from softmax(logits / temperature); 0 is argmax."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return logits.argmax(axis=-1)
    cumulative = softmax(logits.astype(np.float64) / temperature).cumsum(axis=-1)
    draws = rng.random((logits.shape[0], 1))
    return np.minimum((cumulative < draws).sum(axis=-1), logits.shape[-1] - 1)


def _check_prompt(idx: np.ndarray, n: int) -> np.ndarray:
    idx = np.asarray(idx)
    if idx.ndim != 2 or idx.shape[1] == 0:
        raise ValueError(f"generate needs a prompt of token ids (batch, time >= 1), got shape {idx.shape}")
    if n < 0:
        raise ValueError(f"number of tokens to generate must be >= 0, got {n}")
    return idx


class CharRNN(Layer):
    """Embedding (or one-hot) -> recurrent layer -> linear head over the vocabulary.

    With `embedding_dim=None` the input is one-hot: the recurrent layer reads eye(V)[idx], so its input
    projection one_hot @ W_x simply selects row idx of W_x. That is exactly an embedding whose table
    is W_x; the one-hot model is the embedding model with the table folded into the input weights.
    Either way the recurrent layer reads the token ids (`Recurrent.forward_tokens`): the embedding's
    table is folded into the input projection, one row per token, rather than looked up per position.
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        *,
        cell: CellName = "lstm",
        embedding_dim: int | None = None,
        rng: np.random.Generator,
        dtype: np.dtype | type = np.float32,
    ):
        super().__init__()
        self.vocab_size, self.embedding_dim = vocab_size, embedding_dim
        input_size = vocab_size
        if embedding_dim is not None:
            self.children["embed"] = Embedding(vocab_size, embedding_dim, rng=rng, std=1.0, dtype=dtype)
            input_size = embedding_dim
        self.children["rnn"] = make_recurrent(cell, input_size, hidden_size, rng=rng, dtype=dtype)
        self.children["head"] = Linear(hidden_size, vocab_size, rng=rng, init="xavier_uniform", dtype=dtype)

    @staticmethod
    def count_parameters(vocab_size: int, hidden_size: int, cell: CellName, embedding_dim: int | None = None) -> int:
        """Embedding V*E (if any) + recurrent layer (see `Recurrent.count_parameters`) + head H*V + V."""
        input_size = vocab_size if embedding_dim is None else embedding_dim
        embedding = 0 if embedding_dim is None else vocab_size * embedding_dim
        recurrent = CELLS[cell].count_parameters(input_size, hidden_size)
        return embedding + recurrent + hidden_size * vocab_size + vocab_size

    @property
    def final_state(self) -> State | None:
        return self.children["rnn"].final_state

    def forward(self, idx: np.ndarray, initial_state: State | None = None) -> np.ndarray:
        idx = check_indices(idx, self.vocab_size)
        table = self.children["embed"].params["W"].data if "embed" in self.children else None
        hidden = self.children["rnn"].forward_tokens(idx, table, initial_state=initial_state)
        # The head reads the hidden states time-major, (T, B, H), as the recurrent layer holds them (no
        # copy); the logits go back as a (B, T, V) view.
        return self.children["head"].forward(hidden.transpose(1, 0, 2)).transpose(1, 0, 2)

    def backward(self, grad_logits: np.ndarray) -> None:
        grad_hidden = self.children["head"].backward(grad_logits.transpose(1, 0, 2))
        grad_table = self.children["rnn"].backward(grad_hidden.transpose(1, 0, 2))
        if "embed" in self.children:
            weight = self.children["embed"].params["W"]
            weight.grad += grad_table.astype(weight.grad.dtype, copy=False)
        return None

    def generate(self, idx: np.ndarray, n: int, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
        """The prompt (B, T) followed by n sampled tokens; the state is carried, one step per token."""
        idx = _check_prompt(idx, n)
        out = [idx]
        logits = self.forward(idx)[:, -1]
        for _ in range(n):
            token = sample_next(logits, rng, temperature)[:, None]
            out.append(token)
            logits = self.forward(token, initial_state=self.final_state)[:, -1]
        return np.concatenate(out, axis=1)


class TinyGPT(Layer):
    """Token + learned position embeddings -> n_layer pre-norm blocks -> final LayerNorm -> linear head.

    GPT-2's initialisation: every weight N(0, 0.02^2), and the projections that write into the residual
    stream scaled down by sqrt(2 * n_layer) so the stream's variance does not grow with depth.
    """

    def __init__(
        self,
        vocab_size: int,
        context: int,
        *,
        n_layer: int = 2,
        n_head: int = 4,
        dim: int = 64,
        rng: np.random.Generator,
        dtype: np.dtype | type = np.float32,
    ):
        super().__init__()
        self.vocab_size, self.context = vocab_size, context
        std, proj_std = 0.02, 0.02 / np.sqrt(2 * n_layer)
        self.children["tok"] = Embedding(vocab_size, dim, rng=rng, std=std, dtype=dtype)
        self.children["pos"] = Embedding(context, dim, rng=rng, std=std, dtype=dtype)
        self.children["blocks"] = Sequential(
            *(TransformerBlock(dim, n_head, rng=rng, std=std, proj_std=proj_std, dtype=dtype) for _ in range(n_layer))
        )
        self.children["ln_f"] = LayerNorm(dim, dtype=dtype)
        self.children["head"] = normal_linear(dim, vocab_size, std, rng, dtype)

    @staticmethod
    def count_parameters(vocab_size: int, context: int, n_layer: int, dim: int) -> int:
        """V*C + context*C (embeddings) + n_layer * (12C^2 + 13C) + 2C (final LN) + C*V + V (head)."""
        return (vocab_size * dim + context * dim + n_layer * TransformerBlock.count_parameters(dim)
                + 2 * dim + dim * vocab_size + vocab_size)

    def forward(self, idx: np.ndarray) -> np.ndarray:
        idx = check_indices(idx, self.vocab_size)
        if idx.ndim != 2 or not 1 <= idx.shape[1] <= self.context:
            raise ValueError(
                f"TinyGPT reads token ids (batch, time) with 1 <= time <= context {self.context}, got shape {idx.shape}"
            )
        c = self.children
        x = c["tok"].forward(idx) + c["pos"].forward(np.arange(idx.shape[1]))
        return c["head"].forward(c["ln_f"].forward(c["blocks"].forward(x)))

    def backward(self, grad_logits: np.ndarray) -> None:
        c = self.children
        grad = c["blocks"].backward(c["ln_f"].backward(c["head"].backward(grad_logits)))
        c["tok"].backward(grad)
        c["pos"].backward(grad.sum(axis=0))
        return None

    def generate(self, idx: np.ndarray, n: int, rng: np.random.Generator, temperature: float = 1.0) -> np.ndarray:
        """The prompt (B, T) followed by n sampled tokens, each conditioned on the last `context` tokens."""
        idx = _check_prompt(idx, n)
        for _ in range(n):
            logits = self.forward(idx[:, -self.context :])[:, -1]
            idx = np.concatenate([idx, sample_next(logits, rng, temperature)[:, None]], axis=1)
        return idx
