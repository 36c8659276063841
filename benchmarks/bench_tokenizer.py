"""BPE training time: labs.tokenizer.train_bpe (incremental pair counts) against its recount-per-merge
twin, and, when the `tokenizers` package (Hugging Face's Rust trainer) is importable, against that too.

    python benchmarks/bench_tokenizer.py                 # measure, print, update RESULTS.md's section
    python benchmarks/bench_tokenizer.py --rounds 5 --no-write

Cases (targets from issue 15, one core): a 500-entry vocabulary on the first 100 KB of tiny Shakespeare
(<= 1 s) and 1,000 merges on the whole bundled 1.1 MB (<= 5 s). The machine is shared, so the sides run
in alternating rounds (each round times every side once, so all see the same background load) and
the median per side is reported, with the load average before and after. The recount twin is slow on
the full corpus, so it runs `--plain-full-rounds` times there (default 1). Every round of the twin is
checked to give the same merges as the incremental trainer.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core for every side, the Rust trainer's thread pool included

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from labs.datasets import load_text  # noqa: E402
from labs.tokenizer import train_bpe, train_bpe_plain  # noqa: E402
from results_section import replace_section  # noqa: E402  (benchmarks/, the script's own folder)

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SPECIAL = "<|endoftext|>"
CASES = [  # (name, characters of tiny Shakespeare or None for all, vocabulary size, target seconds)
    ("500-entry vocabulary on 100 KB", 100_000, 500, 1.0),
    ("1,000 merges on 1.1 MB", None, 256 + 1 + 1000, 5.0),
]


def rust_trainer():
    """A function training Hugging Face's byte-level BPE to a vocabulary size, or None if not installed."""
    try:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    except ImportError:
        return None

    def train(text: str, vocab_size: int):
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[SPECIAL], show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator([text], trainer)
        return tok

    return train


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plain-full-rounds", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    full = load_text().text
    rust = rust_trainer()
    load_before = os.getloadavg()
    rows = []
    for name, n_chars, vocab_size, target in CASES:
        text = full if n_chars is None else full[:n_chars]
        times: dict[str, list[float]] = {"incremental": [], "recount twin": [], "tokenizers (Rust)": []}
        merges = None
        for r in range(args.rounds):
            seconds, (_, merges) = timed(train_bpe, text, vocab_size, [SPECIAL])
            times["incremental"].append(seconds)
            if n_chars is not None or r < args.plain_full_rounds:
                seconds, (_, plain_merges) = timed(train_bpe_plain, text, vocab_size, [SPECIAL])
                assert plain_merges == merges, "the twin disagrees with the incremental trainer"
                times["recount twin"].append(seconds)
            if rust is not None:
                times["tokenizers (Rust)"].append(timed(rust, text, vocab_size)[0])
            ran = {k: v[-1] for k, v in times.items() if len(v) == r + 1}
            print(f"{name}, round {r + 1}: " + ", ".join(f"{k} {s:.3f} s" for k, s in ran.items()))
        median = {k: statistics.median(v) for k, v in times.items() if v}
        rows.append((name, len(text.encode()), len(merges), median, {k: len(v) for k, v in times.items()}, target))
    load_after = os.getloadavg()

    command = "python benchmarks/bench_tokenizer.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    rust_note = "tokenizers " + __import__("tokenizers").__version__ if rust else "tokenizers not installed"
    lines = [
        "## BPE tokenizer training (labs.tokenizer)",
        "",
        f"Made by `{command.strip()}` on {time.strftime('%Y-%m-%d %H:%M %Z')}, {platform.machine()} / Python "
        f"{platform.python_version()}, {rust_note}; one core (RAYON/OMP threads = 1). Median of alternating "
        f"rounds (the count per side is in brackets). The machine was shared with other work: load average "
        f"{load_before[0]:.1f} before and {load_after[0]:.1f} after, on {os.cpu_count()} cores, so the figures "
        "carry that load; the twin's merges were checked equal to the incremental trainer's in every round. "
        "The Rust column appears when the `tokenizers` package is importable (`pip install tokenizers`; it is "
        "not a project dependency).",
        "",
        "| case | bytes | merges | incremental s | recount twin s | twin / incremental | tokenizers (Rust) s | target | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, n_bytes, n_merges, median, counts, target in rows:
        inc, plain, hf = (median.get(k) for k in ("incremental", "recount twin", "tokenizers (Rust)"))
        hf_cell = "n/a" if hf is None else f"{hf:.3f} [{counts['tokenizers (Rust)']}]"
        lines.append(
            f"| {name} | {n_bytes:,} | {n_merges} | {inc:.3f} [{counts['incremental']}] | "
            f"{plain:.2f} [{counts['recount twin']}] | {plain / inc:.0f}x | "
            f"{hf_cell} | <= {target} s | "
            f"{'met' if inc <= target else 'MISSED'} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if not args.no_write:
        replace_section(RESULTS, "bench_tokenizer", table)
        print(f"updated {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
