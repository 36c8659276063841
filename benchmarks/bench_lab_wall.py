"""A lab's wall time in the app against the training time it reports, and where the rest goes.

    python benchmarks/bench_lab_wall.py [--labs ffnn-digits,cnn-digits,rnn-chars,transformer-chars]
                                        [--rounds 3] [--modes cold,warm] [--history 0] [--gap 2]
                                        [--tag after --rows rows.jsonl]   then   --summarise rows.jsonl

Each run goes through the real path the app takes: `Service.start_lab` on a temporary database, the
default `labs.runner.LabProcess` (a worker process), every event recorded by `LabSession`, until the
outcome is there. `cold` runs start with no spare worker (`discard_spare()`: a fresh `python -m
labs.worker` imports everything), `warm` ones after the runner's spare has had `--gap` seconds to
import (as between two runs in the app). Modes and labs alternate within each round and the figures
are medians (with the range) over the rounds, each printed with the load average it was measured at:
the machine is shared. To compare two trees under the same load, run each one round at a time in
turn with `--rows` (one JSON line per run, tagged), then `--summarise` the file.

The breakdown, all on the parent's clock (the child's clock, which starts when it reads its job, is
placed on it by the metric points' `elapsed_s`):
  service   start_lab before the worker starts: validation, progress, the attempt's set-up
  process   worker start, imports, reading the job: the spare's head start hides most of this
  data      the child from its job to `Started`: loading and preparing the data set (and n-gram baselines)
  training  `Started` to the last train/val metric point (for the digits labs also their `train_seconds`)
  grading   the rest of the child's run: test evaluation, the side MLP and shifted digits, final samples
  exit      the child's exit after `Finished` (the runner accepts a result only from a child that exited)
  record    the parent recording the result after `Finished` (the attempt, its checks, progress again)
  record_all  all the parent's recording, also of metric batches and samples while the child trains on
            (that part adds to the wall time only through the CPU it takes)
Training time the lab reports: `train_seconds` for the digits labs; for the language labs, which report
none, the span from `Started` to their last training metric point. The target: wall <= 1.5x that.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from labs import runner
from labs.catalog import all_labs
from labs.events import Event, Finished, Progress, Started
from planner.curriculum import load_curriculum
from planner.service import Service
from planner.store import Store

DEFAULT_LABS = ("ffnn-digits", "cnn-digits", "rnn-chars", "transformer-chars")
TARGET = 1.5
PARTS = ("service", "process", "data", "training", "grading", "exit", "record", "record_all")


def load() -> str:
    return "load " + "/".join(f"{x:.2f}" for x in os.getloadavg())


class TimedProcess:
    """The default LabProcess, passed through unchanged; it notes when each event arrived and how long
    the service kept the event before asking for the next one (its recording time)."""

    def __init__(self, inner: runner.LabProcess):
        self.inner = inner
        self.t_start = 0.0
        self.arrivals: list[tuple[float, Event]] = []
        self.consumer_s = 0.0

    def start(self):
        self.t_start = time.perf_counter()
        self.inner.start()
        return self

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        for event in self.inner.events(timeout=timeout):
            now = time.perf_counter()
            self.arrivals.append((now, event))
            yield event
            self.consumer_s += time.perf_counter() - now

    def cancel(self):
        return self.inner.cancel()

    @property
    def done(self) -> bool:
        return self.inner.done


def one_run(svc: Service, learner, lab_id: str, mode: str, gap_s: float) -> dict[str, float]:
    made: list[TimedProcess] = []

    def factory(lab, params, seed):
        made.append(TimedProcess(runner.LabProcess(lab, params, seed)))
        return made[-1]

    svc.runner_factory = factory
    if mode == "cold":
        getattr(runner, "discard_spare", lambda: None)()  # (absent from the runner before the spare)
    else:
        runner.prewarm()
    time.sleep(gap_s)  # the learner between two runs, in both modes
    t0 = time.perf_counter()
    session = svc.start_lab(learner, lab_id, {}, 0, practice=True)
    while session.outcome is None:
        for _ in session.events(timeout=0.2):
            pass
    t_end = time.perf_counter()
    proc = made[-1]
    if mode == "warm" and not proc.inner.warm:
        raise SystemExit("a warm run found no spare ready: raise --gap")
    if mode == "cold" and getattr(proc.inner, "warm", False):
        raise SystemExit("a cold run was handed a spare")
    fin = next((e for _, e in proc.arrivals if isinstance(e, Finished)), None)
    if fin is None:
        raise SystemExit(f"{lab_id} did not finish: {session.outcome}")
    t_started = next(t for t, e in proc.arrivals if isinstance(e, Started))
    t_fin = next(t for t, e in proc.arrivals if isinstance(e, Finished))
    last_fit = max(e.elapsed_s for _, e in proc.arrivals if isinstance(e, Progress) and e.split != "test")
    # The child's clock (zero when it read its job) on the parent's: a metric point's arrival minus its
    # elapsed_s, at its smallest (the pipe's lag is then least). Finished is held back until the child
    # has exited, so what follows its duration_s is the child's exit.
    ctx0 = min(t - e.elapsed_s for t, e in proc.arrivals if isinstance(e, Progress))
    data_s = t_started - ctx0
    fit_span = last_fit - data_s
    reported = fin.metrics.get("train_seconds", fit_span)
    wall = t_end - t0
    return {
        "wall": wall, "train": reported, "ratio": wall / reported,
        "service": proc.t_start - t0, "process": ctx0 - proc.t_start, "data": data_s,
        "training": fit_span, "grading": fin.duration_s - last_fit, "exit": t_fin - ctx0 - fin.duration_s,
        # Recording each event runs between its arrival and the next request (while the child trains on);
        # the result's runs after the last arrival and adds to the wall time.
        "record": t_end - t_fin, "record_all": proc.consumer_s + (t_end - t_fin),
    }


def fmt(values: list[float], digits: int = 2) -> str:
    med = statistics.median(values)
    return f"{med:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def table(results: dict[tuple[str, str, str], list[dict[str, float]]], rounds: str) -> None:
    print(f"\n## medians (range) over {rounds} rounds, seconds; {load()}\n")
    print("| tree | lab | mode | wall | training (reported) | wall / training | " + " | ".join(PARTS)
          + " | met (<= 1.5x) |")
    print("|---|---|---|---|---|---|" + "---|" * len(PARTS) + "---|")
    for (tag, lab_id, mode), rows in results.items():
        col = lambda k, d=2: fmt([x[k] for x in rows], d)  # noqa: E731
        ratio = statistics.median(x["ratio"] for x in rows)
        print(f"| {tag} | {lab_id} | {mode} | {col('wall')} | {col('train')} | {col('ratio')} | "
              + " | ".join(col(p, 3) for p in PARTS) + f" | {'yes' if ratio <= TARGET else 'no'} |")


def summarise(path: str) -> None:
    results: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    for line in Path(path).read_text().splitlines():
        row = json.loads(line)
        results.setdefault((row["tag"], row["lab"], row["mode"]), []).append(row)
    counts = sorted({len(v) for v in results.values()})
    table(dict(sorted(results.items())), "/".join(map(str, counts)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labs", default=",".join(DEFAULT_LABS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--modes", default="cold,warm")
    ap.add_argument("--history", type=int, default=0, help="attempts seeded first (the recording's cost at size)")
    ap.add_argument("--gap", type=float, default=2.0, help="seconds between runs (the spare imports meanwhile)")
    ap.add_argument("--tag", default="this tree", help="names this tree's rows in the table")
    ap.add_argument("--rows", help="append one JSON line per run to this file")
    ap.add_argument("--summarise", metavar="ROWS", help="print the table of a --rows file and exit")
    ns = ap.parse_args()
    if ns.summarise:
        summarise(ns.summarise)
        return
    labs, modes = ns.labs.split(","), ns.modes.split(",")
    all_labs()  # the app has the catalogue imported before its first run
    curriculum = load_curriculum()
    print(f"# bench_lab_wall: labs {labs}, modes {modes}, {ns.rounds} rounds, history {ns.history}; {load()}")
    results: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "bench.sqlite") as store:
        if ns.history:
            sys.path.insert(0, str(Path(__file__).parent))
            from bench_report import seed

            t = time.perf_counter()
            seed(store, curriculum, ns.history, ns.history * 2)
            print(f"seeded {ns.history} attempts in {time.perf_counter() - t:.1f} s")
            learner = store.list_learners()[0]
        else:
            learner = store.add_learner("Bench", target_role=None, hours_per_week=None)
        svc = Service(store, curriculum)
        for r in range(ns.rounds):
            order = modes if r % 2 == 0 else modes[::-1]  # alternate which mode goes first
            for lab_id in labs:
                for mode in order:
                    row = one_run(svc, learner, lab_id, mode, ns.gap)
                    results.setdefault((ns.tag, lab_id, mode), []).append(row)
                    if ns.rows:
                        with open(ns.rows, "a") as f:
                            f.write(json.dumps({"tag": ns.tag, "lab": lab_id, "mode": mode,
                                                "load1": os.getloadavg()[0], **row}) + "\n")
                    print(f"round {r + 1} {lab_id:18} {mode:4}  wall {row['wall']:6.2f} s  train {row['train']:6.2f} s  "
                          f"x{row['ratio']:.2f}  | " + " ".join(f"{p} {row[p]:.3f}" for p in PARTS)
                          + f"  | {load()}", flush=True)
        getattr(runner, "discard_spare", lambda: None)()
    table(results, str(ns.rounds))


if __name__ == "__main__":
    main()
