"""Calibrate every lab: its defaults (a named beginner's mistake) fail on every seed, its good settings
pass on >= 9 of 10, and clearly bad settings fail (issue 14).

    python benchmarks/calibrate_labs.py                      # all labs, 10 seeds, writes CALIBRATION.md
    python benchmarks/calibrate_labs.py --labs gd-linear cnn-digits --seeds 3 --out /tmp/cal.md
    python benchmarks/calibrate_labs.py --labs gd-linear --update   # re-run some labs, keep the other rows
    python benchmarks/calibrate_labs.py --labs rnn-chars --cache /tmp/runs.jsonl   # record (and reuse) runs

Runs go through `labs.runner.run_lab`, i.e. a worker process per run, exactly as a learner's do, one at a
time (the machine's cores are shared). Per lab: the DEFAULTS over --seeds seeds (an experiment's `naive`
configuration, or an estimation lab's blank answers) must fail on every one; the table names the checks
they fail and the diagnosis (`Finished.diagnosis`) the lab gives. The GOOD settings (`Lab.good_settings`
over the defaults; the estimation labs get the correct estimates) must pass on >= 90 % of seeds. The BAD
settings, each over the good settings on two seeds, must fail on both: a rate at the top of its range
(diverges), a rate a thousand times below the good one, and the fewest epochs/steps, unless this file
knows better ones for the lab (BAD).

`--cache FILE...` records every run (the lab, its full validated params and the seed) as a JSON line in
the first file and replays any run already recorded in them, so long labs can be calibrated in several
background jobs and the table written once from their records. Rows of labs not run are kept from --out
(another helper's lab, or one calibrated earlier) with the provenance lines that name them; `--update`
keeps every earlier provenance line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labs.catalog import Lab, all_labs, get_lab  # noqa: E402
from labs.events import Failed, Finished, dump_event, parse_event  # noqa: E402
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
    """A diverging rate, a rate too small to learn, and the fewest epochs/steps, from the Params bounds and
    the good settings' rate (each applied over the good settings)."""
    specs = {s.name: s for s in lab.param_specs()}
    good = lab.good_params()
    bad = []
    if "lr" in specs:
        top = specs["lr"].le or specs["lr"].lt
        if top:
            bad.append({"lr": top})
        bad.append({"lr": float(good.lr) / 1000})
    for name in ("epochs", "steps"):
        if name in specs and specs[name].ge is not None:
            bad.append({name: int(specs[name].ge)})
    return bad


def good_settings(lab: Lab) -> dict:
    return dict(GOOD.get(lab.id, lab.good_settings))


def _cache_key(lab_id: str, params: dict, seed: int) -> str:
    """The run's identity: the lab, its full validated params (defaults filled in) and the seed."""
    return json.dumps([lab_id, get_lab(lab_id).validate_params(params).model_dump(mode="json"), seed],
                      sort_keys=True)


def _load_cache(paths: list[Path]) -> dict[str, tuple[Finished | Failed, float]]:
    runs: dict = {}
    for path in paths:
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    runs[row["key"]] = (parse_event(json.dumps(row["event"])), row["seconds"])
    return runs


CACHE: dict[str, tuple] = {}
CACHE_PATH: Path | None = None


def run_once(lab_id: str, params: dict, seed: int) -> tuple[Finished | Failed, float]:
    """One run in a worker, or the same run (lab, full params, seed) recorded in --cache by an earlier call."""
    key = _cache_key(lab_id, params, seed)
    if key in CACHE:  # the diagnosis is read again: a pure function of the params and the run's evidence
        r, seconds = CACHE[key]
        if isinstance(r, Finished):
            lab = get_lab(lab_id)
            r = lab._with_diagnosis(lab.validate_params(params), r.model_copy(update={"diagnosis": None}))
        return r, seconds
    t0 = time.perf_counter()
    r = run_lab(lab_id, params, seed)
    CACHE[key] = (r, time.perf_counter() - t0)
    if CACHE_PATH is not None:
        with CACHE_PATH.open("a") as fh:
            fh.write(json.dumps({"key": key, "event": json.loads(dump_event(r)), "seconds": CACHE[key][1]}) + "\n")
    return CACHE[key]


REPLAY_ONLY = False  # --replay-only: use the recorded runs and run nothing


def run_many(lab_id: str, params: dict, seeds: range) -> list:
    results = []
    for seed in seeds:
        if REPLAY_ONLY and _cache_key(lab_id, params, seed) not in CACHE:
            continue  # not recorded: the row counts the seeds that were
        results.append(run_once(lab_id, params, seed))
        r = results[-1][0]
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


