"""capstone-ai-product-manager in the checker: the learner's size, cost, memory and latency estimates on
fixed inputs, then judged against the library's TinyGPT built for the capstone's proposal and two other
sizes, within the capstone's tolerances. No network trains: the "training" stage is the business case.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labs.catalog.capstone_ai_product_manager import (BYTES_PER_PARAM, CONTEXT, COST_TOL, DIM, HEADS, LAYERS,
                                                      PARAM_TOL, TOKENS, VOCAB)
from labs.implement.checks.common import CheckFailed, call, expect_array, unpack
from labs.implement.remote import Learner
from labs.implement.solutions import capstone_ai_product_manager as ref
from labs.nn.language_models import TinyGPT

Report = Callable[[int, int, dict[str, float]], None]
CONFIGS = ((VOCAB, CONTEXT, LAYERS, HEADS, DIM), (65, 64, 2, 2, 64), (1000, 256, 6, 8, 256))
"""(vocab, context, n_layer, n_head, dim): the capstone's proposal first, then a smaller and a larger one"""
FLOPS_PER_S, DOLLARS_PER_HOUR, TOKENS_OUT = 1e12, 2.5, 200


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise CheckFailed(f"{name} should be a Python number, got {type(value).__name__}")
    return float(value)


def _true_parameters(vocab: int, context: int, n_layer: int, n_head: int, dim: int) -> int:
    model = TinyGPT(vocab, context, n_layer=n_layer, n_head=n_head, dim=dim, rng=np.random.default_rng(0))
    return model.num_parameters()


def _size_mistakes(vocab: int, context: int, n_layer: int, dim: int) -> dict[str, float]:
    emb = vocab * dim + context * dim
    return {
        "the MLP is counted as dim x dim matrices; it is 4 x dim wide, so each of its two matrices has 4 dim**2":
            n_layer * 6 * dim * dim + emb + dim * vocab,
        "the MLP is missing: each block also has two matrices of 4 dim**2": n_layer * 4 * dim * dim + emb + dim * vocab,
        "only one block is counted: multiply the block's weights by n_layer": 12 * dim * dim + emb + dim * vocab,
        "the embeddings and the output layer are missing; at a small width they are a large share":
            n_layer * 12 * dim * dim,
        "the position embeddings (context x dim) are missing": n_layer * 12 * dim * dim + vocab * dim + dim * vocab,
    }


def _judge_size(m: Learner, cfg: tuple[int, ...]) -> tuple[float, int]:
    vocab, context, n_layer, n_head, dim = cfg
    got = _number("estimate_parameters", call(m, "estimate_parameters", vocab, context, n_layer, dim))
    truth = _true_parameters(*cfg)
    error = abs(got - truth) / truth
    if error <= PARAM_TOL:
        return got, truth
    for why, wrong in _size_mistakes(vocab, context, n_layer, dim).items():
        if abs(got - wrong) <= 0.01 * wrong:
            break
    else:
        why = "count each block's attention and MLP matrices, the two embeddings and the output layer"
    raise CheckFailed(f"estimate_parameters(vocab={vocab}, context={context}, n_layer={n_layer}, dim={dim}) is "
                      f"{got:,.0f}, the built model has {truth:,} ({100 * error:.0f} % off, allowed "
                      f"{100 * PARAM_TOL:.0f} %): {why}")


def check_estimate_parameters(m: Learner) -> str:
    results = [_judge_size(m, cfg) for cfg in CONFIGS]
    worst = max(abs(g - t) / t for g, t in results)
    return f"within {100 * worst:.1f} % of the built model at three sizes"


def check_training_cost(m: Learner) -> str:
    n, tokens, rate, price = 2_000_000, 5e9, 4e13, 3.0
    got = unpack("training_cost", call(m, "training_cost", n, tokens, rate, price), ("flops", "hours", "dollars"))
    got = np.array([_number(f"training_cost's {k}", v) for k, v in zip(("flops", "hours", "dollars"), got)])
    want = np.array(ref.training_cost(n, tokens, rate, price))
    expect_array("training_cost's (flops, hours, dollars)", got, want, mistakes={
        "that counts only the forward pass (2 FLOPs per parameter per token); training adds the backward pass, "
        "about twice the forward: 6 per parameter per token": want / 3,
        "the hours are seconds: divide by 3600": want * np.array([1, 3600, 3600]),
        "the dollars are per second of a price per hour: the hours, not the seconds, multiply the price":
            want * np.array([1, 1, 3600]),
    })
    return f"{want[0]:.3g} FLOPs, {want[1]:.2f} h, ${want[2]:.2f}"


