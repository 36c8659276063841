"""Why deep plain networks fail and what fixes them, measured on the digits: writes DEEPNETS.md.

    python benchmarks/bench_deepnets.py                              # the full table, writes DEEPNETS.md
    python benchmarks/bench_deepnets.py --widths 64 --activations relu --seeds 0 --no-write

For each activation and width it trains, with the ffnn-digits lab's defaults (Adam, rate 0.003, batch
32, 30 epochs) and `labs.catalog._digits.train_on_digits`:

- one hidden layer (`deep_mlp(2, ...)`, the ffnn-digits network),
- a plain 20-layer MLP (`deep_mlp(20, ...)`: 19 hidden layers and the head),
- the same with BatchNorm after every hidden Linear (`norm="batch"`),
- the residual version with BatchNorm (a stem, 9 `ResidualMLPBlock`s, the head: also 20 weight layers),

on the same seeds, and reports test and train accuracy and, from `labs.nn.stats` on one training batch
at initialisation, how much the gradient's spread shrinks from the last hidden layer to the first. One
process, BLAS single-threaded (the machine's cores are shared); runs are sequential.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labs.catalog._digits import train_on_digits  # noqa: E402
from labs.datasets import load_digits  # noqa: E402
from labs.nn import SoftmaxCrossEntropy, deep_mlp  # noqa: E402
from labs.nn.stats import measure  # noqa: E402

OUT = Path(__file__).resolve().parent / "DEEPNETS.md"
READING = "## Reading"
LR, BATCH, EPOCHS, DEPTH = 0.003, 32, 30, 20
NETS = {  # name -> deep_mlp settings
    "1 hidden layer": {"depth": 2},
    f"{DEPTH} plain": {"depth": DEPTH},
    f"{DEPTH} + BN": {"depth": DEPTH, "norm": "batch"},
    f"{DEPTH} residual + BN": {"depth": DEPTH, "norm": "batch", "residual": True},
}


@dataclass
class Run:
    test_accuracy: float
    train_accuracy: float
    grad_ratio: float  # gradient std at the first layer's output / at the last hidden layer's, at init
    seconds: float


def one_run(net: dict, width: int, activation: str, seed: int) -> Run:
    data = load_digits()
    rng = np.random.default_rng(seed)
    model = deep_mlp(width=width, activation=activation, rng=rng, **net)
    batch = np.random.default_rng(10_000 + seed).choice(len(data.train), 64, replace=False)
    _, stats = measure(model, SoftmaxCrossEntropy(), data.train.x[batch], data.train.y[batch])
    model.zero_grad()
    grads = stats.series("std", of="gradient")
    t0 = time.perf_counter()
    r = train_on_digits(model, data, optimizer="adam", lr=LR, weight_decay=0.0, batch_size=BATCH, epochs=EPOCHS,
                        rng=rng, images=False, ctx=None)
    return Run(r.test_accuracy, r.train_accuracy, grads[0] / grads[-2], time.perf_counter() - t0)


def _mean_std(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {spread:.4f}"


def table(results: dict, seeds: list[int]) -> list[str]:
    lines = ["| activation | width | network | test accuracy per seed | mean ± std | train accuracy mean "
             "| grad std first/last hidden at init (median) | seconds a run (median) |",
             "|---|---|---|---|---|---|---|---|"]
    for (activation, width, name), runs in results.items():
        per_seed = ", ".join(f"{r.test_accuracy:.4f}" for r in runs)
        lines.append(f"| {activation} | {width} | {name} | {per_seed} | {_mean_std([r.test_accuracy for r in runs])} "
                     f"| {statistics.mean(r.train_accuracy for r in runs):.4f} "
                     f"| {statistics.median(r.grad_ratio for r in runs):.3g} "
                     f"| {statistics.median(r.seconds for r in runs):.2f} |")
    return lines


def margins(results: dict) -> list[str]:
    """The gaps a lab can grade on: fixed minus plain, in the mean and in the worst case over seeds."""
    lines = ["| activation | width | fixed network | mean gain over plain | worst fixed seed − best plain seed |",
             "|---|---|---|---|---|"]
    groups = sorted({(a, w) for a, w, _ in results})
    for activation, width in groups:
        plain = [r.test_accuracy for r in results[(activation, width, f"{DEPTH} plain")]]
        for name in (f"{DEPTH} + BN", f"{DEPTH} residual + BN"):
            fixed = [r.test_accuracy for r in results[(activation, width, name)]]
            lines.append(f"| {activation} | {width} | {name} | {statistics.mean(fixed) - statistics.mean(plain):+.4f} "
                         f"| {min(fixed) - max(plain):+.4f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--activations", nargs="+", default=["relu", "sigmoid"])
    parser.add_argument("--no-write", action="store_true", help="print the tables, leave DEEPNETS.md alone")
    args = parser.parse_args(argv)
    command = "python benchmarks/bench_deepnets.py" + ("" if argv is None and len(sys.argv) == 1 else
                                                       " " + " ".join(sys.argv[1:] if argv is None else argv))
    load_start, started = os.getloadavg()[0], time.perf_counter()
    results: dict[tuple[str, int, str], list[Run]] = {}
    for activation in args.activations:
        for width in args.widths:
            for name, net in NETS.items():
                runs = [one_run(net, width, activation, seed) for seed in args.seeds]
                results[(activation, width, name)] = runs
                print(f"{activation:8} {width:4} {name:22} " + " ".join(f"{r.test_accuracy:.4f}" for r in runs)
                      + f"  ({sum(r.seconds for r in runs):.1f} s)", flush=True)
    total = time.perf_counter() - started
    header = [
        "# Deep networks on the digits: plain, BatchNorm, residual",
        "",
        f"Made by `{command}` on {time.strftime('%Y-%m-%d %H:%M')} ({platform.python_version()}, NumPy "
        f"{np.__version__}, {os.cpu_count()} cores, BLAS single-threaded; load average {load_start:.1f} at the "
        f"start, {os.getloadavg()[0]:.1f} at the end: other engineers' jobs shared the cores, so seconds are upper "
        f"bounds; total {total / 60:.1f} min).",
        "",
        f"Every network: `labs.nn.deep_mlp` on the bundled digits (1083 train, 355 test), Adam at {LR}, batch "
        f"{BATCH}, {EPOCHS} epochs (the ffnn-digits defaults), seeds {', '.join(map(str, args.seeds))}: the seed "
        f"draws the weights and the batch order. \"{DEPTH}\" counts weight layers (19 hidden and the head; "
        "the residual net is a stem, 9 blocks of two and the head). The gradient column is "
        "std(dL/dy) at the first Linear's output over std(dL/dy) at the last hidden layer's, on one batch of "
        "64 at initialisation (`labs.nn.stats.measure`): far below 1 is a vanishing gradient.",
        "",
    ]
    body = header + ["## Test accuracy", ""] + table(results, args.seeds) + [
        "", "## Margins", ""] + margins(results) + [""]
    text = "\n".join(body)
    print(text)
    if not args.no_write:
        # the reading below the tables is written by hand; a rerun keeps it for its author to revise
        old = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        kept = old[old.index(READING):] if READING in old else ""
        OUT.write_text(text + ("\n" + kept if kept else ""), encoding="utf-8")
        print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
