"""model-size in the checker: the learner's counts against the network library's own, then the labs' networks.

Every true count comes from a network built here with labs.nn: parameters are `num_parameters()` of the
built layer (a transformer without biases or with tied embeddings is a TinyGPT with those parameters
removed), multiply-adds come from the built layers' weight shapes (labs.catalog._counting.forward_macs for
the dense ones), memory is the `nbytes` of the built parameters, their gradients, a library Adam's state
after one step, and the activations of a forward pass. A wrong count is matched against the classic
mistakes (biases forgotten, a tied table counted twice, multiply-adds not doubled, Adam as one copy, bits
for bytes) before it is reported as merely different.

Nothing trains: the final stage counts the networks of the labs this node prepares for (the model-size
lab's MLP, the cnn-digits ConvNet, the AI product manager capstone's transformer) with the learner's
functions, layer by layer, and expects them exact (memory within the model-size lab's tolerance).
"""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral

import numpy as np

from labs.catalog import capstone_ai_product_manager as capstone
from labs.catalog import model_size as lab
from labs.catalog._counting import forward_macs, relative_error, weight_bytes
from labs.implement.checks.common import CheckFailed, call, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import model_size as ref
from labs.nn import (MLP, Adam, CausalSelfAttention, Conv2D, ConvNet, Embedding, Layer, LayerNorm, Linear,
                     Sequential, TinyGPT)


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _show(args: tuple) -> str:
    return ", ".join(repr(a) for a in args)


def expect_count(fn: str, args: tuple, got: object, want: int, mistakes: dict[str, int] | None = None,
                 label: str | None = None) -> None:
    """Raise CheckFailed unless `got` is an integer equal to `want`, naming the mistake it matches."""
    where = f"{fn}({_show(args)})" + (f": {label}" if label else "")
    if isinstance(got, bool) or not isinstance(got, Integral):
        kind = type(got).__name__
        whole = isinstance(got, float) and float(got).is_integer()
        raise CheckFailed(f"{where} returned a {kind} ({got!r}); a count is a whole number: return an int"
                          + (" (int(...) or // instead of /)" if whole else ""))
    got = int(got)
    if got == want:
        return
    for message, wrong in (mistakes or {}).items():
        if wrong != want and got == wrong:
            raise CheckFailed(f"{where} returned {got:,}, expected {want:,}: {message}")
    raise CheckFailed(f"{where} returned {got:,}, expected {want:,}{_ratio(got, want)}")


def _ratio(got: int, want: int) -> str:
    if want and got and (got % want == 0 or want % got == 0):
        factor = got // want if got % want == 0 else want // got
        return f" ({factor} times too {'large' if abs(got) > abs(want) else 'small'})"
    return ""


def _each(m: Learner, fn: str, configs: list[tuple], truth: Callable[..., int],
          mistakes: Callable[..., dict[str, int]]) -> str:
    for args in configs:
        expect_count(fn, args, call(m, fn, *args), truth(*args), mistakes(*args))
    return f"right on all {len(configs)} configurations, e.g. {fn}({_show(configs[0])}) = {truth(*configs[0]):,}"


# -- the library's own counts ------------------------------------------------------------------------
def _without(layer: Layer, *names: str) -> Layer:
    for name in names:
        del layer.params[name]
    return layer


def library_linear(d_in: int, d_out: int, bias: bool) -> int:
    return Linear(d_in, d_out, rng=_rng(), bias=bias).num_parameters()


def library_conv2d(c_in: int, c_out: int, kernel: int, bias: bool) -> int:
    return Conv2D(c_in, c_out, kernel, rng=_rng(), bias=bias).num_parameters()


def library_embedding(vocab: int, dim: int) -> int:
    return Embedding(vocab, dim, rng=_rng()).num_parameters()


def library_layernorm(dim: int) -> int:
    return LayerNorm(dim).num_parameters()


def library_attention(dim: int, n_heads: int, bias: bool) -> int:
    attention = CausalSelfAttention(dim, n_heads, rng=_rng())
    return (attention if bias else _without(attention, "b_qkv", "b_proj")).num_parameters()


