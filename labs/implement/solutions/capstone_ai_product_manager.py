"""capstone-ai-product-manager: the back-of-the-envelope estimates behind a model's business case, written by
you: its size, its training compute, time and money, its training memory, and its serving latency.

No network trains here: the grader builds the library's TinyGPT for the capstone's proposal (and for two
other sizes) and counts its real parameters, then judges YOUR estimates against the truth within the
capstone's tolerances (parameters 10 %, compute and memory 25 %). Each function is first checked on fixed
inputs, with the classic mistakes named.

Conventions. A GPT of n_layer blocks of width dim has an MLP 4 x dim wide, learned token and position
embeddings and an output layer (lesson "AI product manager", "Sizing a model"). Counts are Python ints or
floats, money in dollars, time in hours, memory in MB (10**6 bytes), latency in milliseconds.
NumPy and the standard library only.
Grade with `pathlab lab grade capstone-ai-product-manager`; stuck? `pathlab lab hint capstone-ai-product-manager`.
"""


def estimate_parameters(vocab, context, n_layer, dim):
    """About how many parameters the GPT has: every block's attention and MLP weight matrices, the token
    and position embeddings and the output layer (biases and LayerNorms are small enough to leave out).
    Returns a Python int."""
    per_block = 4 * dim * dim + 2 * 4 * dim * dim
    return int(n_layer * per_block + vocab * dim + context * dim + dim * vocab)


def training_cost(n_params, tokens, flops_per_second, dollars_per_hour):
    """Training compute and what it costs: (FLOPs, hours, dollars) for `tokens` training tokens on hardware
    that sustains flops_per_second and is rented at dollars_per_hour. Use the standard rule for the FLOPs of
    a training token (forward and backward pass). Returns three Python floats."""
    flops = 6.0 * n_params * tokens
    hours = flops / flops_per_second / 3600.0
    return flops, hours, hours * dollars_per_hour


def training_memory_mb(n_params, bytes_per_number):
    """The memory of training with Adam, activations left out: weights, their gradients and Adam's two
    moment buffers, each one number per parameter of bytes_per_number bytes, in MB (10**6 bytes)."""
    return 4 * n_params * bytes_per_number / 1e6


def serving_latency_ms(n_params, tokens_out, flops_per_second):
    """How long generating `tokens_out` tokens takes, one forward pass per token (the standard rule for the
    FLOPs of a forward pass per token), on hardware sustaining flops_per_second, in milliseconds."""
    return 2.0 * n_params * tokens_out / flops_per_second * 1000.0
