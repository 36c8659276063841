"""The app's first lab run starts warm: once the first screen is up, a worker that has imported NumPy
and the labs waits for it (labs.runner.prewarm). Only for real lab processes: a scripted runner gets none."""

from __future__ import annotations

import labs.runner as runner
from tests.ui.helpers import wait_for


async def test_the_app_has_a_warm_worker_ready_after_its_first_screen(ui_store, ui_curriculum, ada):
    from planner.tui import make_app

    runner.discard_spare()
    app = make_app(ui_store, ui_curriculum)
    try:
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, lambda: runner._spare is not None, timeout=10)
            process, _ = runner._spare
            assert process.poll() is None, "the spare is alive, waiting for its job"
    finally:
        runner.discard_spare()


async def test_a_scripted_runner_starts_no_worker(make, ada):
    runner.discard_spare()
    app = make(runner=lambda *a: None)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause(0.3)
        assert runner._spare is None