def library_transformer(vocab: int, context: int, n_layer: int, dim: int, tied: bool, bias: bool) -> TinyGPT:
    """The library's TinyGPT, its Linear biases removed unless `bias`, its head's own matrix removed when
    `tied` (the head then reads the token table, already counted)."""
    model = TinyGPT(vocab, context, n_layer=n_layer, n_head=4, dim=dim, rng=_rng())
    for block in model.children["blocks"].children.values():
        if not bias:
            _without(block.children["attn"], "b_qkv", "b_proj")
            _without(block.children["fc"], "b")
            _without(block.children["proj"], "b")
    head = model.children["head"]
    if tied:
        _without(head, "W")
    if not bias:
        _without(head, "b")
    return model


def library_flops_per_token(vocab: int, context: int, n_layer: int, dim: int, exact: bool) -> int:
    """From the built model: 2 FLOPs per weight of every matrix a token is multiplied by (blocks and
    head), plus attention's two products with all `context` positions; or the 2 N rule over its blocks."""
    model = library_transformer(vocab, context, n_layer, dim, tied=False, bias=True)
    blocks = list(model.children["blocks"].children.values())
    if not exact:
        return 2 * sum(block.num_parameters() for block in blocks)
    flops = 2 * model.children["head"].params["W"].data.size
    for block in blocks:
        attention = block.children["attn"]
        matrices = [attention.params["W_qkv"], attention.params["W_proj"], block.children["fc"].params["W"],
                    block.children["proj"].params["W"]]
        flops += sum(2 * w.data.size for w in matrices)
        width = attention.params["W_proj"].data.shape[0]
        flops += 2 * 2 * context * width  # q . k for every position, then the weighted sum of v
    return flops


def library_activations(sizes: list[int], batch: int, dtype: type = np.float32) -> int:
    """Numbers (or bytes, with `nbytes`) a forward pass of the library's MLP produces: input and outputs."""
    return _forward_arrays(MLP(sizes, rng=_rng(), dtype=dtype), np.zeros((batch, sizes[0]), dtype))[0]


def _forward_arrays(model: MLP, x: np.ndarray) -> tuple[int, int]:
    count, nbytes = x.size, x.nbytes
    for layer in model.children.values():
        x = layer.forward(x)
        count, nbytes = count + x.size, nbytes + x.nbytes
    return count, nbytes


DTYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16}


def library_training_memory(sizes: list[int], batch: int, dtype: str) -> tuple[int, int, int, int]:
    """(weights, gradients, Adam state, activations) in bytes for the library's MLP trained in `dtype`.
    NumPy has no bfloat16: its 2 bytes a number are the documented format's, not measured."""
    if dtype == "bfloat16":  # the same 2 bytes a number as float16
        return library_training_memory(sizes, batch, "float16")
    model = MLP(sizes, rng=_rng(), dtype=DTYPES[dtype])
    params = model.parameters()
    adam = Adam(params)
    with np.errstate(all="ignore"):  # zero gradients: float16's eps underflows to 0/0, harmless here
        adam.step()  # allocates its moments
    state = sum(v.nbytes for k, v in adam.state_dict().items() if k.startswith("buffer."))
    _, activations = _forward_arrays(model, np.zeros((batch, sizes[0]), DTYPES[dtype]))
    return (sum(p.data.nbytes for p in params), sum(p.grad.nbytes for p in params), state, activations)


# -- parameters -----------------------------------------------------------------------------------------
def check_linear(m: Learner) -> str:
    return _each(m, "linear_parameters", [(64, 128, True), (784, 128, True), (128, 64, False), (3, 7, True)],
                 library_linear, lambda i, o, bias: {
                     "the bias is missing: one bias per output feature": i * o,
                     "the bias has one number per OUTPUT feature, not per input": i * o + i,
                     "bias=False: this layer has no bias, count only its weights": i * o + o,
                 })


