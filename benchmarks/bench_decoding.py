"""Generation with a KV cache against recomputing the window for every token (labs.nn.decoding).

    python benchmarks/bench_decoding.py                  # measure, print, update RESULTS.md's section
    python benchmarks/bench_decoding.py --rounds 5 --no-write

A ModernLM of the lab's size in float32 (vocabulary 512, 4 blocks, width 128, 4 heads, context 320)
generates 256 tokens after a 64-token prompt, one sequence, temperature 1 with top-k 50, from the same
seed both ways: with the cache (the prompt once, then one position per token) and without it (the
whole sequence so far recomputed for every token). Both give the same tokens (checked). Target from
issue 15: the cache at least 3x faster. The machine is shared, so the two run in alternating rounds and
the median of each is reported with the load average before and after. One BLAS thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(32 * 1024 * 1024))  # as labs.runner does
os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", str(512 * 1024 * 1024))

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labs.nn.decoding import generate  # noqa: E402
from labs.nn.modern import ModernLM  # noqa: E402
from results_section import replace_section  # noqa: E402  (benchmarks/, the script's own folder)

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
VOCAB, LAYERS, WIDTH, HEADS, CONTEXT, PROMPT, NEW = 512, 4, 128, 4, 320, 64, 256
TARGET = 3.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    model = ModernLM(VOCAB, CONTEXT, n_layer=LAYERS, n_head=HEADS, dim=WIDTH, rng=np.random.default_rng(0))
    model.eval()
    prompt = np.random.default_rng(1).integers(0, VOCAB, (1, PROMPT))
    options = dict(temperature=1.0, top_k=50)
    load_before = os.getloadavg()
    times: dict[bool, list[float]] = {True: [], False: []}
    outputs = {}
    for r in range(args.rounds):
        for cached in (True, False):
            start = time.perf_counter()
            outputs[cached] = generate(model, prompt, NEW, np.random.default_rng(2), use_cache=cached, **options)
            times[cached].append(time.perf_counter() - start)
        assert np.array_equal(outputs[True], outputs[False]), "cached and recomputed generation disagree"
        print(f"round {r + 1}: cached {times[True][-1]:.3f} s, recomputed {times[False][-1]:.3f} s")
    load_after = os.getloadavg()
    cached_s, full_s = statistics.median(times[True]), statistics.median(times[False])
    cache_mb = model.new_cache(1, PROMPT + NEW).nbytes / 2**20
    command = "python benchmarks/bench_decoding.py" + ("" if not (argv if argv is not None else sys.argv[1:])
                                                       else " " + " ".join(argv if argv is not None else sys.argv[1:]))
    table = "\n".join([
        "## Generation with a KV cache (labs.nn.decoding)",
        "",
        f"Made by `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')}, {platform.machine()} / Python "
        f"{platform.python_version()} / NumPy {np.__version__}, one BLAS thread. ModernLM float32, vocabulary "
        f"{VOCAB}, {LAYERS} blocks, width {WIDTH}, {HEADS} heads, context {CONTEXT} "
        f"({model.num_parameters():,} parameters); {NEW} tokens after a {PROMPT}-token prompt, top-k 50, the same "
        f"tokens both ways (checked). Median of {args.rounds} alternating rounds. The machine was shared with "
        f"other work: load average {load_before[0]:.1f} before and {load_after[0]:.1f} after, on "
        f"{os.cpu_count()} cores, so the figures carry that load (the ratio less than the times).",
        "",
        "| generation | seconds | ms per token | speed-up | target | verdict |",
        "|---|---|---|---|---|---|",
        f"| recomputing the window for every token | {full_s:.3f} | {full_s / NEW * 1e3:.2f} | 1 | | |",
        f"| KV cache (2 x {LAYERS} layers x {PROMPT + NEW} tokens x {WIDTH} x 4 bytes = {cache_mb:.2f} MiB) | "
        f"{cached_s:.3f} | {cached_s / NEW * 1e3:.2f} | {full_s / cached_s:.1f}x | >= {TARGET:.0f}x | "
        f"{'met' if full_s / cached_s >= TARGET else 'MISSED'} |",
    ]) + "\n"
    print(table)
    if not args.no_write:
        replace_section(RESULTS, "bench_decoding", table)
        print(f"updated {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