def _passed(r) -> bool:
    return isinstance(r, Finished) and r.status == "passed"


def _tally(values: list[str]) -> str:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return ", ".join(f"{v} ({n})" if len(counts) > 1 else v for v, n in sorted(counts.items(), key=lambda x: -x[1]))


def _seconds(results: list) -> str:
    seconds = [s for _, s in results]
    if not seconds:
        return "—"
    return f"{statistics.median(seconds):.1f} / {max(seconds):.1f}"


def calibrate(lab: Lab, n_seeds: int, bad_too: bool = True) -> tuple[str, str, list[str], bool]:
    """(defaults row, good row, bad rows, calibrated?) for one lab."""
    naive = run_many(lab.id, {}, range(n_seeds))
    fails = sum(not _passed(r) for r, _ in naive)
    checks = _tally([", ".join(c.id for c in r.grade.checks if c.status != "passed") if isinstance(r, Finished)
                     else r.kind for r, _ in naive])
    diagnoses = _tally([(r.diagnosis or "none") if isinstance(r, Finished) else "none" for r, _ in naive])
    name = lab.naive or ("blank answers" if lab.id in GOOD else "defaults")
    default_row = (f"| {lab.id} | {name} | {fails}/{len(naive)} | {checks} | {diagnoses} | {headline(naive)} | "
                   f"{_seconds(naive)} |")
    ok = fails == len(naive) == n_seeds
    good = good_settings(lab)
    results = run_many(lab.id, good, range(n_seeds))
    passes = sum(_passed(r) for r, _ in results)
    ok &= len(results) == n_seeds and passes >= PASSES_NEEDED * n_seeds
    shown = "answers" if lab.id in GOOD else f"`{good}`" if good else "defaults"
    cut = [r for r, _ in results if isinstance(r, Finished) and r.stopped_at_limit]
    note = f" ({len(cut)} stopped at the time limit, {sum(not _passed(r) for r in cut)} of them failed)" if cut else ""
    good_row = (f"| {lab.id} | {shown} | {passes}/{len(results)}{note} | {headline(results)} | "
                f"{_seconds(results)} |")
    bad_rows = []
    for params in (BAD.get(lab.id) or generic_bad(lab)) if bad_too else []:
        bad = run_many(lab.id, {**good, **params}, range(2))
        if not bad:
            continue
        failed = not any(_passed(r) for r, _ in bad)
        ok &= failed
        scores = ", ".join(f"{r.grade.score:g}" if isinstance(r, Finished) else r.kind for r, _ in bad)
        bad_rows.append(f"| {lab.id} | `{params}` | {'fails' if failed else '**PASSES**'} ({scores}) |")
    return default_row, good_row, bad_rows, ok


NAIVE_HEAD = ["| lab | defaults (the naive mistake) | failed | checks not passed | diagnosis | headline metric, "
              "mean ± std (min–max) | seconds median / max |", "|---|---|---|---|---|---|---|"]
GOOD_HEAD = ["| lab | settings | passed | headline metric, mean ± std (min–max) | seconds median / max |",
             "|---|---|---|---|---|"]
BAD_HEAD = ["| lab | settings (over the good ones) | outcome |", "|---|---|---|"]
_OLD_BAD_HEAD = ["| lab | settings | outcome |"]


def provenance(command: str, load: tuple, seconds: float, verb: str = "Made") -> str:
    return (f"{verb} by `{command}` on {time.strftime('%Y-%m-%d %H:%M')} "
            f"({platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} cores; load average "
            f"{load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end: other engineers' jobs shared "
            f"the cores, so times are upper bounds; total {seconds / 60:.1f} min).")


def render(naive_rows: list[str], rows: list[str], bad_rows: list[str], runs: list[str],
           notes: list[str] = ()) -> str:
    return "\n".join([
        "# Lab calibration", "", *runs, "",
        "Each run is a worker process (`labs.runner.run_lab`), BLAS single-threaded. A lab is calibrated when "
        "its defaults (a named beginner's mistake; an estimation lab's blank answers) fail on every seed, its "
        f"good settings pass in at least {PASSES_NEEDED:.0%} of seeds, and every bad setting fails on both "
        "seeds tried. The diagnosis is the failure mode the lab names from the run's evidence "
        "(`Finished.diagnosis`, the right answer to the app's \"what went wrong?\").", "",
        "## Defaults: the naive mistake", "", *NAIVE_HEAD, *naive_rows, "",
        "## Good settings", "", *GOOD_HEAD, *rows, "",
        "## Bad settings (seeds 0 and 1; scores in brackets)", "", *BAD_HEAD, *bad_rows, "",
        *[line for note in notes for line in (note, "")],
    ])