def check_conv2d(m: Learner) -> str:
    return _each(m, "conv2d_parameters", [(1, 8, 3, True), (8, 16, 3, True), (3, 32, 5, False), (16, 4, 1, True)],
                 library_conv2d, lambda ci, co, k, bias: {
                     "each filter spans every input channel: c_in x k x k weights per output channel":
                         co * k * k + (co if bias else 0),
                     "the bias is missing: one per output channel": co * ci * k * k,
                     "bias=False: this convolution has no bias": co * ci * k * k + co,
                     "the bias has one number per output channel, not per input channel": co * ci * k * k + ci,
                 })


def check_embedding(m: Learner) -> str:
    return _each(m, "embedding_parameters", [(65, 32), (50257, 12), (10, 1)], library_embedding,
                 lambda v, d: {"an embedding has no bias: just one vector per token": v * d + d})


def check_layernorm(m: Learner) -> str:
    return _each(m, "layernorm_parameters", [(64,), (768,), (1,)], library_layernorm,
                 lambda d: {"a LayerNorm learns a scale AND a shift per feature": d})


def _attention_mistakes(dim: int, heads: int, bias: bool) -> dict[str, int]:
    right = ref.attention_parameters(dim, heads, bias)
    return {
        "the number of heads does not change the parameters: the heads split the width, each sees "
        "dim / n_heads of the same projections": right * heads,
        "the output projection (a Linear from dim to dim) is missing": ref.linear_parameters(dim, 3 * dim, bias),
        "the biases of the two Linear layers are missing": ref.attention_parameters(dim, heads, False),
        "bias=False: the projections have no biases": ref.attention_parameters(dim, heads, True),
    }


def check_attention(m: Learner) -> str:
    return _each(m, "attention_parameters", [(64, 4, True), (48, 3, False), (128, 8, True), (8, 1, True)],
                 library_attention, _attention_mistakes)


def _transformer_mistakes(vocab: int, context: int, n_layer: int, dim: int, tied: bool, bias: bool) -> dict:
    right = ref.transformer_parameters(vocab, context, n_layer, dim, tied, bias)
    mistakes = {}
    if tied:
        mistakes["with tied embeddings the head reads the token embedding table: it is one table, count it "
                 "once"] = ref.transformer_parameters(vocab, context, n_layer, dim, False, bias)
        if bias:
            mistakes["tied: the head's bias is still its own (only its matrix is shared)"] = right - vocab
    else:
        mistakes["the output head (dim -> vocab) is missing"] = right - ref.linear_parameters(dim, vocab, bias)
    if bias:
        mistakes["the biases are missing (attention's two Linears, the MLP's two and the head each have "
                 "one)"] = ref.transformer_parameters(vocab, context, n_layer, dim, tied, False)
        mistakes["the blocks' biases are missing"] = right - n_layer * 9 * dim
    else:
        mistakes["bias=False: no Linear layer has a bias (the LayerNorms keep their scale and shift)"] = \
            ref.transformer_parameters(vocab, context, n_layer, dim, tied, True)
    mistakes.update({
        "the position embedding (context x dim) is missing": right - context * dim,
        "the LayerNorms are missing (two per block and a final one, each a scale and a shift)":
            right - (2 * n_layer + 1) * 2 * dim,
        "the final LayerNorm is missing": right - 2 * dim,
        "the MLP is 4 times wider than the model: dim -> 4 dim -> dim": right - n_layer * 6 * dim * dim,
    })
    return mistakes


TRANSFORMERS = [(50, 16, 2, 32, False, True), (50, 16, 2, 32, True, True), (50, 16, 2, 32, False, False),
                (97, 64, 3, 48, True, False), (65, 128, 1, 16, True, True)]


def check_transformer(m: Learner) -> str:
    return _each(m, "transformer_parameters", TRANSFORMERS,
                 lambda *args: library_transformer(*args).num_parameters(), _transformer_mistakes)


