"""labs.nn docstrings and comments give equations and reasons, never benchmark timings.

Timings go stale the moment the code or the machine changes; they live in benchmarks/RESULTS.md with
the command that made them. These tests scan every string and comment token of labs/nn for a figure:
a duration (0.62 ms, 30 us), a before -> after pair of numbers, a percentage, or an "N x faster".
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

import labs.nn

NN_DIR = Path(labs.nn.__file__).parent

FIGURE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:ms|us|µs|ns|s)\b"                             # a duration: 0.62 ms, 30 us, 2 s
    r"|(?<![\dx.])\d+(?:\.\d+)?\s*(?:->|→)\s*\d+(?:\.\d+)?(?!\d*x\d)"   # before -> after (not 8x8 -> 4x4)
    r"|\d+(?:\.\d+)?\s*%"                                              # -9%, ~7% of the backward
    r"|\b\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?x\b(?!\d)"                    # 6x, 2-4x, 1.5x (not 8x8)
    r"|\d\s*x\s+(?:faster|slower|less|more)\b"                          # 3 x faster
    r"|(?:faster|slower|cheaper)\s+by\s+\d",
    re.IGNORECASE,
)


def figure_lines(source: str) -> list[tuple[int, str]]:
    """(line number, text) of every docstring, string or comment line in `source` holding a timing figure."""
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.COMMENT, tokenize.STRING):
            for offset, line in enumerate(tok.string.splitlines()):
                if FIGURE.search(line):
                    found.append((tok.start[0] + offset, line.strip()))
    return found


@pytest.mark.parametrize("path", sorted(NN_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_timing_figures_in_nn_docstrings_or_comments(path):
    found = figure_lines(path.read_text(encoding="utf-8"))
    assert not found, f"{path.name}: move these figures to benchmarks/RESULTS.md: " + "; ".join(
        f"line {n}: {text}" for n, text in found)


@pytest.mark.parametrize("line", [
    "than the arithmetic (measured: forward 0.90 -> 0.62 ms, backward 1.40 -> 0.76 ms; caching the gate",
    "rather than the tanh saves another ~7% of the backward). Never x**3: a power ufunc is hundreds of",
    "# sum in 1.6 us against 2.4 us; from (32, 64) on the BLAS product wins, by 4-8x at (2048, 64)).",
    "the loop measured the same: the LSTM backward is bound by its matmuls, and only the forward (-9%)",
    "time loop (2.6-2.9x faster than one per step); the weight gradients are one matmul each after the",
    "`w -= update` is per tensor, through views (MLP: 43 -> 21 us per step, tiny GPT: 373 -> 180 us).",
    "- row sums in the softmax and its backward are a matrix-vector product with ones (BLAS), 6x faster",
    "a 10 % speed-up",
    "took 2 s per epoch",
    "3 x slower than the transposed view",
])
def test_the_detector_catches_the_figures_it_must(line):
    assert FIGURE.search(line), line


@pytest.mark.parametrize("line", [
    "For 8x8 digits the default, filters=(8, 16), gives 8x8 -> 4x4 -> 2x2 feature maps, flattened to",
    "dgate/dx = 2 gate (1 - gate) c (1 + 3a x^2),",
    "(B, T, C) -> (B, T, C) with `n_heads` heads of width C / n_heads",
    "exp(80) = 5.5e34 is still a finite float32, so no exp overflows.",
    "h_t = o tanh(c_t), W_x (D, 4H), x @ W_qkv (C, 3C)",
    "a 128x128 weight would cost 32k forward passes",
    "GELU: 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3)",
])
def test_the_detector_leaves_equations_and_shapes_alone(line):
    assert not FIGURE.search(line), line


def test_no_layer_calls_a_reference_twin():
    """The twins in labs.nn.reference are for tests and reading; the networks run the tuned kernels."""
    importers = [p.name for p in NN_DIR.glob("*.py")
                 if p.name != "reference.py" and re.search(r"\breference\b", _code_only(p.read_text("utf-8")))]
    assert not importers, f"these labs.nn modules use labs.nn.reference: {importers}"


def _code_only(source: str) -> str:
    """The source with strings and comments removed (docstrings may name a twin)."""
    kept = [tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type not in (tokenize.COMMENT, tokenize.STRING)]
    return " ".join(kept)
