"""model-size: count a described network's parameters, FLOPs and memory, written by you.

Nothing trains here: your functions are the arithmetic of the lesson "What AI large models are" (its
"Three kinds of scale" and "Common mistakes"). The grader builds the same layers with the network library
(labs.nn) and compares your counts with theirs on several sizes, then uses your functions to count the
networks of the model-size lab (the 64 -> 128 -> 64 -> 10 MLP), the cnn-digits ConvNet and the language
model of the AI product manager's capstone, which must come out exact.

Conventions. Every count is a plain Python int (bytes and FLOPs too), never a float or a NumPy array.
`bias` says whether each Linear (or Conv2D) layer has its bias vector. One FLOP is one floating-point
multiply or add, so a multiply-add is 2 FLOPs.

The transformer is the library's TinyGPT, GPT-2 style, of width C:
    a token embedding (vocab x C) and a learned position embedding (context x C);
    n_layer pre-norm blocks, each  LayerNorm -> causal self-attention -> LayerNorm -> MLP,
        attention = one Linear C -> 3C (queries, keys and values at once) and one Linear C -> C
        (the output projection), for any number of heads; MLP = Linear C -> 4C, GELU, Linear 4C -> C;
    a final LayerNorm and an output head, Linear C -> vocab.
With `tied` embeddings the head multiplies by the token embedding table (transposed) instead of a matrix
of its own; its bias, if biases are on, is still its own.

Grade with `pathlab lab grade model-size`; stuck? `pathlab lab hint model-size`.
"""


# -- parameters -------------------------------------------------------------------------------------
def linear_parameters(d_in, d_out, bias):
    """Parameters of a dense layer from d_in to d_out features (weights, plus the bias when `bias`)."""
    return d_in * d_out + (d_out if bias else 0)


def conv2d_parameters(c_in, c_out, kernel, bias):
    """Parameters of a 2-D convolution from c_in to c_out channels with square kernel x kernel filters.

    Each output channel has one filter that looks at every input channel, and (with `bias`) one bias.
    The image size, stride and padding do not matter: the same filters slide over every position.
    """
    return c_out * c_in * kernel * kernel + (c_out if bias else 0)


def embedding_parameters(vocab, dim):
    """Parameters of an embedding table: one learned vector of `dim` numbers per token of the vocabulary."""
    return vocab * dim


def layernorm_parameters(dim):
    """Parameters of a LayerNorm over `dim` features: its learned scale and shift (gamma and beta)."""
    return 2 * dim


def attention_parameters(dim, n_heads, bias):
    """Parameters of one causal self-attention layer of width `dim` with `n_heads` heads (see the module
    docstring: the query/key/value Linear and the output projection). n_heads divides dim."""
    return linear_parameters(dim, 3 * dim, bias) + linear_parameters(dim, dim, bias)


def transformer_parameters(vocab, context, n_layer, dim, tied, bias):
    """Every parameter of the transformer described in the module docstring, counted once.

    `tied`: the head reuses the token embedding table, which is then still one table. `bias`: whether
    the Linear layers (attention's two, the MLP's two and the head) have biases; LayerNorms always keep
    their scale and shift.
    """
    head = (vocab if bias else 0) if tied else linear_parameters(dim, vocab, bias)
    return (embedding_parameters(vocab, dim) + embedding_parameters(context, dim)
            + n_layer * _block_parameters(dim, bias) + layernorm_parameters(dim) + head)


def _block_parameters(dim, bias):
    mlp = linear_parameters(dim, 4 * dim, bias) + linear_parameters(4 * dim, dim, bias)
    return 2 * layernorm_parameters(dim) + attention_parameters(dim, 1, bias) + mlp


# -- compute --------------------------------------------------------------------------------------------
def matmul_flops(m, k, n):
    """FLOPs of the matrix product of an (m, k) matrix with a (k, n) one (the lesson's "Compute")."""
    return 2 * m * k * n


def transformer_flops_per_token(vocab, context, n_layer, dim, exact):
    """FLOPs of the transformer's forward pass per token, for a sequence of `context` tokens.

    exact=False: the "2 N" rule of the lessons, with N the non-embedding parameters as the scaling-laws
    lab counts them: the n_layer blocks' parameters only (no embeddings, final LayerNorm or head).
    exact=True: count every matrix product of the forward pass at 2 FLOPs per multiply-add: the products
    with each block's weight matrices and with the head's, and attention's two products in every layer
    (the scores of the queries against the keys, and the scores' weighted sum of the values), each of the
    `context` queries against all `context` positions (ignore what the causal mask could save). Leave
    out biases, LayerNorms, GELU, softmax and embedding lookups: they are lower order. The exact count
    is the same with or without tied embeddings (the head's product happens either way).
    """
    if not exact:
        return 2 * n_layer * _block_parameters(dim, True)
    per_block = (matmul_flops(1, dim, 3 * dim) + matmul_flops(1, dim, dim) + matmul_flops(1, dim, 4 * dim)
                 + matmul_flops(1, 4 * dim, dim))
    attention = 2 * matmul_flops(1, dim, context)  # per token: its scores, then its weighted sum
    return n_layer * (per_block + attention) + matmul_flops(1, dim, vocab)


def training_flops(flops_per_token, tokens):
    """FLOPs of training on `tokens` tokens, given the forward FLOPs per token: the forward pass plus the
    backward pass (the lesson's rule of thumb for what the backward costs compared with the forward)."""
    return 3 * flops_per_token * tokens


# -- memory ---------------------------------------------------------------------------------------------
def mlp_activations(sizes, batch):
    """How many numbers a training step of the library's MLP holds for the backward pass, for `batch`
    examples.

    `sizes` lists the layer widths, input first (e.g. [64, 128, 64, 10]): a Linear between each pair,
    and a ReLU after every Linear but the last. Training keeps the input batch and the output of every
    layer (each Linear's and each ReLU's) until the backward pass has used it.
    """
    hidden = sum(sizes[1:-1])
    return batch * (sizes[0] + 2 * hidden + sizes[-1])


def training_memory_bytes(n_params, n_activations, dtype):
    """Bytes of memory to train a network of n_params parameters with Adam, holding n_activations
    numbers of activations, everything stored in `dtype`: one of "float64", "float32", "float16" or
    "bfloat16".

    Returns (weights, gradients, optimizer, activations), each in bytes (not bits), where `optimizer`
    is Adam's state: see the lesson on what Adam keeps per weight.
    """
    size = _bytes_per_number(dtype)
    return n_params * size, n_params * size, 2 * n_params * size, n_activations * size


def _bytes_per_number(dtype):
    sizes = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2}
    if dtype not in sizes:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(sizes)}")
    return sizes[dtype]
