"""Where the learner waits, by history size: `nodes --json`, `plan --json`, Service.progress, the history
screen's first page (Pilot's press until idle, and the screen's own on_mount) and the TUI start, at 1,000, 10,000 and 100,000 attempts (issue 18).

    python benchmarks/bench_queries.py [--sizes 1000 10000 100000] [--rounds 3] [--trees . /tmp/old]

Each database is generated once into a temp folder through the store's batch insert (sqlite-utils
`insert_all` in one `Store.transaction()`; 100,000 attempts take a few seconds), one learner with
attempts over every lab node, every mode, passes, fails, test-outs, running and interrupted rows, and
one quiz attempt per 50 lab attempts. Every figure is the wall time of a fresh interpreter's work
(`--trees`: each source tree is put first on PYTHONPATH, so an old checkout can be measured beside this
one); trees and measures alternate within each round, and the median and range over the rounds are
printed with the machine's load average. A measure over `--timeout` seconds is printed as such.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CLI = r"""
import sys, time
t0 = time.perf_counter()
from planner.cli import main
try:
    main(sys.argv[2:], standalone_mode=False)
except SystemExit:
    pass
print(time.perf_counter() - t0, file=sys.stderr)
"""

PROGRESS = r"""
import sys, time
from planner.curriculum import load_curriculum
from planner.service import Service
from planner.store import Store
store = Store.open(sys.argv[1]); service = Service(store, load_curriculum())
learner = store.list_learners()[0]
service.progress(learner)  # warm: the curriculum, the build registry
times = []
for _ in range(3):
    t0 = time.perf_counter(); service.progress(learner); times.append(time.perf_counter() - t0)
print(min(times))
"""

HISTORY = r"""
import asyncio, sys, time
from planner.curriculum import load_curriculum
from planner.store import Store
from planner.tui import make_app
app = make_app(Store.open(sys.argv[1]), load_curriculum())
app.prewarm_labs = False  # no spare lab worker competing for the 2 cores while timed
async def main():
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        t0 = time.perf_counter()
        await pilot.press("h")
        await pilot.pause()
        assert type(app.screen).__name__ == "HistoryScreen" and app.screen.query_one("#attempts").row_count
        print(time.perf_counter() - t0)
        await pilot.press("q")
asyncio.run(main())
"""

HISTORY_MOUNT = HISTORY.replace("app = make_app(", """from planner.tui.screens.history import HistoryScreen
mount = HistoryScreen.on_mount
def timed(self):
    t0 = time.perf_counter(); mount(self); self.app.mount_s = time.perf_counter() - t0
