"""Per-layer activation and gradient histograms in the TUI (issue 17): a real tiny deep-nets run, replayed
to the app, fills the live lab screen's histogram panel epoch by epoch (its snapshots never reach the
text-sample log), and its recorded attempt draws them too, `[` and `]` stepping through the epochs."""

from __future__ import annotations

from typing import Any

from labs.catalog import get_lab
from planner.tui.widgets.layer_histograms import LayerHistograms, bars, pick
from tests.reports.factory import full_curriculum
from .helpers import SIZE, wait_for

TINY = {"width": 16, "epochs": 2}
_EVENTS: list[Any] = []


def real_tiny_run() -> list[Any]:
    """The events of one real deep-nets run at the defaults' plain sigmoid stack (trained once a session)."""
    if not _EVENTS:
        lab = get_lab("deep-nets")
        _EVENTS.append(lab.train(lab.validate_params(TINY), 0, _EVENTS.append))  # Finished comes last
    return list(_EVENTS)


class ReplayRun:
    """Same shape as labs.runner.LabProcess; replays the real tiny run whatever the form asked for."""

    def __init__(self, lab_id: str, params: Any, seed: int) -> None:
        self._events, self.result, self.pid = real_tiny_run(), None, 0

    def start(self) -> "ReplayRun":
        return self

    @property
    def done(self) -> bool:
        return self.result is not None

    def events(self, timeout: float | None = None) -> Any:
        while self._events and self.result is None:
            event = self._events.pop(0)
            if event.type in ("finished", "failed"):
                self.result = event
            yield event

    def cancel(self, wait_s: float = 1.0) -> Any:
        return self.result


def test_bars_scale_to_the_tallest_bin_and_rows_keep_the_first_and_last_layer():
    assert bars([0, 1, 4, 8]) == " ▁▄█" and bars([0, 0]) == "  "
    assert pick(19, 5) == [0, 4, 9, 14, 18] and pick(3, 10) == [0, 1, 2]


async def test_the_live_lab_draws_each_epochs_layers_and_the_attempt_view_steps_through_them(ui_store, ada):
    """One app for both views (each app start costs seconds): the live lab first, then the attempt it recorded."""
    from planner.tui import make_app
    from planner.tui.screens.attempt import AttemptScreen

    app = make_app(ui_store, full_curriculum(), runner=ReplayRun)
    app.prewarm_labs = False
    async with app.run_test(size=SIZE) as pilot:
        app.open_lab("deep-nets")
        await pilot.pause()
        hist = app.screen.query_one(LayerHistograms)
        assert not hist.display  # nothing measured before a run
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.live is not None and not app.live.running)
        await pilot.pause()
        assert hist.display and [s.epoch for s in hist.snapshots] == [0, 1, 2]
        drawn = str(hist.render())
        assert "after epoch 2" in drawn and "L1 sig" in drawn and "L19 sig" in drawn
        assert not app.screen.query_one("#samples").display  # the snapshots are not printed as text

        app.push_screen(AttemptScreen(app.live.attempt_id))
        await pilot.pause()
        recorded = app.screen.query_one(LayerHistograms)
        assert recorded is not hist and recorded.display and "after epoch 2 (3/3)" in str(recorded.render())
        assert "layer-stats" not in str(app.screen.query_one("#attempt-text").render())
        await pilot.press("left_square_bracket")
        await pilot.press("left_square_bracket")
        assert "at init (1/3)" in str(recorded.render())
        await pilot.press("right_square_bracket")
        assert "after epoch 1 (2/3)" in str(recorded.render())