# -- compute --------------------------------------------------------------------------------------------
def library_matmul(rows: int, inner: int, cols: int) -> int:
    """A Linear without bias applied to `rows` vectors is the (rows, inner) @ (inner, cols) product."""
    return 2 * forward_macs(Sequential(Linear(inner, cols, rng=_rng(), bias=False)), (rows, inner))


def check_matmul(m: Learner) -> str:
    return _each(m, "matmul_flops", [(1, 64, 128), (32, 784, 128), (7, 3, 5)], library_matmul,
                 lambda r, k, c: {
                     "that is the multiply-adds; each multiply-add is 2 FLOPs (a multiply and an add)": r * k * c,
                     "close: the convention counts k multiply-adds per output number, 2 FLOPs each":
                         (2 * k - 1) * r * c,
                 })


def _flops_mistakes(vocab: int, context: int, n_layer: int, dim: int, exact: bool) -> dict[str, int]:
    rule = ref.transformer_flops_per_token(vocab, context, n_layer, dim, False)
    right = ref.transformer_flops_per_token(vocab, context, n_layer, dim, True)
    every_parameter = 2 * ref.transformer_parameters(vocab, context, n_layer, dim, False, True)
    if not exact:
        return {
            "the 2 N rule counts the non-embedding parameters, the blocks only (as the scaling-laws lab)":
                every_parameter,
            "that is the multiply-adds: the 2 N rule is 2 FLOPs per parameter": rule // 2,
            "6 N is the TRAINING rule (forward and backward); the forward pass is 2 N": 3 * rule,
            "N counts every parameter of the blocks: their biases and LayerNorms too":
                2 * n_layer * (12 * dim * dim + 4 * dim),
            "N counts every parameter of the blocks, not only the weight matrices (biases, LayerNorms)":
                2 * n_layer * 12 * dim * dim,
        }
    context_term = n_layer * 4 * context * dim
    return {
        "attention's context term is missing: each query is multiplied with all `context` keys, and the "
        "scores with all `context` values, in every layer": right - context_term,
        "only one of attention's two products is counted: the scores q.k AND their weighted sum of v":
            right - context_term // 2,
        "the causal mask's saving is counted: ignore it, every query against all `context` positions":
            right - context_term // 2 + n_layer * 2 * dim,
        "that is the multiply-adds; each is 2 FLOPs": right // 2,
        "the output head's product (dim -> vocab) is missing": right - 2 * dim * vocab,
        "that is the 2 N rule; exact=True counts every matrix product, attention's included": rule,
    }


def check_transformer_flops(m: Learner) -> str:
    configs = [(65, 64, 2, 32, True), (50, 1024, 2, 16, True), (65, 128, 4, 128, True), (65, 64, 2, 32, False),
               (65, 128, 4, 128, False)]
    return _each(m, "transformer_flops_per_token", configs, library_flops_per_token, _flops_mistakes)


def check_training_flops(m: Learner) -> str:
    n = TinyGPT.count_parameters(capstone.VOCAB, capstone.CONTEXT, capstone.LAYERS, capstone.DIM)
    got = call(m, "training_flops", 2 * n, capstone.TOKENS)
    # the capstone's own rule: 6 FLOPs per parameter per token, from 2 N forward
    expect_count("training_flops", (2 * n, capstone.TOKENS), got, int(6 * n * capstone.TOKENS),
                 _training_mistakes(2 * n, capstone.TOKENS))
    return _each(m, "training_flops", [(1000, 10), (24_576, 300_000)], ref.training_flops, _training_mistakes)


def _training_mistakes(per_token: int, tokens: int) -> dict[str, int]:
    return {
        "the backward pass costs about TWICE the forward, so training is forward + backward = 3 x forward":
            2 * per_token * tokens,
        "6 x is per PARAMETER (6 N D); given forward FLOPs per token (2 N), training is 3 times that":
            6 * per_token * tokens,
        "multiply by the number of tokens: every token goes forward and backward": 3 * per_token,
        "the backward pass is missing: training is forward AND backward": per_token * tokens,
    }