HistoryScreen.on_mount = timed
app = make_app(""").replace("print(time.perf_counter() - t0)", "print(app.mount_s)")
"""The screen's own work (its queries and rows), without Textual's layout and paint or Pilot's wait."""

STARTUP = r"""
import sys, time
t0 = float(sys.argv[2])
from planner.curriculum import load_curriculum
from planner.store import Store
from planner.tui import make_app
app = make_app(Store.open(sys.argv[1]), load_curriculum())
app.prewarm_labs = False  # no spare lab worker competing for the 2 cores while timed
async def first_screen():
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "DashboardScreen"
        print(time.time() - t0)
import asyncio; asyncio.run(first_screen())
"""


def make_db(path: Path, n: int) -> float:
    """A learner with `n` lab attempts and n // 50 quiz attempts; returns the seconds it took."""
    from planner.curriculum import load_curriculum
    from planner.store import Store, iso

    t0 = time.perf_counter()
    curriculum = load_curriculum()
    nodes = [node for node in curriculum.nodes.values() if node.lab and node.kind != "role"]
    quizzed = [node for node in curriculum.nodes.values() if node.quiz]
    rng = random.Random(n)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with Store.open(path) as store:
        learner = store.add_learner("Bench", target_role="ml-engineer", hours_per_week=6)
        store.set_state("last_learner", str(learner.id))
        rows = []
        for i in range(n):
            node = nodes[i % len(nodes)]
            when = start + timedelta(seconds=i * 600 + rng.randrange(600))
            score = round(rng.uniform(20, 100), 1)
            status = "running" if i % 997 == 0 else "interrupted" if i % 101 == 0 else \
                "passed" if score >= 70 else "failed"
            rows.append({"learner_id": learner.id, "lab_id": node.lab, "node_id": node.id,
                         "mode": ("explore", "practice", "implement")[i % 3], "test_out": int(i % 7 == 0),
                         "params": json.dumps({"lr": 0.01 * (1 + i % 5), "epochs": 5}), "seed": i,
                         "status": status, "score": None if status in ("running", "interrupted") else score,
                         "passed": int(status == "passed"), "metrics": json.dumps({"val_loss": 1 - score / 200}),
                         "feedback": "", "started_at": iso(when),
                         "finished_at": None if status == "running" else iso(when + timedelta(seconds=40)),
                         "duration_s": 40.0, "app_version": "bench", "dataset_hash": "", "pid": 0})
        quizzes = [{"learner_id": learner.id, "node_id": quizzed[i % len(quizzed)].id, "seed": i,
                    "score": s, "passed": int(s >= 0.7), "started_at": iso(start + timedelta(hours=i)),
                    "finished_at": iso(start + timedelta(hours=i, minutes=3))}
                   for i, s in enumerate(rng.random() for _ in range(n // 50))]
        with store.transaction():
            store.db["attempts"].insert_all(rows, batch_size=2000)
            store.db["quiz_attempts"].insert_all(quizzes, batch_size=2000)
    return time.perf_counter() - t0


def run(tree: Path, script: str, *args: str, timeout: float) -> float | None:
    """Seconds the script reports (its last line, stdout or stderr), None past the timeout."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    try:
        out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                             cwd=tree, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    lines = (out.stdout.strip() + "\n" + out.stderr.strip()).strip().splitlines()
    try:
        return float(lines[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"{script[:40]!r} failed in {tree}: {out.stderr[-800:]}") from None


MEASURES = {
    "nodes --json": lambda tree, db, t: run(tree, CLI, "x", "--db", db, "nodes", "--json", timeout=t),
    "plan --json": lambda tree, db, t: run(tree, CLI, "x", "--db", db, "plan", "--json", timeout=t),
    "Service.progress": lambda tree, db, t: run(tree, PROGRESS, db, timeout=t),
    "history first page": lambda tree, db, t: run(tree, HISTORY, db, timeout=t),
    "history on_mount (its queries + rows)": lambda tree, db, t: run(tree, HISTORY_MOUNT, db, timeout=t),
    "TUI start to first screen": lambda tree, db, t: run(tree, STARTUP, db, str(time.time()), timeout=t),
}


def figure(values: list[float | None], timeout: float) -> str:
    done = [v for v in values if v is not None]
    if len(done) < len(values):
        return f"> {timeout:.0f} s ({len(values) - len(done)} of {len(values)} timed out)"
    return f"{statistics.median(done):.3f} s ({min(done):.3f}-{max(done):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trees", type=Path, nargs="+", default=[ROOT])
    parser.add_argument("--measures", nargs="+", default=list(MEASURES), choices=list(MEASURES))
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--make", nargs=2, metavar=("DB", "N"), help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.make:  # in a tree's own interpreter: its store writes its own schema version
        print(make_db(Path(ns.make[0]), int(ns.make[1])))
        return
    with tempfile.TemporaryDirectory() as folder:
        for n in ns.sizes:
            dbs = {}
            for k, tree in enumerate(ns.trees):  # the same rows (seeded by n) in each tree's schema
                dbs[tree] = str(Path(folder) / f"bench-{n}-{k}.sqlite")
                made = subprocess.run([sys.executable, __file__, "--make", dbs[tree], str(n)], cwd=tree, check=True,
                                      env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True)
                print(f"\n{n:,} attempts: database made in {float(made.stdout.split()[-1]):.1f} s by {tree}", end="")
            print(f"; load average {os.getloadavg()[0]:.1f}", flush=True)
            results: dict[tuple[str, Path], list[float | None]] = {}
            for _ in range(ns.rounds):
                for name in ns.measures:
                    for tree in ns.trees:
                        results.setdefault((name, tree), []).append(MEASURES[name](tree, dbs[tree], ns.timeout))
            for (name, tree), values in results.items():
                label = name if len(ns.trees) == 1 else f"{name} [{tree}]"
                print(f"  {label:<46} {figure(values, ns.timeout)}", flush=True)
            print(f"  load average after: {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