def check_training_memory_mb(m: Learner) -> str:
    n, size = 3_000_000, 4
    got = np.array([_number("training_memory_mb", call(m, "training_memory_mb", n, size))])
    want = np.array([ref.training_memory_mb(n, size)])
    expect_array("training_memory_mb", got, want, mistakes={
        "that is the weights alone: training also keeps their gradients and Adam's two moment buffers":
            want / 4,
        "Adam's two moment buffers are missing: weights, gradients, m and v are 4 numbers per parameter":
            want / 2,
        "that is in MiB (2**20 bytes); the MB asked for is 10**6 bytes": want * 1e6 / 2 ** 20,
    })
    return f"{want[0]:.0f} MB for {n:,} parameters in float32"


def check_serving_latency_ms(m: Learner) -> str:
    n, tokens, rate = 7_000_000, 50, 2e11
    got = np.array([_number("serving_latency_ms", call(m, "serving_latency_ms", n, tokens, rate))])
    want = np.array([ref.serving_latency_ms(n, tokens, rate)])
    expect_array("serving_latency_ms", got, want, mistakes={
        "that uses the training cost (6 per parameter per token); serving runs the forward pass only, 2":
            want * 3,
        "that is in seconds; the latency is asked in milliseconds": want / 1000,
        "that is one token: each of the tokens_out tokens takes its own forward pass": want / tokens,
    })
    return f"{want[0]:.1f} ms for {tokens} tokens"


CHECKS = {
    "forward:estimate_parameters": check_estimate_parameters,
    "forward:training_cost": check_training_cost,
    "forward:training_memory_mb": check_training_memory_mb,
    "forward:serving_latency_ms": check_serving_latency_ms,
}


def train(m: Learner, budget_s: float, report: Report | None = None) -> tuple[float, str, dict[str, float]]:
    """The business case of the capstone's proposal (and two other sizes): the learner's estimates, each
    fed the learner's own parameter estimate as a PM would, against the built model's true figures."""
    lines, worst = [], {"parameters": 0.0, "train_flops": 0.0, "train_memory_mb": 0.0, "latency_ms": 0.0}
    for k, cfg in enumerate(CONFIGS):
        vocab, context, n_layer, _, dim = cfg
        truth = _true_parameters(*cfg)
        s = m.batch()
        n_est = s.estimate_parameters(vocab, context, n_layer, dim)
        got = s.run(n_est, s.training_cost(n_est, TOKENS, FLOPS_PER_S, DOLLARS_PER_HOUR),
                    s.training_memory_mb(n_est, BYTES_PER_PARAM // 4),
                    s.serving_latency_ms(n_est, TOKENS_OUT, FLOPS_PER_S))
        n_got, (flops, _, dollars), memory, latency = got
        true = {"parameters": truth, "train_flops": 6.0 * truth * TOKENS,
                "train_memory_mb": truth * BYTES_PER_PARAM / 1e6,
                "latency_ms": 2.0 * truth * TOKENS_OUT / FLOPS_PER_S * 1000}
        mine = {"parameters": n_got, "train_flops": flops, "train_memory_mb": memory, "latency_ms": latency}
        for key in worst:
            worst[key] = max(worst[key], abs(_number(key, mine[key]) - true[key]) / true[key])
        lines.append(f"{n_layer}x{dim}: {float(n_got):,.0f} parameters (built {truth:,}), {float(flops):.3g} FLOPs "
                     f"(${float(dollars):.2f}), {float(memory):.1f} MB, {float(latency):.2f} ms for "
                     f"{TOKENS_OUT} tokens")
        if report is not None:
            report(k + 1, len(CONFIGS), {f"{key}_error": v for key, v in worst.items()})
    metrics = {f"{key}_error": v for key, v in worst.items()}
    message = "; ".join(lines)
    tolerance = {"parameters": PARAM_TOL, "train_flops": COST_TOL, "train_memory_mb": COST_TOL, "latency_ms": COST_TOL}
    off = [f"{key} {100 * worst[key]:.0f} % off (allowed {100 * tolerance[key]:.0f} %)" for key in worst
           if worst[key] > tolerance[key]]
    if off:
        return 0.0, message + "; " + ", ".join(off), metrics
    return 1.0, message + "; every estimate within the capstone's tolerances", metrics