# -- memory -----------------------------------------------------------------------------------------------
def check_activations(m: Learner) -> str:
    return _each(m, "mlp_activations", [([64, 128, 64, 10], 32), ([5, 3], 4), ([10, 20, 30, 40, 5], 7)],
                 library_activations, lambda sizes, batch: {
                     "the ReLUs' outputs are kept too (a ReLU after every Linear but the last)":
                         batch * sum(sizes),
                     "that is one example: every example of the batch keeps its own activations":
                         library_activations(sizes, 1),
                     "the input batch is kept too (the first Linear needs it for its weight gradient)":
                         library_activations(sizes, batch) - batch * sizes[0],
                 })


COMPONENTS = ("weights", "gradients", "optimizer", "activations")


def check_memory(m: Learner) -> str:
    configs = [(list(lab.SIZES), 32, "float32"), ([64, 128, 64, 10], 32, "float16"), ([5, 7, 3], 4, "float64"),
               ([10, 20, 10], 8, "bfloat16")]
    for sizes, batch, dtype in configs:
        n_params = MLP(sizes, rng=_rng()).num_parameters()
        n_act = library_activations(sizes, batch)
        args = (n_params, n_act, dtype)
        got = unpack("training_memory_bytes", call(m, "training_memory_bytes", *args), COMPONENTS)
        want = library_training_memory(sizes, batch, dtype)
        size = want[0] // n_params
        for name, value, right in zip(COMPONENTS, got, want):
            count = n_act if name == "activations" else n_params
            mistakes = {f"that is bits, not bytes: a {dtype} number takes {size} bytes ({8 * size} bits)": 8 * right}
            if name == "optimizer":
                mistakes["Adam keeps TWO numbers per weight (the moving averages m and v), not one"] = right // 2
            if size != 4:
                mistakes[f"a {dtype} number takes {size} bytes, not 4"] = (2 if name == "optimizer" else 1) * count * 4
            expect_count("training_memory_bytes", args, value, right, mistakes, label=name)
    return (f"right for {len(configs)} networks and dtypes, e.g. 64-128-64-10 in float32 with a batch of 32: "
            f"{sum(library_training_memory(list(lab.SIZES), 32, 'float32')):,} bytes")


CHECKS = {
    "forward:linear_parameters": check_linear,
    "forward:conv2d_parameters": check_conv2d,
    "forward:embedding_parameters": check_embedding,
    "forward:layernorm_parameters": check_layernorm,
    "forward:attention_parameters": check_attention,
    "forward:transformer_parameters": check_transformer,
    "forward:matmul_flops": check_matmul,
    "forward:transformer_flops_per_token": check_transformer_flops,
    "forward:training_flops": check_training_flops,
    "forward:mlp_activations": check_activations,
    "forward:training_memory_bytes": check_memory,
}


# -- the final stage: the labs' networks, counted with the learner's functions --------------------------
def _count_layers(m: Learner, model: Layer) -> int:
    """The learner's parameter count of a Sequential, one call per layer that has parameters."""
    s = m.batch()
    parts = []
    for layer in model.children.values():
        if isinstance(layer, Linear):
            parts.append(s.linear_parameters(layer.in_features, layer.out_features, "b" in layer.params))
        elif isinstance(layer, Conv2D):
            parts.append(s.conv2d_parameters(layer.in_channels, layer.out_channels, layer.kernel_size,
                                             "b" in layer.params))
    return _int_sum(s.run(*parts))


def _int_sum(values: tuple) -> int:
    if not all(isinstance(v, Integral) and not isinstance(v, bool) for v in values):
        raise CheckFailed("your counting functions must return ints")
    return int(sum(int(v) for v in values))


def _mlp_flops(m: Learner, model: MLP) -> int:
    s = m.batch()
    return _int_sum(s.run(*(s.matmul_flops(1, a, b) for a, b in zip(model.sizes[:-1], model.sizes[1:]))))