def parse(text: str) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    """(provenance lines, defaults rows, good rows, bad rows, notes: the paragraphs after the tables) of an
    existing CALIBRATION.md."""
    runs, naive, good, bad, notes, section = [], [], [], [], [], None
    for line in text.splitlines():
        if section == "bad" and line.strip() and not line.startswith(("|", "#")):
            notes.append(line)
        if line.startswith(("Made by ", "Updated by ")):
            runs.append(line)
        if line.startswith("## "):
            section = "naive" if line.startswith("## Defaults") else "good" if line.startswith("## Good") \
                else "bad" if line.startswith("## Bad") else None
        if line.startswith("| ") and line not in NAIVE_HEAD + GOOD_HEAD + BAD_HEAD + _OLD_BAD_HEAD:
            {"naive": naive, "good": good, "bad": bad}.get(section, []).append(line)
    return runs, naive, good, bad, notes


def row_lab(row: str) -> str:
    return row.split("|")[1].strip()


def main(argv: list[str] | None = None) -> int:
    global CACHE_PATH, REPLAY_ONLY
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", nargs="*", help="lab ids (default: every lab)")
    parser.add_argument("--skip", nargs="*", default=[], help="lab ids to leave out (their rows are kept)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("CALIBRATION.md"))
    parser.add_argument("--update", action="store_true", help="keep every earlier provenance line of --out (else only those naming a kept row's lab)")
    parser.add_argument("--replay-only", action="store_true",
                        help="run nothing: tabulate the runs recorded in --cache (a row counts the seeds it has)")
    parser.add_argument("--keep-bad", nargs="*", default=[], metavar="LAB",
                        help="labs whose bad settings are not run again: their rows in --out are kept")
    parser.add_argument("--note", default="", help="a sentence added to the provenance line (e.g. the load "
                        "while replayed runs were recorded)")
    parser.add_argument("--cache", type=Path, nargs="*", default=[],
                        help="JSON-lines files of recorded runs: replayed when present, new runs appended to the first")
    args = parser.parse_args(argv)
    labs = [get_lab(i) for i in args.labs] if args.labs else all_labs()
    labs = [lab for lab in labs if lab.id not in set(args.skip)]
    CACHE.update(_load_cache(args.cache))
    CACHE_PATH = args.cache[0] if args.cache else None
    REPLAY_ONLY = args.replay_only
    replayed = len(CACHE)
    load, t0 = os.getloadavg(), time.perf_counter()
    naive_rows, rows, bad_rows, all_ok, notes = [], [], [], True, []
    for lab in labs:
        naive, row, bad, ok = calibrate(lab, args.seeds, bad_too=lab.id not in args.keep_bad)
        naive_rows.append(naive)
        rows.append(row)
        bad_rows.extend(bad)
        all_ok &= ok
    command = "python benchmarks/calibrate_labs.py " + " ".join(argv if argv is not None else sys.argv[1:])
    line = provenance(command.strip(), load, time.perf_counter() - t0)
    if replayed:
        line += (f" Runs recorded earlier in {', '.join(map(str, args.cache))} by the same script (`--cache`) "
                 "were replayed, so their seconds are from when they ran.")
    if args.note:
        line += " " + args.note
    runs = [line]
    if args.out.exists():  # keep the rows of labs not run (another helper's, or calibrated earlier)
        rerun = {lab.id for lab in labs}
        old_runs, old_naive, old_good, old_bad, notes = parse(args.out.read_text())
        kept = {row_lab(r) for r in old_naive + old_good + old_bad} - rerun
        if not args.update:  # anew: only the provenance of rows kept (a line naming one of their labs)
            old_runs = [line for line in old_runs if any(lab_id in line for lab_id in kept)]
        if old_runs:
            runs = old_runs + [runs[0].replace("Made by ", "Updated by ", 1)]
        naive_rows = sorted([r for r in old_naive if row_lab(r) not in rerun] + naive_rows, key=row_lab)
        rows = sorted([r for r in old_good if row_lab(r) not in rerun] + rows, key=row_lab)
        bad_rows = sorted([r for r in old_bad if row_lab(r) not in rerun - set(args.keep_bad)] + bad_rows,
                          key=row_lab)
    args.out.write_text(render(naive_rows, rows, bad_rows, runs, notes))
    print(f"wrote {args.out}; {'all labs calibrated' if all_ok else 'SOME LABS ARE NOT CALIBRATED'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
