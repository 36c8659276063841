"""TUI responsiveness: startup to the first drawn screen, and key-press latency while a lab trains.

    python benchmarks/bench_tui.py            # prints every figure; see benchmarks/TUI.md

Startup is measured in a fresh interpreter (so imports count), from process start to the dashboard's
first paint, over a temp database holding one learner. Latency, idle and with transformer-chars
training in its child process: (1) key presses that move the cursor and switch screens, timed by Pilot
until the app is idle again (an upper bound: Pilot adds its own idle-wait); (2) the UI event loop's
lag, how late a 10 ms timer fires, which is the delay any key would see before its handler runs.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTUP = r"""
import sys, time
t0 = float(sys.argv[1])
from planner.curriculum import load_curriculum
from planner.store import Store
from planner.tui import make_app
app = make_app(Store.open(sys.argv[2]), load_curriculum())
async def first_screen():
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "DashboardScreen"
        print(time.time() - t0, time.process_time())
import asyncio; asyncio.run(first_screen())
"""
KEYS = ["down", "down", "up", "p", "escape", "h", "escape", "question_mark", "escape"]


def startup_s(db: Path, runs: int = 5) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds) to the first screen per run. On a loaded machine the wall time
    includes waiting for a core; the CPU time is the work itself."""
    walls, cpus = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", STARTUP, str(time.time()), str(db)],
                             capture_output=True, text=True, check=True)
        wall, cpu = out.stdout.strip().splitlines()[-1].split()
        walls.append(float(wall))
        cpus.append(float(cpu))
    return walls, cpus


async def _press_times(pilot, rounds: int) -> list[float]:
    times = []
    for key in KEYS * rounds:
        start = time.perf_counter()
        await pilot.press(key)
        times.append((time.perf_counter() - start) * 1000)
    return times


async def _loop_lag(seconds: float) -> list[float]:
    """How late a 10 ms timer fires on the UI's event loop: the wait any key press would have."""
    lags, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append((time.perf_counter() - start - 0.01) * 1000)
    return lags


async def latency_ms(db: Path) -> dict[str, list[float]]:
    """Key presses and loop lag, idle and while a lab trains."""
    from planner.curriculum import load_curriculum
    from planner.store import Store
    from planner.tui import make_app

    store = Store.open(db)
    app = make_app(store, load_curriculum())
    out: dict[str, list[float]] = {}
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        out["keys idle"] = await _press_times(pilot, 2)
        out["lag idle"] = await _loop_lag(2.0)
        app.open_lab("transformer-chars")  # a tiny GPT on Shakespeare: trains for a good while
        await pilot.pause()
        await pilot.press("ctrl+r")
        while app.live.step == 0:
            await pilot.pause(0.05)
        await pilot.press("escape")
        out["keys training"] = await _press_times(pilot, 3)
        out["lag training"] = await _loop_lag(3.0)
        if not app.live.running:
            print("warning: the run ended before the measurements did", file=sys.stderr)
        await pilot.press("q")
    store.close()
    return out


def summary(values: list[float]) -> str:
    values = sorted(values)
    return (f"median {statistics.median(values):.1f} ms, p95 {values[int(0.95 * (len(values) - 1))]:.1f} ms, "
            f"max {values[-1]:.1f} ms (n={len(values)})")


def main() -> None:
    from planner.store import Store

    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.sqlite"
        store = Store.open(db)
        learner = store.add_learner("Bench", target_role="ml-engineer", hours_per_week=5)
        store.set_state("last_learner", str(learner.id))
        store.close()
        starts, cpus = startup_s(db)
        print(f"load average {os.getloadavg()[0]:.1f}")
        print(f"startup to first screen: median {statistics.median(starts):.3f} s, "
              f"min {min(starts):.3f} s, max {max(starts):.3f} s over {len(starts)} runs; "
              f"CPU median {statistics.median(cpus):.3f} s")
        for name, values in asyncio.run(latency_ms(db)).items():
            print(f"{name:>14}: {summary(values)}")


if __name__ == "__main__":
    main()
