"""The app's first screen loads only what it draws (issue 18: first screen within 0.5 s). NumPy came in
through sqlite-utils (0.1-0.2 s of every start); the lab catalogue and the plotting widget wait for a lab."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIRST_SCREEN = r"""
import sys, asyncio
from planner.curriculum import load_curriculum
from planner.store import Store
from planner.tui import make_app
store = Store.open(sys.argv[1])
learner = store.add_learner("Ada", target_role="ml-engineer", hours_per_week=5)
store.set_state("last_learner", str(learner.id))
app = make_app(store, load_curriculum())
app.prewarm_labs = False  # the spare lab worker (a separate process) is not the first screen
async def main():
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        print(type(app.screen).__name__)
        print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in ("numpy", "textual_plot")
                              or m == "labs.catalog")))
asyncio.run(main())
"""


def test_the_first_screen_imports_neither_numpy_nor_the_lab_catalogue_nor_the_plots(tmp_path: Path):
    out = subprocess.run([sys.executable, "-c", FIRST_SCREEN, str(tmp_path / "first.sqlite")],
                         capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2])
    assert out.returncode == 0, out.stderr[-2000:]
    screen, *modules = out.stdout.splitlines()
    assert screen == "DashboardScreen"
    assert modules == [""] or modules == [], modules


def test_the_store_writes_and_reads_numpy_values_after_numpy_loads(tmp_path: Path):
    # sqlite-utils loaded without its NumPy type map: every value the Store writes is converted first
    code = r"""
import sys
from planner.store import Store
assert "numpy" not in sys.modules
import numpy as np
from planner.records import MetricPoint
store = Store.open(sys.argv[1])
learner = store.add_learner("Ada")
aid = store.start_attempt(learner.id, "gd-linear", "gradient-descent", mode="explore", params={"lr": np.float32(0.5)},
                          seed=np.int64(3), pid=None, app_version="t")
store.add_metrics(aid, [MetricPoint(step=int(np.int64(1)), name="loss", value=float(np.float64(0.25)))])
store.finish_attempt(aid, status="passed", score=np.float64(91.5), passed=np.bool_(True),
                     metrics={"loss": np.float32(0.25)}, feedback="", checks=[], duration_s=np.float64(2.0))
a = store.attempt(aid)
print(a.score, a.params["lr"], a.metrics["loss"], a.seed, store.metric_series(aid)["loss"])
"""
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "np.sqlite")], capture_output=True,
                         text=True, timeout=120, cwd=Path(__file__).parents[2])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["91.5", "0.5", "0.25", "3", "[(1,", "0.25)]"]
