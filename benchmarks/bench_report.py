"""Time the HTML report on a heavy learner: 1,000 attempts and 100,000 metric points.

    python benchmarks/bench_report.py [--attempts 1000] [--points 100000] [--repeat 3]

The database is seeded through the store's public API in a temporary folder (seeding is not timed).
Attempts are spread over the skill nodes with labs and over 60 days; every attempt gets two graded
checks and an equal share of the metric points (train_loss and val_accuracy). The figure printed is
the best of `--repeat` runs of `render_report(..., "html")`, database reads included.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from labs.grading import CheckResult
from planner.curriculum import load_curriculum
from planner.records import MetricPoint
from planner.reports import render_report
from planner.store import Store


def seed(store: Store, curriculum, n_attempts: int, n_points: int) -> None:
    ada = store.add_learner("Bench", target_role="research-scientist", hours_per_week=8)
    labs = [(n.id, n.lab) for n in curriculum.nodes.values() if n.lab and n.kind != "role"]
    rng = np.random.default_rng(0)
    per_attempt = n_points // n_attempts // 2
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(n_attempts):
        node_id, lab_id = labs[i % len(labs)]
        when = start + timedelta(hours=i * 60 * 24 / n_attempts)
        aid = store.start_attempt(ada.id, lab_id, node_id, mode="practice", params={"lr": 0.01, "epochs": 5},
                                  seed=i, pid=None, app_version="bench", started_at=when)
        steps = np.arange(per_attempt)
        loss = 2 * np.exp(-steps / 30) + rng.normal(0, 0.02, per_attempt)
        store.add_metrics(aid, [MetricPoint(step=int(s), name=name, value=float(v))
                                for s, l in zip(steps, loss) for name, v in (("train_loss", l), ("val_accuracy", 1 - l / 2))])
        score = float(rng.integers(40, 101))
        checks = [CheckResult(id=f"c{k}", title=f"Check {k}", points=score / 2, max_points=50,
                              status="passed" if score == 100 else "partial", message="ok") for k in range(2)]
        store.finish_attempt(aid, status="passed" if score >= 70 else "failed", score=score, passed=score >= 70,
                             metrics={"train_loss": float(loss[-1])}, feedback="", checks=checks, duration_s=30.0,
                             finished_at=when + timedelta(seconds=30))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    ns = parser.parse_args()
    curriculum = load_curriculum()
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "bench.sqlite") as store:
        t0 = time.perf_counter()
        seed(store, curriculum, ns.attempts, ns.points)
        print(f"seeded {ns.attempts} attempts, {ns.points} metric points in {time.perf_counter() - t0:.1f} s")
        times = []
        for _ in range(ns.repeat):
            t0 = time.perf_counter()
            html = render_report(store, curriculum, "Bench", "html")
            times.append(time.perf_counter() - t0)
        print(f"html report: best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s "
              f"over {ns.repeat} runs; {len(html) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