def train(m: Learner, budget_s: float, report=None) -> tuple[float, str, dict[str, float]]:
    """Count the model-size lab's MLP, the cnn-digits ConvNet and the capstone's transformer with the
    learner's functions; each network is one third of the stage."""
    del budget_s  # counting takes milliseconds
    results: list[tuple[str, bool, str]] = []
    metrics: dict[str, float] = {}

    mlp = MLP(list(lab.SIZES), rng=_rng())
    params, flops = _count_layers(m, mlp), _mlp_flops(m, mlp)
    memory = unpack("training_memory_bytes", call(m, "training_memory_bytes", params, 0, "float32"), COMPONENTS)
    weights_kb = _int_sum(memory[:1]) / 1000
    truth = {"parameters": mlp.num_parameters(), "flops": 2 * forward_macs(mlp, (lab.SIZES[0],)),
             "memory_kb": weight_bytes(mlp) / 1000}
    memory_error = relative_error(weights_kb, truth["memory_kb"])
    metrics.update(mlp_parameters_error=relative_error(params, truth["parameters"]),
                   mlp_flops_error=relative_error(flops, truth["flops"]), mlp_memory_error=memory_error)
    ok = params == truth["parameters"] and flops == truth["flops"] and memory_error <= lab.COST_TOL
    results.append(("the model-size lab's 64-128-64-10 MLP", ok,
                    f"{params:,} parameters (library {truth['parameters']:,}), {flops:,} FLOPs per image "
                    f"(library {truth['flops']:,}), weights {weights_kb:,.3f} kB (library {truth['memory_kb']:,.3f})"))
    _progress(report, 1, metrics)

    convnet = ConvNet(rng=_rng())
    params = _count_layers(m, convnet)
    metrics["convnet_parameters_error"] = relative_error(params, convnet.num_parameters())
    results.append(("the cnn-digits ConvNet", params == convnet.num_parameters(),
                    f"{params:,} parameters (library {convnet.num_parameters():,})"))
    _progress(report, 2, metrics)

    gpt = TinyGPT(capstone.VOCAB, capstone.CONTEXT, n_layer=capstone.LAYERS, n_head=capstone.HEADS,
                  dim=capstone.DIM, rng=_rng())
    shape = (capstone.VOCAB, capstone.CONTEXT, capstone.LAYERS, capstone.DIM)
    s = m.batch()
    count = s.transformer_parameters(*shape, False, True)
    compute = s.training_flops(s.transformer_flops_per_token(*shape, False), capstone.TOKENS)
    n, train_flops, memory = s.run(count, compute, s.training_memory_bytes(count, 0, "float32"))
    n, memory_mb = _int_sum((n,)), _int_sum(tuple(unpack("training_memory_bytes", memory, COMPONENTS))[:3]) / 1e6
    truth_n = gpt.num_parameters()
    truth_mb = truth_n * capstone.BYTES_PER_PARAM / 1e6  # the capstone's: float32 weights, gradients, m, v
    metrics.update(gpt_parameters_error=relative_error(n, truth_n),
                   gpt_memory_error=relative_error(memory_mb, truth_mb))
    ok = n == truth_n and relative_error(memory_mb, truth_mb) <= capstone.COST_TOL
    results.append(("the capstone's transformer", ok,
                    f"{n:,} parameters (library {truth_n:,}), {float(train_flops):.3g} training FLOPs on "
                    f"{capstone.TOKENS:,} tokens by the 2 N rule, {memory_mb:,.2f} MB for weights, gradients "
                    f"and Adam (the capstone's {truth_mb:,.2f} MB)"))
    _progress(report, 3, metrics)

    passed = sum(ok for _, ok, _ in results)
    metrics["networks_counted"] = float(passed)
    lines = "; ".join(f"{name}: {'right' if ok else 'WRONG'}, {detail}" for name, ok, detail in results)
    return passed / len(results), f"{passed} of {len(results)} networks counted right: {lines}", metrics


def _progress(report, step: int, metrics: dict[str, float]) -> None:
    if report is not None:
        report(step, 3, dict(metrics))

