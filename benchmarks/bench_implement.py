"""Implement-mode grading of each reference solution: how long the training stage takes now that every
call to the learner's functions crosses a pipe to their confined process, against the 30 s budget.

    .venv/bin/python benchmarks/bench_implement.py [--repeat N]

Prints, per lab, the training seconds (best of N), the whole grading's wall-clock seconds, and the share
of the training budget used.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from labs.implement import TASKS, get_task, grade_file, solution_source

BUDGET_S = 30.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'lab':<20} {'train s':>8} {'grading s':>10} {'budget':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for lab_id in TASKS:
            path = Path(tmp) / get_task(lab_id).filename
            path.write_text(solution_source(lab_id))
            runs = [grade_file(lab_id, path, train_budget_s=BUDGET_S) for _ in range(args.repeat)]
            assert all(r.status == "passed" for r in runs), [r.feedback for r in runs]
            train = min(r.metrics["train_seconds"] for r in runs)
            total = min(r.duration_s for r in runs)
            print(f"{lab_id:<20} {train:>8.2f} {total:>10.2f} {train / BUDGET_S:>7.0%}")


if __name__ == "__main__":
    main()
