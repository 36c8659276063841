"""Calibrate every lab: at good settings it must pass in >= 9 of 10 seeds; clearly bad settings must fail.

    python benchmarks/calibrate_labs.py                      # all labs, 10 seeds, writes CALIBRATION.md
    python benchmarks/calibrate_labs.py --labs gd-linear cnn-digits --seeds 3 --out /tmp/cal.md
    python benchmarks/calibrate_labs.py --labs gd-linear --update   # re-run some labs, keep the other rows

Runs go through `labs.runner.run_lab`, i.e. a worker process per run, exactly as a learner's do, one at a
time (the machine's cores are shared). "Good settings" are a lab's defaults, except for the estimation
labs, whose defaults are deliberately empty answers: they get the correct estimates. "Bad settings" are
a rate at the top of its range (diverges), a rate too small to learn, and the fewest epochs/steps;
each is tried on two seeds and must fail on both. Labs other than this file knows (the language labs)
get the same generic bad settings from their parameter bounds.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labs.catalog import Lab, all_labs, get_lab  # noqa: E402
from labs.events import Finished  # noqa: E402
from labs.nn.language_models import TinyGPT  # noqa: E402
from labs.runner import run_lab  # noqa: E402

PASSES_NEEDED = 0.9
HEADLINE = ("test_accuracy", "val_accuracy", "train_accuracy", "val_loss", "train_loss", "effect")
_GPT = TinyGPT.count_parameters(65, 128, 4, 128)
GOOD = {  # the estimation labs' correct answers
    "model-size": {"parameters": 17226, "flops": 34048, "memory_kb": 68.904},
    "capstone-ai-product-manager": {"parameters": _GPT, "train_flops": 6.0 * _GPT * 1e7,
                                    "train_memory_mb": 16 * _GPT / 1e6},
}
BAD = {  # settings known to be bad for the labs whose meaning this file knows
    "model-size": [{"parameters": 1000, "flops": 2000, "memory_kb": 4}],
    "capstone-ai-product-manager": [{"parameters": 10000, "train_flops": 1e9, "train_memory_mb": 1}],
    "capstone-research-scientist": [{"seeds": 1}, {"epochs": 1}],
    "capstone-data-scientist": [{"val_fraction": 0.03}, {"steps": 5}],
    "capstone-mlops-engineer": [{"width": 2048, "hidden_layers": 4, "epochs": 1}],
}


def generic_bad(lab: Lab) -> list[dict]:
    """A diverging rate, a rate too small to learn, and the fewest epochs/steps, from the Params bounds."""
    specs = {s.name: s for s in lab.param_specs()}
    bad = []
    if "lr" in specs:
        top = specs["lr"].le or specs["lr"].lt
        if top:
            bad.append({"lr": top})
        bad.append({"lr": float(specs["lr"].default) / 1000})
    for name in ("epochs", "steps"):
        if name in specs and specs[name].ge is not None:
            bad.append({name: int(specs[name].ge)})
    return bad


def run_many(lab_id: str, params: dict, seeds: range) -> list:
    results = []
    for seed in seeds:
        t0 = time.perf_counter()
        r = run_lab(lab_id, params, seed)
        results.append((r, time.perf_counter() - t0))
        print(f"  {lab_id} {params or 'defaults'} seed {seed}: "
              f"{r.status if isinstance(r, Finished) else 'error ' + r.message} ({results[-1][1]:.1f} s)", flush=True)
    return results


def headline(results: list) -> str:
    finished = [r for r, _ in results if isinstance(r, Finished)]
    for name in HEADLINE:
        values = [r.metrics[name] for r in finished if name in r.metrics]
        if len(values) == len(finished) and values:
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{name} {np.mean(values):.4f} ± {spread:.4f} ({min(values):.4f}–{max(values):.4f})"
    return "—"


def calibrate(lab: Lab, n_seeds: int) -> tuple[str, list[str], bool]:
    good = GOOD.get(lab.id, {})
    results = run_many(lab.id, good, range(n_seeds))
    passes = sum(isinstance(r, Finished) and r.status == "passed" for r, _ in results)
    seconds = [s for _, s in results]
    ok = passes >= PASSES_NEEDED * n_seeds
    row = (f"| {lab.id} | {'answers' if good else 'defaults'} | {passes}/{n_seeds} | {headline(results)} | "
           f"{statistics.median(seconds):.1f} / {max(seconds):.1f} |")
    bad_rows = []
    for params in BAD.get(lab.id) or generic_bad(lab):
        bad = run_many(lab.id, params, range(2))
        failed = all(not (isinstance(r, Finished) and r.status == "passed") for r, _ in bad)
        ok &= failed
        scores = ", ".join(f"{r.grade.score:g}" if isinstance(r, Finished) else r.kind for r, _ in bad)
        bad_rows.append(f"| {lab.id} | `{params}` | {'fails' if failed else '**PASSES**'} ({scores}) |")
    return row, bad_rows, ok


GOOD_HEAD = ["| lab | settings | passed | headline metric, mean ± std (min–max) | seconds median / max |",
             "|---|---|---|---|---|"]
BAD_HEAD = ["| lab | settings | outcome |", "|---|---|---|"]


def provenance(command: str, load: tuple, seconds: float, verb: str = "Made") -> str:
    return (f"{verb} by `{command}` on {time.strftime('%Y-%m-%d %H:%M')} "
            f"({platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} cores; load average "
            f"{load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end: other engineers' jobs shared "
            f"the cores, so times are upper bounds; total {seconds / 60:.1f} min).")


def render(rows: list[str], bad_rows: list[str], runs: list[str]) -> str:
    return "\n".join([
        "# Lab calibration", "", *runs, "",
        "Each run is a worker process (`labs.runner.run_lab`), BLAS single-threaded. A lab is calibrated when "
        f"its good settings pass in at least {PASSES_NEEDED:.0%} of seeds and every bad setting fails on both "
        "seeds tried.", "",
        "## Good settings", "", *GOOD_HEAD, *rows, "",
        "## Bad settings (seeds 0 and 1; scores in brackets)", "", *BAD_HEAD, *bad_rows, "",
    ])


def parse(text: str) -> tuple[list[str], list[str], list[str]]:
    """(provenance lines, good rows, bad rows) of an existing CALIBRATION.md."""
    runs, good, bad, section = [], [], [], None
    for line in text.splitlines():
        if line.startswith(("Made by ", "Updated by ")):
            runs.append(line)
        section = "good" if line.startswith("## Good") else "bad" if line.startswith("## Bad") else section
        if line.startswith("| ") and line not in GOOD_HEAD + BAD_HEAD:
            (good if section == "good" else bad).append(line)
    return runs, good, bad


def row_lab(row: str) -> str:
    return row.split("|")[1].strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", nargs="*", help="lab ids (default: every lab)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("CALIBRATION.md"))
    parser.add_argument("--update", action="store_true", help="replace only the re-run labs' rows in --out")
    args = parser.parse_args(argv)
    labs = [get_lab(i) for i in args.labs] if args.labs else all_labs()
    load, t0 = os.getloadavg(), time.perf_counter()
    rows, bad_rows, all_ok = [], [], True
    for lab in labs:
        row, bad, ok = calibrate(lab, args.seeds)
        rows.append(row)
        bad_rows.extend(bad)
        all_ok &= ok
    command = "python benchmarks/calibrate_labs.py " + " ".join(argv if argv is not None else sys.argv[1:])
    runs = [provenance(command.strip(), load, time.perf_counter() - t0)]
    if args.update and args.out.exists():  # keep the rows of labs not re-run, and the earlier provenance
        rerun = {lab.id for lab in labs}
        old_runs, old_good, old_bad = parse(args.out.read_text())
        runs = old_runs + [runs[0].replace("Made by ", "Updated by ", 1)]
        rows = sorted([r for r in old_good if row_lab(r) not in rerun] + rows, key=row_lab)
        bad_rows = sorted([r for r in old_bad if row_lab(r) not in rerun] + bad_rows, key=row_lab)
    args.out.write_text(render(rows, bad_rows, runs))
    print(f"wrote {args.out}; {'all labs calibrated' if all_ok else 'SOME LABS ARE NOT CALIBRATED'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
